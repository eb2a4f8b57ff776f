"""Packages and the C++ extension; the metadata is pyproject.toml's."""

from setuptools import Extension, setup

setup(
    packages=["gpu_memory_service", "gpu_memory_service.cli", "gpu_memory_service.client",
              "gpu_memory_service.client.extensions"],
    # This directory is the package, as upstream's.
    package_dir={
        "gpu_memory_service": ".",
        "gpu_memory_service.cli": "cli",
        "gpu_memory_service.client": "client",
        "gpu_memory_service.client.extensions": "client/extensions",
    },
    ext_modules=[
        Extension(
            "gpu_memory_service.client.extensions._allocator_ext",
            sources=["client/extensions/allocator.cpp"],
            extra_compile_args=["-std=c++17", "-O2"],
        )
    ],
)
