"""Click commands of the archive CLI, one module per area; ``main`` assembles them."""
