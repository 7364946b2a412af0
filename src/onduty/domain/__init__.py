"""The pure domain: statuses, threads, routing, timers as data. No I/O, no clock."""
