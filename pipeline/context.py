"""The build context: versions, base images and valid combinations, read from container/context.toml.

Plain Python with no Dagger import, so the CLI, the tests and the Dagger module share it. Every
bad input raises PipelineInputError naming the file, the key and the allowed values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

from .errors import PipelineInputError
from .versions import VersionPolicy

DEFAULT_CONTEXT = Path(__file__).resolve().parent.parent / "container" / "context.toml"
# How messages name the module's own context, wherever the package is installed or loaded from.
DEFAULT_CONTEXT_NAME = "container/context.toml"

FRAMEWORK_NAMES = ("dynamo", "vllm", "sglang", "trtllm")
DEVICES = ("cuda", "xpu", "cpu")
TARGETS = ("runtime", "dev", "local-dev", "framework", "frontend", "planner", "wheel_builder", "base")
REQUIRED_TOOLS = (
    "rust", "rustup", "sccache", "maturin", "auditwheel", "patchelf", "uv", "go_operator", "go_epp", "trivy",
    "python", "nats", "etcd", "protoc", "manylinux_policy",
)  # fmt: skip
REQUIRED_IMAGES = (
    "manylinux", "manylinux_aarch64", "golang_operator", "golang_epp", "python", "uv",
    "cuda_devel_12_9", "cuda_devel_13_0", "cuda_runtime_12_9", "cuda_runtime_13_0",
    "trtllm_base", "trtllm_runtime", "sglang_runtime_12_9", "sglang_runtime_13_0",
    "frontend", "epp_default", "planner_runtime", "operator_runtime", "epp_runtime", "trivy", "redis",
)  # fmt: skip
WORKSPACE_KEYS = ("python_bindings", "c_bindings", "operator", "epp")
OPTIONAL_WORKSPACE_KEYS = ("gpu_memory_service",)
# Native libraries every image builds, named as in upstream's container/context.yaml (`dynamo.<key>`).
NATIVE_KEYS = ("nixl_ucx_ref", "nixl_gdrcopy_ref", "nixl_libfabric_ref", "ffmpeg_version", "efa_version")
# Per-framework pins, named as in upstream's context.yaml (`<framework>.<key>`); all required.
FRAMEWORK_PINS: Mapping[str, tuple[str, ...]] = {
    "dynamo": (),
    "vllm": ("flashinf_ref", "lmcache_ref", "vllm_omni_ref", "max_jobs"),
    "sglang": (),
    "trtllm": (
        "index_url", "github_trtllm_commit", "torch_version", "torch_tensorrt_version", "torchvision_version",
        "torchao_ver", "torchdata_ver", "torchtitan_ver", "jinja2_version", "sympy_version", "pytorch_triton_ver",
        "flash_attn_version", "flashinfer_python_ver",
    ),
}  # fmt: skip
# Images release.yml promotes to NGC, and the NGC repository each one lands in.
NGC_IMAGES = ("vllm", "sglang", "trtllm", "frontend", "operator", "planner", "snapshot-agent")
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # Trivy's, lowest first
# [scan] vulnerability_db: this value says the site has no vulnerability database (scans check secrets only).
NO_VULNERABILITY_DB = "none"
# An OCI repository Trivy downloads its database from (--db-repository): host[:port]/path:tag.
_DB_REPOSITORY = re.compile(r"(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:\d+)?(/[a-z0-9._-]+)+:[\w.-]+")
PACKAGING_KEYS = ("source_url", "python_index", "framework_indexes")
SOURCE_ARCHIVE_KEYS = ("version", "url", "sha256", "configure")
_SHA256 = re.compile(r"[0-9a-f]{64}")
PACKAGE_MANAGERS = ("dnf", "apt")

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CUDA_VERSION = re.compile(r"\d+\.\d+")


@dataclass(frozen=True)
class ImageRef:
    """One base image: a fully qualified "host/path:tag" and, when known, its digest."""

    key: str
    ref: str
    digest: str = ""

    @property
    def pinned(self) -> str:
        """The reference to pull: by digest when there is one."""
        return f"{self.ref}@{self.digest}" if self.digest else self.ref


@dataclass(frozen=True)
class Framework:
    """One framework's valid devices, CUDA versions and targets, and its per-device image keys."""

    name: str
    version: str
    devices: tuple[str, ...]
    cuda_versions: tuple[str, ...]
    targets: tuple[str, ...]
    enable_kvbm: bool
    enable_media_ffmpeg: bool
    enable_gpu_memory_service: bool
    nixl_ref: str
    base_image: Mapping[str, str]
    runtime_image: Mapping[str, str]
    device_versions: Mapping[str, str]  # device key -> framework version where it differs from `version`
    pins: Mapping[str, str]  # FRAMEWORK_PINS[name], e.g. vllm's flashinf_ref
    wheel_features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Combination:
    """A validated (framework, target, device, CUDA version); `cuda` is None off CUDA devices."""

    framework: Framework
    target: str
    device: str
    cuda: str | None

    @property
    def device_key(self) -> str:
        """Key of the framework's image tables: "cuda12.9", or the bare device ("cpu", "xpu")."""
        return f"{self.device}{self.cuda}" if self.cuda else self.device

    @property
    def framework_version(self) -> str:
        """The framework's version on this device (vLLM is older on xpu and cpu)."""
        return self.framework.device_versions.get(self.device_key, self.framework.version)

    @property
    def cuda_major(self) -> str | None:
        """"12" for CUDA 12.9; None off CUDA devices."""
        return self.cuda.split(".")[0] if self.cuda else None


@dataclass(frozen=True)
class Workspace:
    """Paths inside a Dynamo checkout."""

    python_bindings: str
    c_bindings: str
    operator: str
    epp: str
    gpu_memory_service: str = "lib/gpu_memory_service"


@dataclass(frozen=True)
class Release:
    """Where release.yml promotes a commit's images and which chart it packages."""

    ngc_namespace: str  # nvcr.io/<org>/<ngc_namespace>/<repository>
    ngc_repositories: Mapping[str, str]  # NGC_IMAGES -> repository, e.g. trtllm -> tensorrtllm-runtime
    helm_chart: str  # chart directory in the checkout


@dataclass(frozen=True)
class ScanPolicy:
    """[scan]: findings at or above `severity` block a publish; `ignore_file` lists accepted IDs;
    `vulnerability_db` is where Trivy's database comes from, or "none"."""

    severity: str = "HIGH"
    ignore_file: str = ""  # Trivy's .trivyignore format, relative to the module root
    rust_advisory_db: str = "https://github.com/rustsec/advisory-db"  # RustSec database cargo-deny fetches (git)
    # Trivy's --db-repository (comma-separated, in priority order), or NO_VULNERABILITY_DB; "": Trivy's default.
    vulnerability_db: str = ""
    vulnerability_db_source: str = ""  # the file that set vulnerability_db (the context or an overlay)

    @property
    def checks_vulnerabilities(self) -> bool:
        """Whether this site has a vulnerability database (otherwise scans look for secrets only)."""
        return self.vulnerability_db != NO_VULNERABILITY_DB

    @property
    def not_checked(self) -> str:
        """The line reports carry when vulnerabilities are not checked, naming the setting and its file."""
        return f"vulnerabilities not checked: [scan] vulnerability_db = none ({self.vulnerability_db_source})"


@dataclass(frozen=True)
class SourceArchive:
    """A native library built from a pinned source tarball."""

    version: str
    url: str
    sha256: str
    configure: tuple[str, ...]


@dataclass(frozen=True)
class Packaging:
    """What the Go and image stages need beyond images and tools: label source, indexes, native sources."""

    source_url: str
    python_index: str
    framework_indexes: Mapping[str, str]
    ffmpeg: SourceArchive


@dataclass(frozen=True)
class Context:
    """Everything container/context.toml says, after overlays and overrides."""

    source: str
    dagger_version: str
    tools: Mapping[str, str]
    images: Mapping[str, ImageRef]
    frameworks: Mapping[str, Framework]
    workspace: Workspace
    registry: str
    native: Mapping[str, str]
    versions: VersionPolicy
    release: Release
    upstream_unused: Mapping[str, str]  # upstream context.yaml key -> why no stage uses it
    scan: ScanPolicy = ScanPolicy()
    packaging: Packaging | None = None
    # System packages the Rust builder needs, by package manager ([builder] in context.toml).
    builder_packages: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # Rust tests this site cannot run (an overlay's [tests] rust_skip).
    rust_test_skip: tuple[str, ...] = ()

    def image(self, key: str) -> ImageRef:
        """The image under `key`."""
        if key not in self.images:
            raise PipelineInputError(
                f"{self.source}: no image [images.{key}]; known keys: {', '.join(sorted(self.images))}"
            )
        return self.images[key]

    def framework(self, name: str) -> Framework:
        """The framework called `name`."""
        if name not in self.frameworks:
            raise PipelineInputError(
                f"{self.source}: unknown framework {name!r}; allowed: {', '.join(self.frameworks)}"
            )
        return self.frameworks[name]

    def combination(self, framework: str, target: str, device: str = "cuda", cuda: str | None = None) -> Combination:
        """Validate a build combination the way upstream's render.py does.

        As upstream's validate_args, the CUDA version must be one of the framework's even off CUDA
        devices (render.py defaults it to 12.9 and clears it after validation); the combination then
        carries no CUDA version.
        """
        fw = self.framework(framework)
        where = f"{self.source} [frameworks.{framework}]"
        if target not in fw.targets:
            raise PipelineInputError(f"{where}: target {target!r} not allowed; allowed: {', '.join(fw.targets)}")
        if device not in fw.devices:
            raise PipelineInputError(f"{where}: device {device!r} not allowed; allowed: {', '.join(fw.devices)}")
        if cuda not in fw.cuda_versions:
            off_device = "" if device == "cuda" else f" (checked for device {device} too, as upstream's render.py)"
            raise PipelineInputError(
                f"{where}: CUDA version {cuda!r} not allowed; allowed: {', '.join(fw.cuda_versions)}{off_device}"
            )
        return Combination(fw, target, device, cuda if device == "cuda" else None)

    def base_image(self, combo: Combination) -> ImageRef:
        """The image dynamo_base starts from."""
        return self.image(combo.framework.base_image[combo.device_key])

    def runtime_image(self, combo: Combination) -> ImageRef | None:
        """The image the framework's runtime stage starts from; None when it is dynamo_base."""
        key = combo.framework.runtime_image.get(combo.device_key)
        return self.image(key) if key else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with each image's pinned reference."""
        data = dataclasses.asdict(self)
        for key, image in self.images.items():
            data["images"][key]["pinned"] = image.pinned
        return data


def load_context(
    path: Path = DEFAULT_CONTEXT,
    overlay: Path | None = None,
    *,
    image_overrides: Mapping[str, str] | None = None,
    tool_overrides: Mapping[str, str] | None = None,
) -> Context:
    """Read a context file, then apply an overlay file and explicit overrides (which win)."""
    ctx = parse_context(_read(path), source=DEFAULT_CONTEXT_NAME if path == DEFAULT_CONTEXT else str(path))
    if overlay is not None:
        ctx = apply_overlay(ctx, _read(overlay), source=str(overlay))
    return apply_overrides(ctx, images=image_overrides, tools=tool_overrides)


def parse_context(text: str, *, source: str) -> Context:
    """Parse context TOML text; `source` names it in error messages."""
    data = _parse_toml(text, source)
    _check_keys(
        data,
        source,
        "",
        required=("dagger", "tools", "images", "frameworks", "workspace", "registry", "native", "versions", "release"),
        optional=("upstream_unused", "scan", "builder", "packaging"),
    )
    dagger_table = _table(data, "dagger", source)
    _check_keys(dagger_table, source, "dagger", required=("version",))
    tools = _string_map(_table(data, "tools", source), source, "tools")
    _require(tools, REQUIRED_TOOLS, source, "tools")
    images = {
        key: _image(entry, source, key, allow_inline_digest=False)
        for key, entry in _table(data, "images", source).items()
    }
    _require(images, REQUIRED_IMAGES, source, "images")
    frameworks = {
        name: _framework(name, entry, images, source) for name, entry in _table(data, "frameworks", source).items()
    }
    workspace_table = _table(data, "workspace", source)
    _check_keys(workspace_table, source, "workspace", required=WORKSPACE_KEYS, optional=OPTIONAL_WORKSPACE_KEYS)
    registry_table = _table(data, "registry", source)
    _check_keys(registry_table, source, "registry", required=("default",))
    native = _table(data, "native", source)
    _check_keys(native, source, "native", required=NATIVE_KEYS)
    return Context(
        source=source,
        dagger_version=_string(dagger_table, "version", source, "dagger"),
        tools=tools,
        images=images,
        frameworks=frameworks,
        workspace=Workspace(**_string_map(workspace_table, source, "workspace")),
        registry=_string(registry_table, "default", source, "registry"),
        native=_string_map(native, source, "native"),
        versions=_versions(_table(data, "versions", source), source),
        release=_release(_table(data, "release", source), source),
        upstream_unused=_string_map(_table(data, "upstream_unused", source), source, "upstream_unused")
        if "upstream_unused" in data
        else {},
        scan=_scan_policy(data.get("scan", {}), source),
        packaging=_packaging(_table(data, "packaging", source), frameworks, native, source) if "packaging" in data else None,
        builder_packages=_builder_packages(data.get("builder", {}), source),
    )


def _scan_policy(table: Any, source: str) -> ScanPolicy:
    if not isinstance(table, dict):
        raise PipelineInputError(f"{source}: 'scan' must be a table")
    _check_keys(table, source, "scan", optional=("severity", "ignore_file", "rust_advisory_db", "vulnerability_db"))
    values = _string_map(table, source, "scan")
    if "vulnerability_db" in values:
        values["vulnerability_db"] = _vulnerability_db(values["vulnerability_db"], source)
        values["vulnerability_db_source"] = source
    policy = ScanPolicy(**values)
    if policy.severity not in SEVERITIES:
        raise PipelineInputError(
            f"{source} [scan]: severity {policy.severity!r} unknown; allowed: {', '.join(SEVERITIES)}"
        )
    return policy


def _vulnerability_db(value: str, source: str) -> str:
    """[scan] vulnerability_db: "none", or OCI repositories (comma-separated, as Trivy's --db-repository)."""
    if value == NO_VULNERABILITY_DB:
        return value
    repositories = [repository.strip() for repository in value.split(",")]
    for repository in repositories:
        if not _DB_REPOSITORY.fullmatch(repository):
            raise PipelineInputError(
                f"{source} [scan]: vulnerability_db {repository!r} unknown; allowed: \"none\" or OCI repositories "
                f"host/path:tag, comma-separated (e.g. \"ghcr.io/aquasecurity/trivy-db:2\")"
            )
    return ",".join(repositories)


def _builder_packages(table: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise PipelineInputError(f"{source}: 'builder' must be a table")
    _check_keys(table, source, "builder", optional=PACKAGE_MANAGERS)
    return {manager: _names(table, manager, source, "builder") for manager in table}


def _names(table: Mapping[str, Any], key: str, source: str, section: str) -> tuple[str, ...]:
    """A list of plain names (packages, features): no spaces, commas or shell syntax."""
    values = table[key]
    if not isinstance(values, list) or not all(isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9][\w.+/-]*", v) for v in values):
        raise PipelineInputError(f"{_where(source, section)}: {key!r} must be a list of names like \"kv-indexer\"")
    return tuple(values)


def apply_overlay(ctx: Context, text: str, *, source: str) -> Context:
    """Apply overlay TOML text (format: container/overlays/offline.toml); per-key images win over [mirror]."""
    data = _parse_toml(text, source)
    _check_keys(data, source, "", optional=("mirror", "images", "tools", "scan", "tests"))
    images = dict(ctx.images)
    if "mirror" in data:
        mirror = _table(data, "mirror", source)
        _check_keys(mirror, source, "mirror", required=("registry",), optional=("keep_digests",))
        registry = _string(mirror, "registry", source, "mirror").rstrip("/")
        keep_digests = mirror.get("keep_digests", False)
        if not isinstance(keep_digests, bool):
            raise PipelineInputError(f"{source}: [mirror] keep_digests must be true or false")
        images = {
            key: ImageRef(key, f"{registry}/{image.ref}", image.digest if keep_digests else "")
            for key, image in images.items()
        }
    for key, entry in data.get("images", {}).items():
        if key not in ctx.images:
            raise PipelineInputError(
                f"{source}: [images.{key}] is not in {ctx.source}; known keys: {', '.join(sorted(ctx.images))}"
            )
        images[key] = _image(entry, source, key, allow_inline_digest=False)
    tools = _string_map(data.get("tools", {}), source, "tools")
    scan = ctx.scan
    if "scan" in data:
        # A site says where its vulnerability database is; the gate itself (severity, ignores) is not a site's.
        table = _table(data, "scan", source)
        _check_keys(table, source, "scan", required=("vulnerability_db",))
        repositories = _vulnerability_db(_string(table, "vulnerability_db", source, "scan"), source)
        scan = dataclasses.replace(scan, vulnerability_db=repositories, vulnerability_db_source=source)
    skip = ctx.rust_test_skip
    if "tests" in data:
        # A site names the tests it cannot run (they need a host it cannot reach, or more cores).
        table = _table(data, "tests", source)
        _check_keys(table, source, "tests", required=("rust_skip",))
        skip = _names(table, "rust_skip", source, "tests")
    ctx = dataclasses.replace(ctx, images=images, scan=scan, rust_test_skip=skip)
    return apply_overrides(ctx, tools=tools, source=source)


def apply_overrides(
    ctx: Context,
    *,
    images: Mapping[str, str] | None = None,
    tools: Mapping[str, str] | None = None,
    source: str = "override",
) -> Context:
    """Replace images (key -> "ref[@digest]") and tool versions; unknown keys are errors."""
    new_images = dict(ctx.images)
    for key, ref in (images or {}).items():
        if key not in ctx.images:
            raise PipelineInputError(f"{source}: unknown image key {key!r}; known keys: {', '.join(sorted(ctx.images))}")
        new_images[key] = _image({"ref": ref}, source, key, allow_inline_digest=True)
    new_tools = dict(ctx.tools)
    for name, version in (tools or {}).items():
        if name not in ctx.tools:
            raise PipelineInputError(f"{source}: unknown tool {name!r}; known tools: {', '.join(sorted(ctx.tools))}")
        if not isinstance(version, str) or not version:
            raise PipelineInputError(f"{source}: tool {name!r} needs a non-empty version string")
        new_tools[name] = version
    return dataclasses.replace(ctx, images=new_images, tools=new_tools)


def normalise_ref(ref: str) -> str:
    """Fully qualify a Docker reference: "python:3.12-slim" -> "docker.io/library/python:3.12-slim"."""
    first, slash, _ = ref.partition("/")
    if not slash:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as err:
        raise PipelineInputError(f"{path}: cannot read: {err.strerror}") from err


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as err:
        raise PipelineInputError(f"{source}: malformed TOML at line {err.lineno}, column {err.colno}: {err.msg}") from err


def _where(source: str, section: str) -> str:
    return f"{source} [{section}]" if section else source


def _check_keys(
    table: Mapping[str, Any], source: str, section: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> None:
    allowed = required + optional
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise PipelineInputError(f"{_where(source, section)}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    _require(table, required, source, section)


def _require(table: Mapping[str, Any], required: tuple[str, ...], source: str, section: str) -> None:
    missing = [key for key in required if key not in table]
    if missing:
        raise PipelineInputError(f"{_where(source, section)}: missing key(s) {', '.join(missing)}")


def _table(data: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise PipelineInputError(f"{source}: {key!r} must be a table")
    return value


def _string(table: Mapping[str, Any], key: str, source: str, section: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value:
        raise PipelineInputError(f"{_where(source, section)}: {key!r} must be a non-empty string")
    return value


def _string_map(table: Mapping[str, Any], source: str, section: str) -> dict[str, str]:
    return {key: _string(table, key, source, section) for key in table}


def _string_list(table: Mapping[str, Any], key: str, source: str, section: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = table[key]
    if not isinstance(values, list) or not values:
        raise PipelineInputError(f"{_where(source, section)}: {key!r} must be a non-empty list")
    for value in values:
        if value not in allowed:
            raise PipelineInputError(f"{_where(source, section)}: {key} has {value!r}; allowed: {', '.join(allowed)}")
    return tuple(values)


def _image(entry: Any, source: str, key: str, *, allow_inline_digest: bool) -> ImageRef:
    section = f"images.{key}"
    if not isinstance(entry, dict):
        raise PipelineInputError(f"{source}: [{section}] must be a table with 'ref' and optional 'digest'")
    _check_keys(entry, source, section, required=("ref",), optional=("digest",))
    ref = _string(entry, "ref", source, section)
    digest = entry.get("digest", "")
    if "@" in ref:
        if not allow_inline_digest:
            raise PipelineInputError(f"{_where(source, section)}: put the digest in 'digest', not in 'ref' ({ref})")
        ref, digest = ref.split("@", 1)
    if digest and not _DIGEST.fullmatch(digest):
        raise PipelineInputError(f"{_where(source, section)}: digest {digest!r} is not 'sha256:' + 64 hex digits")
    ref = normalise_ref(ref)
    if ":" not in ref.rsplit("/", 1)[-1]:
        raise PipelineInputError(f"{_where(source, section)}: ref {ref!r} has no tag; floating 'latest' is not allowed")
    return ImageRef(key, ref, digest)


def _framework(name: str, entry: Any, images: Mapping[str, ImageRef], source: str) -> Framework:
    section = f"frameworks.{name}"
    if name not in FRAMEWORK_NAMES:
        raise PipelineInputError(f"{source}: [{section}] unknown framework; allowed: {', '.join(FRAMEWORK_NAMES)}")
    if not isinstance(entry, dict):
        raise PipelineInputError(f"{source}: [{section}] must be a table")
    _check_keys(
        entry,
        source,
        section,
        required=(
            "devices", "cuda_versions", "targets", "enable_kvbm", "enable_media_ffmpeg", "enable_gpu_memory_service",
            "nixl_ref", "base_image",
        ) + (("pins",) if FRAMEWORK_PINS[name] else ()),
        optional=("version", "runtime_image", "device_versions", "wheel_features"),
    )  # fmt: skip
    devices = _string_list(entry, "devices", source, section, DEVICES)
    cuda_versions = tuple(entry["cuda_versions"])
    if not cuda_versions or not all(isinstance(cuda, str) and _CUDA_VERSION.fullmatch(cuda) for cuda in cuda_versions):
        raise PipelineInputError(f"{_where(source, section)}: cuda_versions must be strings like \"12.9\"")
    device_keys = [f"cuda{cuda}" for cuda in cuda_versions if "cuda" in devices] + [d for d in devices if d != "cuda"]
    tables = {}
    for table_name in ("base_image", "runtime_image", "device_versions"):
        table = _string_map(entry.get(table_name, {}), source, section)
        for device_key, image_key in table.items():
            if device_key not in device_keys:
                raise PipelineInputError(
                    f"{_where(source, section)}: {table_name} key {device_key!r} is no valid device; "
                    f"allowed: {', '.join(device_keys)}"
                )
            if table_name != "device_versions" and image_key not in images:
                raise PipelineInputError(
                    f"{_where(source, section)}: {table_name}.{device_key} = {image_key!r} is not an [images] key"
                )
        if table and table_name != "device_versions" and set(table) != set(device_keys):
            missing = sorted(set(device_keys) - set(table))
            raise PipelineInputError(f"{_where(source, section)}: {table_name} lacks {', '.join(missing)}")
        tables[table_name] = table
    if not tables["base_image"]:
        raise PipelineInputError(f"{_where(source, section)}: base_image must not be empty")
    if tables["device_versions"] and "version" not in entry:
        raise PipelineInputError(f"{_where(source, section)}: device_versions needs a 'version' for the other devices")
    pins = _table(entry, "pins", source) if "pins" in entry else {}
    _check_keys(pins, source, f"{section}.pins", required=FRAMEWORK_PINS[name])
    for flag in ("enable_kvbm", "enable_media_ffmpeg", "enable_gpu_memory_service"):
        if not isinstance(entry[flag], bool):
            raise PipelineInputError(f"{_where(source, section)}: {flag} must be true or false")
    return Framework(
        name=name,
        version=_string(entry, "version", source, section) if "version" in entry else "",
        devices=devices,
        cuda_versions=cuda_versions,
        targets=_string_list(entry, "targets", source, section, TARGETS),
        enable_kvbm=entry["enable_kvbm"],
        enable_media_ffmpeg=entry["enable_media_ffmpeg"],
        enable_gpu_memory_service=entry["enable_gpu_memory_service"],
        nixl_ref=_string(entry, "nixl_ref", source, section),
        base_image=tables["base_image"],
        runtime_image=tables["runtime_image"],
        device_versions=tables["device_versions"],
        pins=_string_map(pins, source, f"{section}.pins"),
        wheel_features=_names(entry, "wheel_features", source, section) if "wheel_features" in entry else (),
    )


def _versions(table: Mapping[str, Any], source: str) -> VersionPolicy:
    _check_keys(table, source, "versions", required=("follow", "independent"))
    globs = {}
    for key in ("follow", "independent"):
        values = table[key]
        if not isinstance(values, list) or not all(isinstance(value, str) and value for value in values):
            raise PipelineInputError(f"{source} [versions]: {key!r} must be a list of path globs")
        globs[key] = tuple(values)
    try:
        return VersionPolicy(**globs)
    except ValueError as err:
        raise PipelineInputError(f"{source} [versions]: {err}") from None


def _release(table: Mapping[str, Any], source: str) -> Release:
    _check_keys(table, source, "release", required=("ngc_namespace", "helm_chart", "ngc_repositories"))
    repositories = _table(table, "ngc_repositories", source)
    _check_keys(repositories, source, "release.ngc_repositories", required=NGC_IMAGES)
    return Release(
        ngc_namespace=_string(table, "ngc_namespace", source, "release"),
        ngc_repositories=_string_map(repositories, source, "release.ngc_repositories"),
        helm_chart=_string(table, "helm_chart", source, "release"),
    )


def _packaging(
    table: Mapping[str, Any], frameworks: Mapping[str, Framework], native: Mapping[str, Any], source: str
) -> Packaging:
    _check_keys(table, source, "packaging", required=PACKAGING_KEYS + ("ffmpeg",))
    indexes = _string_map(_table(table, "framework_indexes", source), source, "packaging.framework_indexes")
    for name in indexes:
        if name not in frameworks:
            raise PipelineInputError(
                f"{source} [packaging.framework_indexes]: unknown framework {name!r}; allowed: {', '.join(frameworks)}"
            )
    ffmpeg = _table(table, "ffmpeg", source)
    section = "packaging.ffmpeg"
    _check_keys(ffmpeg, source, section, required=SOURCE_ARCHIVE_KEYS)
    sha256 = _string(ffmpeg, "sha256", source, section)
    if not _SHA256.fullmatch(sha256):
        raise PipelineInputError(f"{source} [{section}]: sha256 must be 64 lowercase hex digits")
    version = _string(ffmpeg, "version", source, section)
    series = native.get("ffmpeg_version", "")
    # The tarball is a point release of the series upstream pins ([native] ffmpeg_version).
    if version != series and not version.startswith(f"{series}."):
        raise PipelineInputError(
            f"{source} [{section}]: version {version!r} is not a release of [native] ffmpeg_version {series!r}"
        )
    configure = ffmpeg["configure"]
    if not isinstance(configure, list) or not all(isinstance(flag, str) and flag.startswith("--") for flag in configure):
        raise PipelineInputError(f"{source} [{section}]: configure must be a list of --flags")
    return Packaging(
        source_url=_string(table, "source_url", source, "packaging"),
        python_index=_string(table, "python_index", source, "packaging"),
        framework_indexes=indexes,
        ffmpeg=SourceArchive(
            version=version,
            url=_string(ffmpeg, "url", source, section),
            sha256=sha256,
            configure=tuple(configure),
        ),
    )
