"""What the bench reads besides wall time: cgroup memory, image tarballs, directory sizes, load."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from types import TracebackType

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")


def docker_memory_cgroup(container_id: str) -> Path:
    """The cgroup v1 memory directory of a Docker container (holds every process it runs)."""
    return MEMORY_ROOT / "docker" / container_id


def _cgroup_memory(cgroup: Path) -> tuple[int, int]:
    """(usage incl. page cache, resident anonymous memory) of a cgroup v1 memory directory."""
    usage = int((cgroup / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return usage, int(stat.get("total_rss", stat.get("rss", 0)))


class PeakMemory:
    """Samples a memory cgroup every `interval` seconds while the `with` block runs; peaks in MiB."""

    def __init__(self, cgroup: Path | None, interval: float = 0.5):
        self.cgroup, self.interval = cgroup, interval
        self.peak_usage = self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            try:
                usage, rss = _cgroup_memory(self.cgroup)
                self.peak_usage, self.peak_rss = max(self.peak_usage, usage), max(self.peak_rss, rss)
            except (OSError, ValueError):
                pass
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        if self.cgroup is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def as_dict(self) -> dict[str, float | None]:
        """Peak usage (page cache included) and peak RSS, in MiB; None when nothing was sampled."""
        if not self.peak_usage:
            return {"peak_usage_mib": None, "peak_rss_mib": None}
        return {"peak_usage_mib": round(self.peak_usage / 2**20), "peak_rss_mib": round(self.peak_rss / 2**20)}


def load_average() -> float:
    """The one-minute load average."""
    return round(os.getloadavg()[0], 2)


def directory_bytes(path: Path) -> int:
    """Bytes of the regular files under `path` (hard links counted once)."""
    seen, total = set(), 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen and not os.path.islink(os.path.join(root, name)):
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def _blob(archive: tarfile.TarFile, digest: str) -> bytes:
    return archive.extractfile(_blob_name(digest)).read()


def _blob_name(digest: str) -> str:
    return f"blobs/{digest.replace(':', '/')}"


class _Counted(io.RawIOBase):
    """A read-only stream that counts the bytes read through it."""

    def __init__(self, stream: io.BufferedIOBase) -> None:
        self.stream, self.bytes = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes += len(data)
        return len(data)


# Paths only NIXL's layers add (its wheels, the packages its install leaves in site-packages).
NIXL_MARKERS = ("/nixl/", "/nixl_cu", "site-packages/nixl")


def _is_nixl_layer(names: list[str]) -> bool:
    return any(marker in f"/{name}" for name in names for marker in NIXL_MARKERS)


def image_facts(oci_tar: Path, collect_prefix: str = "", depth: int = 7, largest: int = 10) -> dict[str, object]:
    """Layer count, compressed and uncompressed bytes of an OCI image tarball (single platform), the
    files under `collect_prefix` in its layers (name -> bytes), e.g. the wheels it carries, the
    `largest` directories `depth` levels down by the bytes of the files the layers add there, and
    the uncompressed bytes of the layers that carry NIXL (with whatever its install pulled in).

    Layers are read as streams, so a runtime image of many gigabytes needs little memory; stdlib
    only, so that it also runs inside an image next to its tarball (bench/runtime_image.py).
    """
    with tarfile.open(oci_tar) as archive:
        index = json.loads(archive.extractfile("index.json").read())
        manifest = json.loads(_blob(archive, index["manifests"][0]["digest"]))
        while "manifests" in manifest:  # an image index: take its (only) image
            manifest = json.loads(_blob(archive, manifest["manifests"][0]["digest"]))
        compressed = uncompressed = nixl = 0
        files: dict[str, int] = {}
        by_directory: dict[str, int] = {}
        for layer in manifest["layers"]:
            compressed += layer["size"]
            with archive.extractfile(_blob_name(layer["digest"])) as raw:
                gzipped = raw.read(2) == b"\x1f\x8b"
            with archive.extractfile(_blob_name(layer["digest"])) as raw:
                counted = _Counted(gzip.GzipFile(fileobj=raw) if gzipped else raw)
                names = []
                with tarfile.open(fileobj=counted, mode="r|") as layer_tar:
                    for member in layer_tar:
                        name = member.name.removeprefix("./")
                        names.append(name)
                        if not member.isfile():
                            continue
                        top = "/".join(name.split("/")[:depth])
                        by_directory[top] = by_directory.get(top, 0) + member.size
                        if collect_prefix and name.startswith(collect_prefix):
                            files[name.removeprefix(collect_prefix)] = member.size
                while counted.read(1 << 22):  # the end-of-archive padding counts too
                    pass
            uncompressed += counted.bytes
            if _is_nixl_layer(names):
                nixl += counted.bytes
    return {
        "layers": len(manifest["layers"]),
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "compressed_mib": round(compressed / 2**20, 1),
        "uncompressed_mib": round(uncompressed / 2**20, 1),
        "nixl_layers_mib": round(nixl / 2**20, 1),
        "files": files,
        "largest_directories_mib": {
            name: round(size / 2**20, 1)
            for name, size in sorted(by_directory.items(), key=lambda item: -item[1])[:largest]
        },
    }


class Stopwatch:
    """Wall time of a block: `with Stopwatch() as watch: ...; watch.seconds`."""

    def __enter__(self) -> Stopwatch:
        self.started = time.monotonic()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = round(time.monotonic() - self.started, 1)


def engine_disk(container: str) -> str:
    """`du -sh` of the engine's state, read inside its container (shared: others' caches included)."""
    result = subprocess.run(["docker", "exec", container, "du", "-sh", "/var/lib/dagger"], capture_output=True, text=True)
    return result.stdout.split()[0] if result.returncode == 0 and result.stdout else "unknown"


_CARGO_FINISHED = re.compile(r"^\s*Finished .* in (?:(\d+)m )?([\d.]+)s\s*$", re.MULTILINE)


def cargo_seconds(output: str) -> float | None:
    """The time cargo itself reports (its last `Finished ... in 7m 56s` line), None without one:
    set against an exec's wall time, what the container, the upload and the artifact copy add."""
    found = _CARGO_FINISHED.findall(output)
    if not found:
        return None
    minutes, seconds = found[-1]
    return round(int(minutes or 0) * 60 + float(seconds), 1)
