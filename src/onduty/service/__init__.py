"""The service: applies commands one at a time, commits, then publishes."""
