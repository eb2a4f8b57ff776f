"""Stand-in base images for a machine that reaches no container registry.

Each image the context names gets a Debian-based stand-in that carries what the pipeline needs
from it (Python, a C toolchain, the host's Rust or Go), pushed to the local registry under the
name the offline overlay rewrites it to. Nothing here fakes a digest: the overlay drops digests
and, where a stand-in carries a different tool version than the context pins, says so in a
generated overlay that the tests and `dagger call` users pass on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..context import REQUIRED_IMAGES, Context, load_context, normalise_ref
from .build import TRIVY, build_pinned_tool
from .image import RootfsSettings, copy_host_ca_certificates, debian_rootfs_image, docker_build, image_exists, run
from .layout import REPO_ROOT, EngineLayout
from .phases import phase

OFFLINE_OVERLAY = REPO_ROOT / "container" / "overlays" / "offline.toml"
HOST_GO_ROOT = Path("/usr/local/go")


def host_rust_toolchain() -> Path:
    """The toolchain rustup runs here by default (rustup cannot download the pinned one)."""
    sysroot = run(["rustc", "--print", "sysroot"]).strip()
    return Path(sysroot).resolve()


def host_tool_versions() -> dict[str, str]:
    """What the stand-ins carry instead of the pinned versions: the host's Rust and Go, Debian's
    Python, and the manylinux policy of Debian's glibc (wheels built on it cannot be older)."""
    rust = re.search(r"rustc (\S+)", run(["rustc", "--version"]))
    go = re.search(r"go(\d+\.\d+(?:\.\d+)?)", run(["go", "version"]))
    glibc = re.search(r"glibc (\d+)\.(\d+)", os.confstr("CS_GNU_LIBC_VERSION") or "")
    if not rust or not go or not glibc:
        raise RuntimeError("cannot read the host's rustc, go and glibc versions")
    return {
        "rust": rust.group(1),
        "go_operator": go.group(1),
        "go_epp": go.group(1),
        "python": RootfsSettings.load().python,
        "manylinux_policy": f"manylinux_{glibc.group(1)}_{glibc.group(2)}",
    }


@dataclass(frozen=True)
class StandIn:
    """How one stand-in image is made: on top of `parent`, Debian packages and host files."""

    name: str
    parent: str | None
    packages: tuple[str, ...] = ()
    host_dirs: tuple[tuple[Path, str], ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    uv_version: str = ""


def recipes(ctx: Context, trivy_dir: Path) -> tuple[StandIn, ...]:
    """The stand-ins, parents first; `trivy_dir` holds the Trivy binary built from tools/trivy."""
    toolchain = host_rust_toolchain()
    return (
        StandIn("python", None, ("python3", "python3-venv", "python3-pip", "python-is-python3")),
        StandIn("devel", "python", ("build-essential", "git", "curl", "pkg-config")),
        StandIn(
            # clang + libclang-dev: what the context's [builder] apt list names (bindgen needs libclang).
            "manylinux", "devel", ("patchelf", "unzip", *ctx.builder_packages.get("apt", ())),
            host_dirs=((toolchain / "bin", "/usr/local/rust/bin"), (toolchain / "lib", "/usr/local/rust/lib")),
            env={"PATH": "/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        ),
        StandIn(
            "golang", "devel",
            host_dirs=((HOST_GO_ROOT, "/usr/local/go"),),
            env={"GOPATH": "/go", "GOTOOLCHAIN": "local",
                 "PATH": "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        ),
        StandIn("redis", "python", ("redis-server",), cmd=("redis-server", "--protected-mode", "no")),
        StandIn("uv", "python", uv_version=ctx.tools["uv"]),
        StandIn("trivy", None, host_dirs=((trivy_dir, "/usr/local/bin/"),), entrypoint=("trivy",)),
    )


# Which stand-in serves each image key of the context; keys left out have none yet.
STAND_IN_FOR: dict[str, str] = {
    "manylinux": "manylinux", "rust": "manylinux",
    "golang_operator": "golang", "golang_epp": "golang",
    "cuda_devel_12_9": "devel", "cuda_devel_13_0": "devel", "trtllm_base": "devel", "xpu_devel": "devel",
    "python": "python", "planner_runtime": "python", "frontend": "python", "epp_runtime": "python",
    "ubuntu": "python", "operator_runtime": "python", "epp_default": "python",
    "cuda_runtime_12_9": "python", "cuda_runtime_13_0": "python", "trtllm_runtime": "python",
    "sglang_runtime_12_9": "python", "sglang_runtime_13_0": "python",
    "redis": "redis", "uv": "uv", "trivy": "trivy",
}
NO_STAND_IN = {
    "manylinux_aarch64": "an arm64 image; this machine builds amd64 only",
}


def _uv_binaries(version: str, destination: Path) -> None:
    """uv and uvx from the uv wheel on PyPI (the image ghcr.io/astral-sh/uv is unreachable)."""
    with tempfile.TemporaryDirectory() as download:
        run(["python3", "-m", "pip", "download", "-q", f"uv=={version}", "--no-deps", "--only-binary", ":all:",
             "--platform", "manylinux_2_17_x86_64", "-d", download])
        wheel = next(Path(download).glob("uv-*.whl"))
        run(["python3", "-m", "zipfile", "-e", str(wheel), download])
        destination.mkdir(parents=True, exist_ok=True)
        for name in ("uv", "uvx"):
            script = next(Path(download).glob(f"uv-*.data/scripts/{name}"))
            shutil.copy2(script, destination / name)
            (destination / name).chmod(0o755)


def _dockerfile(recipe: StandIn, parent_image: str, copies: list[tuple[str, str]]) -> str:
    lines = [f"FROM {parent_image}"]
    if recipe.parent is None:
        lines += ["COPY ca-certificates/ /usr/local/share/ca-certificates/",
                  "RUN update-ca-certificates"]
    if recipe.packages:
        lines.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{' '.join(recipe.packages)} && rm -rf /var/lib/apt/lists/*"
        )
    if "python3" in recipe.packages:
        # Debian marks its Python externally managed; the pipeline installs wheels into it.
        lines.append("RUN rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED")
    lines += [f"COPY {source} {target}" for source, target in copies]
    lines += [f"ENV {key}={value}" for key, value in recipe.env.items()]
    if recipe.entrypoint:
        lines.append(f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}")
    if recipe.cmd:
        lines.append(f"CMD {json.dumps(list(recipe.cmd))}")
    lines.append(f'LABEL org.dynamo-pipeline.stand-in="{recipe.name}"')
    return "\n".join(lines) + "\n"


def build_stand_in(recipe: StandIn, parent_image: str, host_versions: dict[str, str]) -> str:
    """Build one stand-in image unless one from the same inputs exists; returns its local tag."""
    parent_id = run(["docker", "image", "inspect", "-f", "{{.Id}}", parent_image]).strip()
    # Host directories are identified by the versions of the tools in them.
    inputs = f"{parent_id} {recipe!r} {sorted(host_versions.items())}"
    ref = f"dynamo-pipeline/stand-in-{recipe.name}:{hashlib.sha256(inputs.encode()).hexdigest()[:12]}"
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(dir="/var/tmp") as context_dir:
        context = Path(context_dir)
        copy_host_ca_certificates(context / "ca-certificates")
        copies: list[tuple[str, str]] = []
        for index, (source, target) in enumerate(recipe.host_dirs):
            staged = context / f"host{index}"
            # Hard links keep a 600 MB toolchain from being copied into the build context.
            run(["cp", "-al", str(source), str(staged)])
            copies.append((staged.name, target))
        if recipe.uv_version:
            _uv_binaries(recipe.uv_version, context / "uv")
            copies += [("uv/uv", "/uv"), ("uv/uvx", "/uvx"), ("uv/", "/usr/local/bin/")]
        with phase(f"build stand-in {recipe.name}"):
            docker_build(ref, context, _dockerfile(recipe, parent_image, copies))
    return ref


def mirror_names(ref: str, registry: str) -> list[str]:
    """Where a stand-in is pushed: the overlay's path, and Docker Hub's mirror path too."""
    normalised = normalise_ref(ref).split("@", 1)[0]
    names = [f"{registry}/{normalised}"]
    if normalised.startswith("docker.io/"):
        names.append(f"{registry}/{normalised.removeprefix('docker.io/')}")
    return names


def _registry_has(name: str, image_id: str) -> bool:
    """Whether the local registry already serves `name` with the same image config."""
    host, _, rest = name.partition("/")
    repo, _, tag = rest.rpartition(":")
    request = urllib.request.Request(
        f"http://{host}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response).get("config", {}).get("digest") == image_id
    except OSError:
        return False


def publish_stand_ins(layout: EngineLayout) -> Path:
    """Build and push every stand-in; returns the overlay that points the pipeline at them."""
    ctx = load_context()
    unmapped = set(REQUIRED_IMAGES) - set(STAND_IN_FOR) - set(NO_STAND_IN)
    if unmapped:
        raise RuntimeError(f"context images without a stand-in decision: {', '.join(sorted(unmapped))}")
    base = debian_rootfs_image("base", ("ca-certificates",))
    trivy_dir = build_pinned_tool(TRIVY, layout, ctx.tools["trivy"])
    host_versions = host_tool_versions()
    built: dict[str, str] = {}
    for recipe in recipes(ctx, trivy_dir):
        parent = base if recipe.parent is None else built[recipe.parent]
        built[recipe.name] = build_stand_in(recipe, parent, host_versions)
    registry = f"localhost:{layout.registry_port}"
    with phase("push stand-ins to the local registry"):
        for key, recipe_name in sorted(STAND_IN_FOR.items()):
            if key not in ctx.images:
                continue
            local = built[recipe_name]
            image_id = run(["docker", "image", "inspect", "-f", "{{.Id}}", local]).strip()
            for name in mirror_names(ctx.images[key].ref, registry):
                if _registry_has(name, image_id):
                    continue
                run(["docker", "tag", local, name])
                run(["docker", "push", name])
    for key, reason in NO_STAND_IN.items():
        print(f"[engine] no stand-in for {key}: {reason}", flush=True)
    return write_overlay(layout, host_versions)


def write_overlay(layout: EngineLayout, host_versions: dict[str, str]) -> Path:
    """The offline overlay plus the tool versions the stand-ins really carry."""
    overlay = layout.overlay
    tools = "\n".join(f'{name} = "{version}"' for name, version in host_versions.items())
    overlay.write_text(
        OFFLINE_OVERLAY.read_text()
        + "\n# Generated by `python -m pipeline engine up`: the versions the stand-ins carry.\n"
        + f"[tools]\n{tools}\n"
    )
    load_context(overlay=overlay)  # fail here, not in a test, if the overlay does not apply
    return overlay

