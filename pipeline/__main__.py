"""`python -m pipeline ...` runs the command-line interface."""

from .cli import app

app(prog_name="dynamo-pipeline")
