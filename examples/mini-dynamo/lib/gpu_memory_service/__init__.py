"""Stand-in for Dynamo's GPU Memory Service: a package with a C++ extension, versioned on its own."""

__version__ = "0.9.0"
