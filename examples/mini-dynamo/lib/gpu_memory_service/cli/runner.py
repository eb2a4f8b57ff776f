"""`gpu-memory-service`: prints the version and the allocation granularity the extension computes."""

import sys

from gpu_memory_service import __version__
from gpu_memory_service.client.extensions import _allocator_ext


def main() -> int:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    print(f"gpu-memory-service {__version__}: {size} bytes -> {_allocator_ext.aligned_size(size)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
