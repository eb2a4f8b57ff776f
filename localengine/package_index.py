"""Stand-in framework packages served as a PEP 503 index, for offline image builds.

The framework packages (vllm, sglang, tensorrt-llm, and torch/numpy, which NIXL's wheel requires)
are gigabytes on PyPI. Offline tests and measurements install small real wheels of the same names
instead: each has an importable module with `__version__`, built here and served by
`python -m http.server`, whose directory listings are valid PEP 503 project pages. Pass the service
and INDEX_URL to `image runtime --index ... --index-url ...`.
"""

from __future__ import annotations

import dagger
from dagger import dag

from pipeline.context import Context
from pipeline.image import FRAMEWORK_PACKAGES, INDEX_HOST

PORT = 8000
INDEX_URL = f"http://{INDEX_HOST}:{PORT}/simple"
# NIXL's CUDA wheels require these (unpinned); the versions are arbitrary.
NIXL_DEPENDENCIES = ("torch:2.11.0:torch", "numpy:2.3.0:numpy")

# Writes py3-none-any wheels (module with __version__, METADATA, WHEEL, RECORD) to /srv/simple/<name>/.
_MAKE_WHEELS = r'''
import base64, hashlib, os, re, sys, zipfile
for spec in sys.argv[1:]:
    dist, version, module = spec.split(":")
    stem = re.sub(r"[-_.]+", "_", dist)
    info = f"{stem}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'"""Stand-in for {dist}, built by dynamo-pipeline."""\n__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: dynamo-pipeline\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    project = f"/srv/simple/{re.sub(r'[-_.]+', '-', dist).lower()}"
    os.makedirs(project, exist_ok=True)
    with zipfile.ZipFile(f"{project}/{stem}-{version}-py3-none-any.whl", "w") as wheel:
        record = []
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
'''


def stand_in_specs(ctx: Context) -> list[str]:
    """"distribution:version:module" for every framework at the context's version, plus NIXL's dependencies."""
    specs = [
        f"{package.distribution}:{ctx.framework(name).version}:{package.module}"
        for name, package in FRAMEWORK_PACKAGES.items()
    ]
    return specs + list(NIXL_DEPENDENCIES)


def stand_in_index(ctx: Context) -> dagger.Service:
    """The index service: wheels built in the context's Python image and served on PORT."""
    return (
        dag.container()
        .from_(ctx.image("python").pinned)
        .with_exec(["python3", "-c", _MAKE_WHEELS, *stand_in_specs(ctx)])
        .with_workdir("/srv")
        .with_exposed_port(PORT)
        .as_service(args=["python3", "-m", "http.server", str(PORT), "--bind", "0.0.0.0"])
    )
