"""The Go stage: the operator (static) and the EPP (cgo over the Rust C library), their images and checks.

`dagger call go operator -o manager`, `dagger call go epp-image`, `dagger check 'go:*'`.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Annotated

import dagger
from dagger import Doc, check, dag, function, object_type

from modules.c_library import undefined_declarations
from modules.go_toolchain import GoToolchain, ldflags
from modules.gomod import GoMod, GoModuleError
from modules.oci import oci_labels, with_labels

from .errors import PipelineInputError
from .rust import C_HEADER
from .stage import Stage

if TYPE_CHECKING:
    from .context import Context

# Where the EPP's cgo directives look for the Rust C library and its header (upstream's layout).
EPP_CGO_DIR = "pkg/plugins/dynamo_kv_scorer"
# The static library the EPP's cgo LDFLAGS name.
C_LIBRARY = "libdynamo_llm_capi.a"
# Upstream's EPP stamps the Gateway API Inference Extension's version package when it depends on it.
GIE_MODULE = "sigs.k8s.io/gateway-api-inference-extension"
# Users the side images run as (upstream: distroless nonroot for the operator, nonroot:nogroup for the EPP).
OPERATOR_USER = "65532:65532"
EPP_USER = "65532:65534"
OUT = "/out"

Version = Annotated[str, Doc("Version stamped into the binary; empty: the checkout's version")]
CommitSha = Annotated[str, Doc("Git commit stamped into the binary and the image labels")]
CLibrary = Annotated[
    dagger.Directory | None,
    Doc("lib/libdynamo_llm_capi.a and include/llm_engine.h; empty: built by the Rust stage"),
]


@object_type
class Go(Stage):
    """Dynamo's Go programs: the Kubernetes operator and the inference-gateway endpoint picker (EPP)."""

    async def _module(self, module_dir: str, setting: str) -> tuple[GoMod, GoToolchain, dagger.Directory]:
        """Check go.mod, go.sum and the Go pin before any container runs; the tree the build mounts."""
        ctx = await self._context()
        mod_path = f"{module_dir}/go.mod"
        if not await self.source.exists(mod_path):
            raise PipelineInputError(f"{mod_path}: not found in the source directory ([workspace] in the context)")
        try:
            gomod = GoMod.parse(mod_path, await self.source.file(mod_path).contents())
            sum_path = f"{module_dir}/go.sum"
            sum_text = await self.source.file(sum_path).contents() if await self.source.exists(sum_path) else None
            gomod.check_sum(sum_path, sum_text)
            gomod.check_go_version(ctx.tools[setting], f"{ctx.source} [tools] {setting}")
        except GoModuleError as err:
            raise PipelineInputError(str(err)) from err
        # The module plus its local replacements (upstream: operator -> ../snapshot), at their real paths.
        tree = dag.directory().with_directory(module_dir, self.source.directory(module_dir))
        for module, relative in gomod.local_replaces.items():
            replaced = posixpath.normpath(posixpath.join(module_dir, relative))
            if replaced.startswith("..") or not await self.source.exists(f"{replaced}/go.mod"):
                raise PipelineInputError(f"{mod_path}: replace {module} => {relative}, but {replaced}/go.mod is not in the source")
            tree = tree.with_directory(replaced, self.source.directory(replaced))
        image_key = "golang_operator" if setting == "go_operator" else "golang_epp"
        toolchain = GoToolchain(ctx.image(image_key).pinned, ctx.tools[setting])
        have = await toolchain.check_version(toolchain.container())
        if have is not None:
            raise PipelineInputError(
                f"{ctx.source} [images.{image_key}]: the image has {have}, but [tools] {setting} pins Go {ctx.tools[setting]}"
            )
        return gomod, toolchain, tree

    async def _operator_builder(self) -> tuple[GoMod, dagger.Container]:
        """The operator module, checked, in the Go build container with cgo off."""
        module_dir = (await self._context()).workspace.operator
        gomod, toolchain, tree = await self._module(module_dir, "go_operator")
        return gomod, toolchain.with_module(toolchain.container(), tree, module_dir).with_env_variable("CGO_ENABLED", "0")

    async def _stamp(self, version: str, commit_sha: str) -> tuple[str, str]:
        """(version, commit) to stamp: the given ones, else the checkout's version and "unknown"."""
        from .tags import check_sha

        if commit_sha:
            check_sha(commit_sha)
        return version or await self._workspace_version(), commit_sha or "unknown"

    @function
    async def operator_binaries(self, version: Version = "", commit_sha: CommitSha = "") -> dagger.Directory:
        """The operator's static binaries: `manager` (from cmd/) and one per cmd/<name>/ (e.g. crd-apply)."""
        version, commit = await self._stamp(version, commit_sha)
        _, builder = await self._operator_builder()
        flags = ldflags({"main.version": version, "main.commit": commit})
        # Upstream builds ./cmd/main.go as "manager" and each cmd/<tool>/main.go under its own name.
        script = (
            'set -eu; go build -trimpath -ldflags "$1" -o "$2/manager" ./cmd; '
            'for main in cmd/*/main.go; do [ -e "$main" ] || continue; tool=$(dirname "$main"); '
            'go build -trimpath -ldflags "$1" -o "$2/$(basename "$tool")" "./$tool"; done'
        )
        return builder.with_exec(["sh", "-c", script, "build", flags, OUT]).directory(OUT)

    @function
    async def operator(self, version: Version = "", commit_sha: CommitSha = "") -> dagger.File:
        """The operator manager, a static binary (`CGO_ENABLED=0`, `-trimpath`, version/commit ldflags)."""
        return (await self.operator_binaries(version, commit_sha)).file("manager")

    @function
    async def operator_image(
        self,
        version: Version = "",
        commit_sha: CommitSha = "",
        created: Annotated[str, Doc("org.opencontainers.image.created; empty: now")] = "",
    ) -> dagger.Container:
        """The operator image: the context's distroless Go base, /manager and its tools, non-root."""
        version, commit = await self._stamp(version, commit_sha)
        binaries = await self.operator_binaries(version, commit_sha)  # version resolved: read once
        return await self._operator_image(binaries, version, commit, created)

    async def _operator_image(self, binaries: dagger.Directory, version: str, commit: str, created: str) -> dagger.Container:
        """The operator image around `operator_binaries` built already (build-all's go stage)."""
        ctx = await self._context()
        return (
            dag.container()
            .from_(ctx.image("operator_runtime").pinned)
            .with_directory("/", binaries)
            .with_workdir("/")
            .with_user(OPERATOR_USER)
            .with_entrypoint(["/manager"])
            .with_default_args([])
            .with_(with_labels(oci_labels(version, commit, _source_url(ctx), created)))
        )

    @function
    @check
    async def operator_vet(self) -> None:
        """`go vet ./...` in the operator module."""
        _, builder = await self._operator_builder()
        await builder.with_exec(["go", "vet", "./..."]).sync()

    @function
    @check
    async def operator_test(self) -> None:
        """`go test ./...` in the operator module."""
        _, builder = await self._operator_builder()
        await builder.with_exec(["go", "test", "./..."]).sync()

    async def _c_library(self, c_library: dagger.Directory | None) -> dagger.Directory:
        """The given C library directory, else the Rust stage's `c_library`."""
        if c_library is not None:
            return c_library
        from .rust import Rust

        return await Rust(**self.inputs()).c_library()

    async def _epp_builder(self, c_library: dagger.Directory | None) -> tuple[GoMod, dagger.Container]:
        """The cgo build container for the EPP with the C library in place, header and library checked."""
        module_dir = (await self._context()).workspace.epp
        gomod, toolchain, tree = await self._module(module_dir, "go_epp")
        if not await self.source.exists(f"{module_dir}/{EPP_CGO_DIR}"):
            raise PipelineInputError(f"{module_dir}/{EPP_CGO_DIR}: not found; the EPP's cgo package lives there")
        library = await self._c_library(c_library)
        for needed in (f"lib/{C_LIBRARY}", f"include/{C_HEADER}"):
            if not await library.exists(needed):
                found = ", ".join(sorted(await library.glob("**/*"))) or "nothing"
                raise PipelineInputError(f"C library directory: no {needed} (has: {found})")
        builder = (
            toolchain.container()
            .with_env_variable("CGO_ENABLED", "1")
            .with_(lambda ctr: toolchain.with_module(ctr, tree, module_dir))
            .with_directory(f"{EPP_CGO_DIR}/lib", library.directory("lib"), include=[C_LIBRARY])
            .with_directory(f"{EPP_CGO_DIR}/include", library.directory("include"), include=[C_HEADER])
        )
        symbols = await builder.with_exec(["nm", "-g", "--defined-only", f"{EPP_CGO_DIR}/lib/{C_LIBRARY}"]).stdout()
        header = await library.file(f"include/{C_HEADER}").contents()
        mismatch = undefined_declarations(C_HEADER, header, C_LIBRARY, symbols)
        if mismatch:
            raise PipelineInputError(mismatch)
        return gomod, builder

    @function
    async def epp(
        self, version: Version = "", commit_sha: CommitSha = "", c_library: CLibrary = None
    ) -> dagger.File:
        """The EPP binary: cgo build linking the Rust C library, version and commit in ldflags."""
        version, commit = await self._stamp(version, commit_sha)
        gomod, builder = await self._epp_builder(c_library)
        # The module's own version package, and the Gateway API extension's when it is a dependency.
        packages = [f"{gomod.module}/version"] + ([f"{GIE_MODULE}/version"] if GIE_MODULE in gomod.requires else [])
        stamps = {f"{pkg}.{var}": value for pkg in packages for var, value in (("GitVersion", version), ("GitCommit", commit))}
        return builder.with_exec(
            ["go", "build", "-trimpath", "-ldflags", ldflags(stamps), "-o", f"{OUT}/epp", "./cmd/epp"]
        ).file(f"{OUT}/epp")

    @function
    async def epp_image(
        self,
        version: Version = "",
        commit_sha: CommitSha = "",
        c_library: CLibrary = None,
        created: Annotated[str, Doc("org.opencontainers.image.created; empty: now")] = "",
    ) -> dagger.Container:
        """The EPP image: the context's EPP runtime base, /epp, user nonroot (65532), entrypoint /epp."""
        version, commit = await self._stamp(version, commit_sha)
        binary = await self.epp(version, commit_sha, c_library)  # version resolved: read once
        return await self._epp_image(binary, version, commit, created)

    async def _epp_image(self, binary: dagger.File, version: str, commit: str, created: str) -> dagger.Container:
        """The EPP image around an `epp` binary built already (build-all's go stage)."""
        ctx = await self._context()
        return (
            dag.container()
            .from_(ctx.image("epp_runtime").pinned)
            .with_exec(["sh", "-c", "id -u nonroot >/dev/null 2>&1 || useradd -r -u 65532 -g nogroup nonroot"])
            .with_file("/epp", binary, permissions=0o755)
            .with_workdir("/")
            .with_user(EPP_USER)
            .with_entrypoint(["/epp"])
            .with_default_args([])
            .with_(with_labels(oci_labels(version, commit, _source_url(ctx), created)))
        )

    @function
    @check
    async def epp_vet(self) -> None:
        """`go vet ./...` in the EPP module, against the Rust C library."""
        _, builder = await self._epp_builder(None)
        await builder.with_exec(["go", "vet", "./..."]).sync()

    @function
    @check
    async def epp_test(self) -> None:
        """`go test ./...` in the EPP module, against the Rust C library."""
        _, builder = await self._epp_builder(None)
        await builder.with_exec(["go", "test", "./..."]).sync()


def _source_url(ctx: Context) -> str:
    """The repository URL the images' source label names."""
    if ctx.packaging is None:
        raise PipelineInputError(f"{ctx.source}: no [packaging] section (source_url labels the images)")
    return ctx.packaging.source_url
