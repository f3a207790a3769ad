"""The core every desk stands on: errors, validation, config, store, session, calendar, access.

Nothing here imports a desk or the documents package (tests/test_layout.py)."""
