"""Commands of the lending area (see the issue); assembled by cli.py."""

COMMANDS = ()
