"""The `onduty` command line."""
