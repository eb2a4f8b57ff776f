"""Native libraries and programs the images carry, each from its own cached function.

A change to one (the NIXL ref of a framework, the FFmpeg flags, the etcd version) reruns only that
function and the images that take its output; a Dockerfile's layer chain would rebuild everything after it.

`dagger call native nixl --framework vllm -o wheels/`, `dagger call native ffmpeg -o ffmpeg/`,
`dagger call native nats-server -o nats-server`, `dagger call native etcd -o etcd/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import dagger
from dagger import Doc, dag, function, object_type

from modules.cache import cache_volume
from modules.go_programs import build_go_programs
from modules.go_toolchain import GoToolchain

from .errors import PipelineInputError
from .stage import Stage

if TYPE_CHECKING:
    from .context import Context, Packaging

WHEEL_ARCH = "x86_64"
# NIXL's PyPI wheels target this policy; the wheel bundles UCX and NIXL's plugins.
NIXL_PLATFORM = f"manylinux_2_28_{WHEEL_ARCH}"
FFMPEG_PREFIX = "/usr/local"
PIP_CACHE = "/root/.cache/pip"
# NATS and etcd as upstream's release binaries carry them (its .deb and tarball); built from the Go
# module proxy because GitHub's release downloads are out of reach of a mirror-only build.
NATS_MODULE = "github.com/nats-io/nats-server/v2"
ETCD_MODULES = {  # program -> module (its main package is the module root)
    "etcd": "go.etcd.io/etcd/server/v3",
    "etcdctl": "go.etcd.io/etcd/etcdctl/v3",
    "etcdutl": "go.etcd.io/etcd/etcdutl/v3",
}

Framework = Annotated[str, Doc("Framework: dynamo, vllm, sglang or trtllm")]
CudaVersion = Annotated[str, Doc("CUDA version, e.g. 12.9; empty: the framework's first")]


def packaging(ctx: Context) -> Packaging:
    """The context's [packaging] section, which the Go, native and image stages need."""
    if ctx.packaging is None:
        raise PipelineInputError(f"{ctx.source}: no [packaging] section; the image stages read it")
    return ctx.packaging


@object_type
class Native(Stage):
    """NIXL (with UCX) from its PyPI wheels, FFmpeg from its pinned source tarball, NATS and etcd from Go modules."""

    async def _go(self) -> GoToolchain:
        """The Go the operator builds with ([images.golang_operator], [tools] go_operator)."""
        ctx = await self._context()
        return GoToolchain(ctx.image("golang_operator").pinned, ctx.tools["go_operator"])

    @function
    async def nats_server(self) -> dagger.File:
        """nats-server at the context's [tools] nats: static (cgo off), -trimpath, from the Go module proxy."""
        ctx = await self._context()
        tag = "v" + ctx.tools["nats"].removeprefix("v")
        built = build_go_programs(
            await self._go(), [f"{NATS_MODULE}@{tag}"], {"nats-server": NATS_MODULE},
            ldflags=f"-s -w -X {NATS_MODULE}/server.serverVersion={tag}",
        )
        return built.file("nats-server")

    @function
    async def etcd(self) -> dagger.Directory:
        """etcd, etcdctl and etcdutl at the context's [tools] etcd, as upstream's release tarball has them.

        Static (cgo off), -trimpath, from the Go module proxy; upstream unpacks the tarball into
        /usr/local/bin/etcd/, and so does the image stage with this directory.
        """
        ctx = await self._context()
        tag = "v" + ctx.tools["etcd"].removeprefix("v")
        return build_go_programs(
            await self._go(), [f"{module}@{tag}" for module in ETCD_MODULES.values()], ETCD_MODULES
        )

    @function
    async def nixl(
        self,
        framework: Framework = "dynamo",
        cuda_version: CudaVersion = "",
        index_url: Annotated[str, Doc("Python index; empty: the context's [packaging] python_index")] = "",
    ) -> dagger.Directory:
        """The NIXL wheels (nixl-cu<major> and the nixl meta package) at the framework's nixl_ref."""
        ctx = await self._context()
        fw = ctx.framework(framework)
        combo = ctx.combination(framework, "runtime", "cuda", cuda_version or fw.cuda_versions[0])
        python = ctx.tools["python"]
        ref = fw.nixl_ref.removeprefix("v")
        requirements = [f"nixl-cu{combo.cuda_major}=={ref}", f"nixl=={ref}"]
        return (
            dag.container()
            .from_(ctx.image("python").pinned)
            .with_mounted_cache(PIP_CACHE, cache_volume("pip-download"))
            .with_exec(
                ["python3", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--index-url", index_url or packaging(ctx).python_index,
                 "--python-version", python, "--platform", NIXL_PLATFORM, "--dest", "/wheels", *requirements]
            )
            .directory("/wheels")
        )

    @function
    async def ffmpeg(self) -> dagger.Directory:
        """FFmpeg's shared libraries, headers and pkg-config files under usr/local, plus its source.

        Built in the manylinux builder (so the libraries load wherever the wheels do) with the
        context's LGPL-only configure flags; the source ships in usr/local/src/ffmpeg, as upstream's does.
        """
        ctx = await self._context()
        spec = packaging(ctx).ffmpeg
        tarball = dag.http(spec.url, checksum=f"sha256:{spec.sha256}")
        build = (
            'set -eu; prefix=$1; shift; mkdir -p /build /stage/usr/local/src/ffmpeg; cd /build; tar xf /ffmpeg.tar.xz; '
            'cd ffmpeg-*; ./configure --prefix="$prefix" "$@"; make -j"$(nproc)"; make install DESTDIR=/stage; '
            'cp /ffmpeg.tar.xz /stage/usr/local/src/ffmpeg/; rm -rf /build'
        )
        return (
            dag.container()
            .from_(ctx.image("manylinux").pinned)
            .with_file("/ffmpeg.tar.xz", tarball)
            # Built and deleted in one exec: the build tree never lands in a cached layer.
            .with_exec(["sh", "-c", build, "build", FFMPEG_PREFIX, *spec.configure])
            .directory("/stage")
        )
