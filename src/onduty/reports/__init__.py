"""Reports (P1 status log, P2 workload), computed from the append-only records."""
