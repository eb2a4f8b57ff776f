"""The Go stage on the real engine against the example workspace: operator, EPP, images, checks, bad input."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineInputError
from pipeline.go import Go

COMMIT = "0123abcd4567ef89"
VERSION = "1.1.0"


@pytest.fixture(scope="module")
def go(dynamo) -> Go:
    """The Go stage object, as `dagger call go` builds it."""
    return dynamo.go()


async def test_operator_is_static_and_stamped(go: Go, dag) -> None:
    """The manager runs in an empty container (no libc: static) and prints the stamped version and commit."""
    manager = await go.operator(commit_sha=COMMIT)
    out = await dag.container().with_file("/manager", manager).with_exec(["/manager", "--version"]).stdout()
    assert out.strip() == f"dynamo-operator manager {VERSION} (commit {COMMIT})"
    # -trimpath: no build paths of the container in the binary.
    strings = await (
        dag.container().from_("python:3.12-slim").with_file("/manager", manager)
        .with_exec(["sh", "-c", "grep -c /src/deploy /manager || true"]).stdout()
    )
    assert strings.strip() == "0"


async def test_operator_binaries_include_every_cmd_tool(go: Go) -> None:
    """Like upstream's image: manager from cmd/, crd-apply from cmd/crd-apply/."""
    assert sorted(await (await go.operator_binaries()).entries()) == ["crd-apply", "manager"]


async def test_operator_image_runs_non_root_with_labels(go: Go) -> None:
    image = await go.operator_image(commit_sha=COMMIT, created="2026-11-25T00:00:00Z")
    out = await image.with_exec(["--version"], use_entrypoint=True).stdout()
    assert f"manager {VERSION} (commit {COMMIT})" in out
    assert await image.user() == "65532:65532"
    assert await image.entrypoint() == ["/manager"]
    assert await image.label("org.opencontainers.image.revision") == COMMIT
    assert await image.label("org.opencontainers.image.version") == VERSION
    assert await image.label("org.opencontainers.image.created") == "2026-11-25T00:00:00Z"
    assert (await image.label("org.opencontainers.image.source")).startswith("https://")


async def test_operator_vet_and_test_pass(go: Go) -> None:
    await go.operator_vet()
    await go.operator_test()


async def test_epp_links_the_rust_c_library(go: Go, dag) -> None:
    """The cgo EPP reports the Rust library's version through the C API, and its own stamp."""
    epp = await go.epp(commit_sha=COMMIT)
    out = await dag.container().from_("python:3.12-slim").with_file("/epp", epp).with_exec(["/epp", "--version"]).stdout()
    assert out.strip() == f"dynamo-epp {VERSION} (commit {COMMIT}) capi {VERSION}"


async def test_epp_image_runs_as_nonroot(go: Go) -> None:
    image = await go.epp_image(commit_sha=COMMIT)
    assert await image.user() == "65532:65534"
    out = await image.with_exec(["--version"], use_entrypoint=True).stdout()
    assert out.startswith(f"dynamo-epp {VERSION}")
    assert (await image.with_exec(["id", "-un"]).stdout()).strip() == "nonroot"
    assert await image.label("org.opencontainers.image.revision") == COMMIT


async def test_epp_vet_and_test_pass(go: Go) -> None:
    await go.epp_vet()
    await go.epp_test()


async def test_header_library_mismatch_is_one_clear_line(go: Go) -> None:
    """A header that declares a function the library lacks fails naming it, before the Go build."""
    library = await go._c_library(None)
    header = await library.file("include/llm_engine.h").contents()
    skewed = library.with_new_file(
        "include/llm_engine.h", header.replace("#ifdef __cplusplus\n}", "int dynamo_route(void);\n#ifdef __cplusplus\n}")
    )
    with pytest.raises(PipelineInputError, match=r"^llm_engine.h declares dynamo_route, which libdynamo_llm_capi.a does not define"):
        await go.epp(c_library=skewed)


async def test_missing_go_sum_entry_is_refused_before_building(go: Go) -> None:
    source = go.source.with_new_file("deploy/operator/go.sum", "")
    broken = Go(source=source, overlay=go.overlay)
    with pytest.raises(PipelineInputError, match=r"deploy/operator/go.sum: missing go.sum entry for github.com/google/uuid v1.6.0"):
        await broken.operator()


async def test_missing_go_module_is_refused(go: Go) -> None:
    broken = Go(source=go.source.without_file("deploy/inference-gateway/epp/go.mod"), overlay=go.overlay)
    with pytest.raises(PipelineInputError, match=r"^deploy/inference-gateway/epp/go.mod: not found"):
        await broken.epp()


async def test_missing_local_replace_is_refused(go: Go) -> None:
    broken = Go(source=go.source.without_directory("deploy/snapshot"), overlay=go.overlay)
    with pytest.raises(PipelineInputError, match=r"replace github.com/ai-dynamo/dynamo/deploy/snapshot => ../snapshot"):
        await broken.operator()


async def test_go_pin_older_than_go_mod_is_refused(go: Go, dag) -> None:
    """go.mod says go 1.25.0; a context pinning Go 1.24 cannot build it with GOTOOLCHAIN=local."""
    lines = (await go.overlay.contents()).splitlines()
    overlay = "\n".join('go_operator = "1.24"' if line.startswith("go_operator") else line for line in lines)
    assert 'go_operator = "1.24"' in overlay
    old = Go(source=go.source, overlay=dag.directory().with_new_file("o.toml", overlay).file("o.toml"))
    with pytest.raises(PipelineInputError, match=r"deploy/operator/go.mod: needs go 1.25.0, but .* pins Go 1.24"):
        await old.operator()
