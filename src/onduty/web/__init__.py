"""The web layer: thin routes that parse, authorise, call the service and render."""
