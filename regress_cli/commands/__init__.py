"""One module per `regress` command; each has `register(commands, common)` and `run(args)`."""
