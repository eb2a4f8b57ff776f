"""OpenAI-compatible HTTP frontend (stand-in)."""
