"""The `regress` command: one module per command under `commands/`, all printing in `render`."""
