"""Click commands of the archive CLI, one module per area; cli.py assembles them."""
