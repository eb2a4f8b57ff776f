"""Build NVIDIA Dynamo with Dagger.

One context.toml pins every toolchain and base image; functions render Dynamo's Dockerfiles and
name its images in upstream's tag scheme. Point it at a checkout with `--source=../dynamo`.
"""

from .main import Dynamo as Dynamo
