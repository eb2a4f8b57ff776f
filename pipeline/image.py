"""The image stage: the CUDA base, one runtime per framework, the frontend and the planner.

Every image starts from a base the context pins and takes its parts from the stages that make them:
wheels from the Wheels stage, the EPP from the Go stage, NIXL and FFmpeg from the Native stage. Each
part is its own cached function, so a change to one rebuilds only the images that take it.

`dagger call image runtime --framework vllm`, `dagger call image frontend`, `dagger call image planner`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import TYPE_CHECKING, Annotated, TypeVar

import dagger
from dagger import Doc, dag, function, object_type

from modules.oci import oci_labels, with_labels
from modules.cache import salted
from modules.python_tools import PythonTools

from .errors import PipelineInputError
from .native import CudaVersion, Framework, Native, packaging
from .stage import Stage

if TYPE_CHECKING:
    from .context import Combination, Context

T = TypeVar("T")

USER = "dynamo"
UID = 1000
HOME = f"/home/{USER}"
DYNAMO_HOME = "/opt/dynamo"
VENV = f"{DYNAMO_HOME}/venv"
WHEELHOUSE = f"{DYNAMO_HOME}/wheelhouse"
ENTRYPOINT = f"{DYNAMO_HOME}/entrypoint.sh"
UV_CACHE = f"{HOME}/.cache/uv"
# Where upstream's images carry NATS and etcd: the .deb's /usr/bin in the runtimes (the planner copies
# /usr/local/bin/nats-server), etcd's release tarball unpacked into a directory on PATH in both.
RUNTIME_NATS = "/usr/bin/nats-server"
PLANNER_NATS = "/usr/local/bin/nats-server"
ETCD_DIR = "/usr/local/bin/etcd"
INDEX_HOST = "package-index"
# The two wheels every image installs (file-name prefixes, PEP 427 normalised).
DYNAMO_WHEELS = ("ai_dynamo_runtime-", "ai_dynamo-")
NIXL_CUDA_WHEELS = "nixl_cu*.whl"  # nixl-cu12 / nixl-cu13: the library, UCX and the plugins
NIXL_META_WHEEL = "nixl-*.whl"  # `import nixl`, which picks the CUDA variant installed
GMS_WHEEL = "gpu_memory_service-*.whl"  # the GPU Memory Service, where the framework enables it


@dataclass(frozen=True)
class FrameworkPackage:
    """How a framework is installed and imported."""

    distribution: str
    module: str
    # The runtime base already carries the framework (SGLang's upstream image): install only if absent.
    from_base: bool = False


FRAMEWORK_PACKAGES = {
    "vllm": FrameworkPackage("vllm", "vllm"),
    "sglang": FrameworkPackage("sglang", "sglang", from_base=True),
    "trtllm": FrameworkPackage("tensorrt-llm", "tensorrt_llm"),
}
# Environment upstream's runtime stages set per framework.
FRAMEWORK_ENV = {
    "vllm": {"VLLM_USE_FLASHINFER_SAMPLER": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
    "sglang": {"SGLANG_FORCE_SHUTDOWN": "1"},
    "trtllm": {"OMPI_MCA_coll_ucc_enable": "0"},
}

# Runs the CUDA base's own entrypoint when it has one (NVIDIA's images do), else the command; bash by default.
_ENTRYPOINT = """#!/bin/sh
[ "$#" -gt 0 ] || set -- /bin/bash
if [ -x /opt/nvidia/nvidia_entrypoint.sh ]; then exec /opt/nvidia/nvidia_entrypoint.sh "$@"; fi
exec "$@"
"""

# uid 1000 must be dynamo (Ubuntu 24.04 images ship a user "ubuntu" with it); group 0 for OpenShift.
_ADD_USER = f"""set -eu
userdel -r ubuntu >/dev/null 2>&1 || true
id -u {USER} >/dev/null 2>&1 || useradd -m -u {UID} -g 0 -s /bin/bash {USER}
[ "$(id -u {USER})" = {UID} ]
mkdir -p {HOME}/.cache {DYNAMO_HOME} /workspace
chown {USER}:0 {HOME} {HOME}/.cache {DYNAMO_HOME} /workspace
mkdir -p /etc/profile.d && echo 'umask 002' > /etc/profile.d/00-umask.sh
"""

# The pinned Python, from the distribution when the base has none (NVIDIA's CUDA runtimes do not).
_ENSURE_PYTHON = """set -eu
command -v "python$1" >/dev/null 2>&1 && exit 0
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "python$1" "python$1-venv"
rm -rf /var/lib/apt/lists/*
"""

# uv pip install into the venv; globs need a shell, the requirements and index arguments pass through "$@".
_INSTALL = f'set -eu; exec uv pip install --python {VENV}/bin/python {{paths}} "$@"'

# Install the framework unless the base's own Python already has it at the pinned version.
_FRAMEWORK_PRESENT = """import importlib.metadata as m, sys
try:
    sys.exit(0 if m.version(sys.argv[1]) == sys.argv[2] else 1)
except m.PackageNotFoundError:
    sys.exit(1)
"""

Wheels = Annotated[
    dagger.Directory | None,
    Doc(
        "ai_dynamo_runtime and ai_dynamo wheels (the Wheels stage's dist), optionally gpu_memory_service's; "
        "empty: built now"
    ),
]
CommitSha = Annotated[str, Doc("Git commit: stamped into the wheels, DYNAMO_COMMIT_SHA and the labels")]
Created = Annotated[str, Doc("org.opencontainers.image.created (RFC 3339); empty: now")]
IndexUrl = Annotated[
    str,
    Doc("Python index for the framework and its dependencies; empty: the context's (PyPI, + NVIDIA's for trtllm)"),
]
IndexService = Annotated[
    dagger.Service | None, Doc(f"Service serving that index, reachable as {INDEX_HOST} (e.g. a local mirror)")
]


@object_type
class Image(Stage):
    """Dynamo's container images, each a function returning a Container."""

    async def _labels(self, ctx: Context, commit_sha: str, created: str) -> dict[str, str]:
        """The OCI labels: the checkout's version, the commit, the source repository, the time."""
        return oci_labels(await self._workspace_version(), commit_sha, packaging(ctx).source_url, created)

    async def _wheels(self, wheels: dagger.Directory | None, commit_sha: str, framework: str) -> dagger.Directory:
        """The Dynamo wheels (built with the framework's features when not given), one of each checked."""
        if commit_sha:
            from .tags import check_sha

            check_sha(commit_sha)
        if wheels is None:
            from .wheels import Wheels

            wheels = await Wheels(**self.inputs()).dist(commit_sha, framework)
        names = [name for name in await wheels.entries() if name.endswith(".whl")]
        for prefix in DYNAMO_WHEELS:
            if not any(name.startswith(prefix) for name in names):
                raise PipelineInputError(
                    f"wheels: no {prefix}*.whl (has: {', '.join(sorted(names)) or 'no wheels'}); "
                    "pass the Wheels stage's dist"
                )
        return wheels

    async def _gms(self, wheels: dagger.Directory | None, enabled: bool) -> dagger.Directory | None:
        """The GPU Memory Service wheel where the framework enables it: from the given `wheels` if they
        have one, else the Wheels stage's (the Dynamo wheels the stage builds come without it)."""
        if not enabled:
            return None
        if wheels is not None and any(fnmatch(name, GMS_WHEEL) for name in await wheels.entries()):
            return dag.directory().with_directory(".", wheels, include=[GMS_WHEEL])
        from .wheels import Wheels

        return await Wheels(**self.inputs()).gpu_memory_service()

    def _python_tools(self, ctx: Context) -> PythonTools:
        """uv at the pinned version, creating venvs with the context's Python."""
        return PythonTools(uv_image=ctx.image("uv").pinned, uv_version=ctx.tools["uv"], python=ctx.tools["python"])

    def _dynamo_base(self, ctx: Context, base: str) -> dagger.Container:
        """`base` with the dynamo user (uid 1000, gid 0, HOME), /opt/dynamo, uv and the entrypoint."""
        return (
            dag.container()
            .from_(base)
            .with_(salted)
            .with_user("root")
            .with_exec(["sh", "-c", _ADD_USER])
            .with_file("/usr/local/bin/uv", dag.container().from_(ctx.image("uv").pinned).file("/uv"))
            .with_new_file(ENTRYPOINT, _ENTRYPOINT, permissions=0o755)
            .with_env_variable("HOME", HOME)
            .with_env_variable("DYNAMO_HOME", DYNAMO_HOME)
            .with_entrypoint([ENTRYPOINT])
            .with_default_args([])
        )

    def _venv_with_dependencies(
        self,
        ctr: dagger.Container,
        ctx: Context,
        nixl: dagger.Directory | None,
        requirements: list[str],
        index_urls: list[str],
        index: dagger.Service | None,
        system_site_packages: bool = False,
        no_deps: bool = False,
        gms: dagger.Directory | None = None,
    ) -> dagger.Container:
        """/opt/dynamo/venv with NIXL's wheels and `requirements` (with their dependencies, gigabytes), then
        the GPU Memory Service wheel in `gms`, as user dynamo with uv set up: everything of the venv but
        the Dynamo wheels.

        It does not see the Dynamo wheels, so it builds while they compile, and a Dynamo change
        reinstalls only the Dynamo wheels. Upstream installs GMS after them; it is versioned on its own
        and shares no dependency with them, so here it goes before and a Dynamo change leaves it be.
        """
        tools = self._python_tools(ctx)
        owner = f"{USER}:0"
        ctr = ctr.with_exec(["sh", "-c", _ENSURE_PYTHON, "ensure-python", tools.python])
        if index is not None:
            ctr = ctr.with_service_binding(INDEX_HOST, index)
        venv = ["uv", "venv", "--python", tools.python, VENV] + (["--system-site-packages"] if system_site_packages else [])
        options = [*_index_args(index_urls), *(["--no-deps"] if no_deps else [])]
        ctr = ctr.with_user(USER).with_(lambda c: tools.with_uv(c, cache_dir=UV_CACHE, owner=f"{UID}:0")).with_exec(venv)
        if nixl is not None or requirements:
            nixl_paths = ""
            if nixl is not None:
                ctr = ctr.with_directory(f"{WHEELHOUSE}/nixl", nixl, include=["*.whl"], owner=owner)
                nixl_paths = f"{WHEELHOUSE}/nixl/{NIXL_CUDA_WHEELS}"
            ctr = ctr.with_exec(["sh", "-c", _INSTALL.format(paths=nixl_paths), "install", *options, *requirements])
            if nixl is not None:
                # NIXL's meta package requires nixl-cu12 whatever the CUDA version: no dependencies.
                ctr = ctr.with_exec(
                    ["sh", "-c", f"uv pip install --python {VENV}/bin/python --no-deps {WHEELHOUSE}/nixl/{NIXL_META_WHEEL}"]
                )
        if gms is not None:
            # With its dependencies, also into SGLang's image (upstream: pip install without --no-deps).
            ctr = ctr.with_directory(WHEELHOUSE, gms, include=[GMS_WHEEL], owner=owner).with_exec(
                ["sh", "-c", _INSTALL.format(paths=f"{WHEELHOUSE}/{GMS_WHEEL}"), "install", *_index_args(index_urls)]
            )
        return ctr

    def _with_dynamo_wheels(
        self,
        ctr: dagger.Container,
        wheels: dagger.Directory,
        requirements: list[str],
        index_urls: list[str],
        no_deps: bool = False,
    ) -> dagger.Container:
        """The Dynamo wheels installed into the venv of `_venv_with_dependencies`; root again, venv on PATH."""
        owner = f"{USER}:0"
        options = [*_index_args(index_urls), *(["--no-deps"] if no_deps else [])]
        wheel_paths = [f"{WHEELHOUSE}/{prefix}*.whl" for prefix in DYNAMO_WHEELS]
        installed = ctr.with_directory(WHEELHOUSE, wheels, include=["*.whl"], owner=owner).with_exec(
            ["sh", "-c", _INSTALL.format(paths=" ".join(wheel_paths)), "install", *options, *requirements]
        )
        installed = installed.with_user("root")
        return (
            PythonTools.without_uv_settings(installed, cache_dir=UV_CACHE)
            .with_env_variable("VIRTUAL_ENV", VENV)
            .with_env_variable("PATH", f"{VENV}/bin:${{PATH}}", expand=True)
        )

    @staticmethod
    async def _nats_etcd(native: Native) -> NatsEtcd:
        """nats-server and etcd's programs from the Native stage (not yet built)."""
        return NatsEtcd(await native.nats_server(), await native.etcd())

    @staticmethod
    def _with_nats_etcd(ctr: dagger.Container, nats_etcd: NatsEtcd, nats_path: str) -> dagger.Container:
        """nats-server at `nats_path` and etcd's programs in /usr/local/bin/etcd/ (on PATH), as upstream ships them.

        Added before the Dynamo wheels: a Dynamo change does not copy them again.
        """
        return (
            ctr.with_file(nats_path, nats_etcd.nats_server, permissions=0o755)
            .with_directory(ETCD_DIR, nats_etcd.etcd)
            .with_env_variable("PATH", f"{ETCD_DIR}:${{PATH}}", expand=True)
        )

    def _index_urls(self, ctx: Context, framework: str, index_url: str) -> list[str]:
        """The given index alone (a mirror serves everything), else the context's plus the framework's extra."""
        if index_url:
            return [index_url]
        extra = packaging(ctx).framework_indexes.get(framework)
        return [packaging(ctx).python_index] + ([extra] if extra else [])

    async def _combination(self, framework: str, cuda_version: str) -> tuple[Context, Combination]:
        """The context and the validated (framework, runtime, cuda, version); empty CUDA: the framework's first."""
        ctx = await self._context()
        fw = ctx.framework(framework)
        return ctx, ctx.combination(framework, "runtime", "cuda", cuda_version or fw.cuda_versions[0])

    def _cuda_runtime_image(self, ctx: Context, cuda: str) -> str:
        """The CUDA runtime base for a CUDA version: [images.cuda_runtime_<major>_<minor>]."""
        key = "cuda_runtime_" + cuda.replace(".", "_")
        if key not in ctx.images:
            known = sorted(k.removeprefix("cuda_runtime_").replace("_", ".") for k in ctx.images if k.startswith("cuda_runtime_"))
            raise PipelineInputError(f"{ctx.source}: no [images.{key}] for CUDA {cuda}; CUDA runtimes: {', '.join(known)}")
        return ctx.image(key).pinned

    @function
    async def cuda_base(
        self, cuda_version: Annotated[str, Doc("CUDA version of the runtime base, e.g. 12.9")] = "12.9"
    ) -> dagger.Container:
        """The CUDA runtime base with the dynamo user, /opt/dynamo, uv and the entrypoint; no compilers."""
        ctx = await self._context()
        return self._dynamo_base(ctx, self._cuda_runtime_image(ctx, cuda_version))

    @function
    async def runtime(
        self,
        framework: Framework,
        cuda_version: CudaVersion = "",
        wheels: Wheels = None,
        commit_sha: CommitSha = "",
        index_url: IndexUrl = "",
        index: IndexService = None,
        created: Created = "",
    ) -> dagger.Container:
        """A framework's runtime image: its base, the wheels, NIXL and the GPU Memory Service in
        /opt/dynamo/venv, the framework, NATS and etcd, user dynamo.

        dynamo and vllm start from the CUDA runtime base (upstream's dynamo runtime keeps the devel
        base; here runtime images carry no compiler); sglang and trtllm from the images the context
        names for them. FFmpeg comes in where the context enables it.
        """
        layers = await self._runtime_layers(framework, cuda_version, wheels, commit_sha, index_url, index, created)
        return layers.image

    async def _runtime_layers(
        self,
        framework: str,
        cuda_version: str = "",
        wheels: dagger.Directory | None = None,
        commit_sha: str = "",
        index_url: str = "",
        index: dagger.Service | None = None,
        created: str = "",
    ) -> Layers:
        """`runtime`'s image and the image up to the Dynamo wheels it is built on."""
        ctx, combo = await self._combination(framework, cuda_version)
        package = FRAMEWORK_PACKAGES.get(framework)
        prepared, requirements = await self._runtime_venv(ctx, combo, framework, index_url, index, wheels)
        # The venv's dependencies, GMS, NATS and etcd need no Dynamo wheel: they build while the wheels compile.
        wheels = await alongside(prepared.built(), self._wheels(wheels, commit_sha, framework))
        ctr = self._with_dynamo_wheels(
            prepared.ctr, wheels, requirements, self._index_urls(ctx, framework, index_url),
            # The base's own packages stay as they are (upstream installs Dynamo into SGLang --no-deps).
            no_deps=package is not None and package.from_base,
        )
        if package is not None and package.from_base:
            ctr = self._with_framework_unless_present(
                ctr, ctx, package, combo.framework.version, self._index_urls(ctx, framework, index_url), index
            )
        for name, value in FRAMEWORK_ENV.get(framework, {}).items():
            ctr = ctr.with_env_variable(name, value)
        return Layers(
            prepared.ctr,
            ctr.with_env_variable("DYNAMO_COMMIT_SHA", commit_sha)
            .with_workdir("/workspace")
            .with_user(USER)
            .with_(with_labels(await self._labels(ctx, commit_sha, created))),
        )

    async def _runtime_venv(
        self,
        ctx: Context,
        combo: Combination,
        framework: str,
        index_url: str,
        index: dagger.Service | None,
        wheels: dagger.Directory | None,
    ) -> tuple[Prepared, list[str]]:
        """A runtime image up to the Dynamo wheels (`_venv_with_dependencies` with GMS, from `wheels` if
        they have it, then NATS and etcd), not yet built, and the framework requirements it pins."""
        package = FRAMEWORK_PACKAGES.get(framework)
        if package is not None and not combo.framework.version:
            raise PipelineInputError(f"{ctx.source} [frameworks.{framework}]: no version to install")
        runtime_image = ctx.runtime_image(combo)
        base = runtime_image.pinned if runtime_image else self._cuda_runtime_image(ctx, combo.cuda or "")
        native = Native(**self.inputs())
        # SGLang relies on the NIXL its upstream image ships; the others get NIXL's wheels.
        nixl = None if framework == "sglang" else await native.nixl(framework, combo.cuda or "")
        ctr = self._dynamo_base(ctx, base)
        if combo.framework.enable_media_ffmpeg:
            ctr = ctr.with_directory("/", await native.ffmpeg()).with_exec(["ldconfig"])
        requirements = []
        if package is not None and not package.from_base:
            requirements.append(f"{package.distribution}=={combo.framework.version}")
        gms = await self._gms(wheels, combo.framework.enable_gpu_memory_service)
        venv = self._venv_with_dependencies(
            ctr, ctx, nixl, requirements, self._index_urls(ctx, framework, index_url), index,
            system_site_packages=package is not None and package.from_base,
            no_deps=package is not None and package.from_base,
            gms=gms,
        )
        nats_etcd = await self._nats_etcd(native)
        layered = self._with_nats_etcd(venv, nats_etcd, RUNTIME_NATS)
        return Prepared(layered, (venv, nats_etcd.nats_server, nats_etcd.etcd)), requirements

    @function
    async def runtime_venv(
        self,
        framework: Framework,
        cuda_version: CudaVersion = "",
        index_url: IndexUrl = "",
        index: IndexService = None,
    ) -> dagger.Container:
        """A framework's runtime image up to the Dynamo wheels, built: its venv's dependencies (NIXL, the
        framework), the GPU Memory Service, NATS and etcd. What `runtime` adds the Dynamo wheels to;
        build-all builds it while the wheels compile."""
        ctx, combo = await self._combination(framework, cuda_version)
        prepared, _ = await self._runtime_venv(ctx, combo, framework, index_url, index, None)
        return await prepared.built()

    def _with_framework_unless_present(
        self,
        ctr: dagger.Container,
        ctx: Context,
        package: FrameworkPackage,
        version: str,
        index_urls: list[str],
        index: dagger.Service | None,
    ) -> dagger.Container:
        """Install `package==version` into the venv unless the base's Python already has that version."""
        tools = self._python_tools(ctx)
        script = (
            'set -eu; python3 -c "$1" "$2" "$3" && exit 0; shift 3; '
            f'exec uv pip install --python {VENV}/bin/python "$@"'
        )
        if index is not None:
            ctr = ctr.with_service_binding(INDEX_HOST, index)
        ran = (
            ctr.with_user(USER)
            .with_(lambda c: tools.with_uv(c, cache_dir=UV_CACHE, owner=f"{UID}:0"))
            .with_exec(["sh", "-c", script, "framework", _FRAMEWORK_PRESENT, package.distribution, version,
                        *_index_args(index_urls), f"{package.distribution}=={version}"])
            .with_user("root")
        )
        return PythonTools.without_uv_settings(ran, cache_dir=UV_CACHE)

    @function
    async def frontend(
        self,
        wheels: Wheels = None,
        epp: Annotated[dagger.File | None, Doc("The EPP binary; empty: built by the Go stage")] = None,
        commit_sha: CommitSha = "",
        cuda_version: Annotated[str, Doc("CUDA version of the NIXL wheels")] = "12.9",
        index_url: IndexUrl = "",
        index: IndexService = None,
        created: Created = "",
    ) -> dagger.Container:
        """The frontend image: the context's frontend base, /epp from the Go stage, the wheels, NIXL and GMS, user dynamo."""
        return (await self._frontend_layers(wheels, epp, commit_sha, cuda_version, index_url, index, created)).image

    async def _frontend_layers(
        self,
        wheels: dagger.Directory | None = None,
        epp: dagger.File | None = None,
        commit_sha: str = "",
        cuda_version: str = "12.9",
        index_url: str = "",
        index: dagger.Service | None = None,
        created: str = "",
    ) -> Layers:
        """`frontend`'s image and the image up to the Dynamo wheels it is built on."""
        ctx, combo = await self._combination("dynamo", cuda_version)
        index_urls = self._index_urls(ctx, "dynamo", index_url)
        nixl = await Native(**self.inputs()).nixl("dynamo", combo.cuda or "")
        gms = await self._gms(wheels, combo.framework.enable_gpu_memory_service)
        venv = self._venv_with_dependencies(self._dynamo_base(ctx, ctx.image("frontend").pinned), ctx, nixl, [],
                                            index_urls, index, gms=gms)
        # NIXL and GMS install while the wheels compile.
        wheels = await alongside(venv.sync(), self._wheels(wheels, commit_sha, "dynamo"))
        if epp is None:
            from .go import Go

            epp = await Go(**self.inputs()).epp(commit_sha=commit_sha)
        ctr = self._with_dynamo_wheels(venv, wheels, [], index_urls).with_file("/epp", epp, permissions=0o755)
        return Layers(
            venv,
            ctr.with_env_variable("DYNAMO_COMMIT_SHA", commit_sha)
            .with_workdir("/workspace")
            .with_user(USER)
            .with_entrypoint(["/epp"])
            .with_default_args([])
            .with_(with_labels(await self._labels(ctx, commit_sha, created))),
        )

    @function
    async def planner(
        self,
        wheels: Wheels = None,
        commit_sha: CommitSha = "",
        index_url: IndexUrl = "",
        index: IndexService = None,
        created: Created = "",
    ) -> dagger.Container:
        """The planner image: a venv built on the Python image, copied with the users into the distroless base,
        plus NATS and etcd as upstream's planner carries them."""
        ctx = await self._context()
        index_urls = self._index_urls(ctx, "dynamo", index_url)
        venv = self._venv_with_dependencies(self._dynamo_base(ctx, ctx.image("python").pinned), ctx, None, [],
                                            index_urls, index)
        nats_etcd = await self._nats_etcd(Native(**self.inputs()))
        # Distroless has no useradd: the builder's account files carry the dynamo user over. All but the
        # home directory and the venv comes before the Dynamo wheels, so a Dynamo change copies those two.
        base = self._with_nats_etcd(
            dag.container()
            .from_(ctx.image("planner_runtime").pinned)
            .with_file("/etc/passwd", venv.file("/etc/passwd"))
            .with_file("/etc/group", venv.file("/etc/group"))
            .with_file("/usr/local/bin/uv", venv.file("/usr/local/bin/uv")),
            nats_etcd,
            PLANNER_NATS,
        )
        prepared = Prepared(base, (venv, nats_etcd.nats_server, nats_etcd.etcd))
        wheels = await alongside(prepared.built(), self._wheels(wheels, commit_sha, "dynamo"))
        builder = self._with_dynamo_wheels(venv, wheels, [], index_urls)
        final = (
            base.with_directory(HOME, builder.directory(HOME), owner=f"{USER}:0")
            .with_directory(VENV, builder.directory(VENV), owner=f"{USER}:0")
            .with_env_variable("HOME", HOME)
            .with_env_variable("DYNAMO_HOME", DYNAMO_HOME)
            .with_env_variable("VIRTUAL_ENV", VENV)
        )
        return (
            final.with_env_variable("PATH", f"{VENV}/bin:${{PATH}}", expand=True)
            .with_env_variable("DYNAMO_COMMIT_SHA", commit_sha)
            .with_user(USER)
            .with_workdir(HOME)
            .with_default_args([])
            .with_(with_labels(await self._labels(ctx, commit_sha, created)))
        )


def _index_args(index_urls: list[str]) -> list[str]:
    """uv's arguments for the first index and any extra ones."""
    return ["--index-url", index_urls[0]] + [arg for url in index_urls[1:] for arg in ("--extra-index-url", url)]


@dataclass(frozen=True)
class NatsEtcd:
    """The NATS server and etcd's programs an image carries."""

    nats_server: dagger.File
    etcd: dagger.Directory


@dataclass(frozen=True)
class Layers:
    """An image and the image up to the Dynamo wheels it is built on (what a scan of it can reuse)."""

    lower: dagger.Container
    image: dagger.Container


@dataclass(frozen=True)
class Prepared:
    """An image up to the Dynamo wheels, and the parts of it that build on their own."""

    ctr: dagger.Container
    parts: tuple[dagger.Container | dagger.Directory | dagger.File, ...]

    async def built(self) -> dagger.Container:
        """The parts built at once (the Go compiles beside the venv's downloads), then the container."""
        await asyncio.gather(*(part.sync() for part in self.parts))
        return await self.ctr.sync()


async def alongside(background: Awaitable[object], foreground: Awaitable[T]) -> T:
    """`foreground`'s result once `background` has finished as well; both run at once, and a failure of
    `foreground` cancels `background` (its own failure raises as it is)."""
    task = asyncio.ensure_future(background)
    try:
        result = await foreground
    except BaseException:
        task.cancel()
        raise
    await task
    return result
