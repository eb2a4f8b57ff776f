"""Assemble the engine image locally: a Debian rootfs from debootstrap plus the built binaries."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2
import tomli

from .layout import REPO_ROOT, EngineLayout
from .phases import phase

ENGINE_FILES = REPO_ROOT / "container" / "engine"
HOST_EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")


@dataclass(frozen=True)
class RootfsSettings:
    """container/engine/rootfs.toml: the Debian suite and mirror, its Python, the engine's packages."""

    suite: str
    mirror: str
    python: str
    engine_packages: tuple[str, ...]

    @classmethod
    def load(cls, path: Path = ENGINE_FILES / "rootfs.toml") -> RootfsSettings:
        """Read the settings; the mirror can be overridden from the environment."""
        data = tomli.loads(path.read_text())
        debian = data["debian"]
        return cls(
            suite=debian["suite"],
            mirror=os.environ.get("DYNAMO_PIPELINE_DEBIAN_MIRROR", debian["mirror"]),
            python=debian["python"],
            engine_packages=tuple(data["engine"]["packages"]),
        )


def run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a host command; raise with its stderr when it fails."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{(result.stderr or result.stdout).strip()[-4000:]}")
    return result.stdout


def image_exists(ref: str) -> bool:
    """Whether the local Docker image store has `ref`."""
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def debian_rootfs_image(name: str, packages: tuple[str, ...]) -> str:
    """A minbase Debian image with `packages`, made by debootstrap once per package list."""
    debian = RootfsSettings.load()
    digest = hashlib.sha256(f"{debian.suite} {debian.mirror} {sorted(packages)}".encode()).hexdigest()
    ref = f"dynamo-pipeline/rootfs-{name}:{digest[:12]}"
    if image_exists(ref):
        return ref
    target = Path(f"/var/tmp/dynamo-pipeline-rootfs-{name}")
    shutil.rmtree(target, ignore_errors=True)
    with phase(f"debootstrap {name} rootfs ({len(packages)} extra packages)"):
        run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
             debian.suite, str(target), debian.mirror])
        # Keep the image small: no package lists or downloaded .debs.
        shutil.rmtree(target / "var/cache/apt/archives", ignore_errors=True)
        (target / "var/cache/apt/archives/partial").mkdir(parents=True)
    with phase(f"docker import {ref}"):
        tar = subprocess.Popen(["tar", "-C", str(target), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", ref], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if tar.returncode or imported.returncode:
            raise RuntimeError(f"docker import {ref} failed:\n{imported.stderr}")
    shutil.rmtree(target)
    return ref


def copy_host_ca_certificates(destination: Path) -> None:
    """The host's extra CAs (TLS is re-signed by a local CA here); containers must trust them."""
    destination.mkdir(parents=True, exist_ok=True)
    for cert in HOST_EXTRA_CA_DIR.glob("*.crt"):
        shutil.copy2(cert, destination / cert.name)


def docker_build(ref: str, context: Path, dockerfile_text: str) -> None:
    """Build with the classic builder (Debian's Docker has no BuildKit plugin)."""
    (context / "Dockerfile").write_text(dockerfile_text)
    run(["docker", "build", "-q", "-t", ref, str(context)], env={**os.environ, "DOCKER_BUILDKIT": "0"})


def render_template(name: str, **values: object) -> str:
    """Render one of container/engine/*.j2."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ENGINE_FILES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**values)


def build_engine_image(layout: EngineLayout, binaries: Path) -> str:
    """The engine image for `layout.version`, rebuilt when its inputs change."""
    rootfs = debian_rootfs_image("engine", RootfsSettings.load().engine_packages)
    context = layout.work / "image-context"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(binaries, context / "bin", ignore=shutil.ignore_patterns(".*"))
    copy_host_ca_certificates(context / "ca-certificates")
    for name in ("engine.json", "engine.toml", "registry.yml", "entrypoint.sh"):
        shutil.copy2(ENGINE_FILES / name, context / name)
    dockerfile = render_template("Dockerfile.j2", rootfs_image=rootfs, version=layout.version)
    with phase(f"docker build {layout.image}"):
        docker_build(layout.image, context, dockerfile)
    return layout.image
