"""Subcommands of the `datasurface` command, one module each."""
