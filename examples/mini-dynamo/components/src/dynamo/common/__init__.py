"""Helpers shared by Dynamo components."""
