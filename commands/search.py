"""Commands of the search area (see the issue); assembled by cli.py."""

COMMANDS = ()
