"""The window desk: the service-item catalogue, cases, notices and appointments."""
