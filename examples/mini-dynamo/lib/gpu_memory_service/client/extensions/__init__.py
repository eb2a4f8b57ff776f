"""Native extensions."""
