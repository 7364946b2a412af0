"""One small function per command: check everything first, then change the workspace."""
