"""Dynamo-agnostic building blocks composed by pipeline/."""
