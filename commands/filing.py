"""Commands of the filing area (see the issue); assembled by cli.py."""

COMMANDS = ()
