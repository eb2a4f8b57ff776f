"""`python -m dynamo.frontend`: print where requests would be routed."""

from dynamo.common.config import namespace
from dynamo.frontend._version import __version__
from dynamo.runtime import Endpoint


def main() -> None:
    print(f"dynamo.frontend {__version__} -> {Endpoint(namespace(), 'backend', 'generate')!r}")


if __name__ == "__main__":
    main()
