"""The Rust stage on the real engine against the example workspace."""

from __future__ import annotations

import json
import re
import uuid

import pytest

import dagger

from modules.python_tools import TOOLS_PREFIX
from modules.rust_toolchain import CARGO_HOME
from pipeline import Dynamo
from pipeline.errors import PipelineInputError
from pipeline.rust import TARGET_DIR


async def touched(dynamo: Dynamo) -> Dynamo:
    """The workspace with one .rs file changed (a new comment), as after an edit."""
    path = "lib/llm/src/lib.rs"
    text = await dynamo.source.file(path).contents()
    edited = dynamo.source.with_new_file(path, f"{text}\n// touched {uuid.uuid4().hex}\n")
    return Dynamo(source=edited, overlay=dynamo.overlay)


async def test_build_then_incremental_rebuild_compiles_only_the_edited_crates(dynamo: Dynamo) -> None:
    """A release build yields the binaries and the staticlib; after touching one .rs file the
    rebuild compiles dynamo-llm and its dependents only (the target directory is on a cache volume).
    The first build is of a new source state, so it runs now: a result cached from an earlier test
    could be older than the target directory the engine's garbage collector may have emptied since."""
    first = await (await touched(dynamo)).rust().build()
    artifacts = await first.artifacts.entries()
    assert "dynamo-run" in artifacts and "libdynamo_llm_capi.a" in artifacts
    assert json.loads(first.report)["steps"][0]["name"] == "cargo build"

    rebuilt = await (await touched(dynamo)).rust().build()
    # dynamo-llm and its dependents: nothing else is recompiled.
    assert compiled(rebuilt.output) == {"dynamo-llm", "libdynamo_llm", "dynamo-run"}, rebuilt.output
    assert "dynamo-run" in await rebuilt.artifacts.entries()
    # No shared backend given: rustc runs without sccache, and the report invents no counters.
    assert "sccache" not in json.loads(rebuilt.report)


def compiled(output: str) -> set[str]:
    """The crates cargo compiled, from its `Compiling <name> v<version>` lines."""
    return set(re.findall(r"^\s*Compiling (\S+) v", output, re.MULTILINE))


async def test_clean_empties_the_target_dir_in_the_builds_own_exec(dynamo: Dynamo) -> None:
    """`--clean` compiles every workspace crate again although the target directory held them all.
    The clean is in the build's own exec: a build of another source state running in the engine
    meanwhile cannot refill the directory between a separate wipe and the build."""
    await (await touched(dynamo)).rust().build()
    run = await (await touched(dynamo)).rust().build(clean=True)
    assert compiled(run.output) >= {"dynamo-runtime", "dynamo-llm", "dynamo-run"}, run.output
    assert "dynamo-run" in await run.artifacts.entries()


async def test_an_older_source_state_is_rebuilt_not_taken_from_the_target_dir(dynamo: Dynamo, dag, offline_context) -> None:
    """Build an edit, then the checkout as it was: the binary reflects the content built, although
    cargo's mtime check alone would call the checked-out file (older) fresh."""
    path = "launch/dynamo-run/src/main.rs"
    text = await dynamo.source.file(path).contents()
    assert "device=" in text
    marker = uuid.uuid4().hex[:8]
    variant = Dynamo(source=dynamo.source.with_new_file(path, text.replace("device=", f"{marker}-device=", 1)),
                     overlay=dynamo.overlay)
    # main.rs as checked out (its old mtime), a new README so that the exec is not a cached one.
    original = Dynamo(source=dynamo.source.with_new_file("README.md", marker), overlay=dynamo.overlay)

    async def banner(stage: Dynamo) -> str:
        built = await stage.rust().build()
        return await (
            dag.container().from_(offline_context.image("python").pinned)
            .with_file("/usr/local/bin/dynamo-run", built.artifacts.file("dynamo-run"))
            .with_exec(["dynamo-run"]).stdout()
        )

    assert f"{marker}-device=" in await banner(variant)
    assert f"{marker}-device=" not in await banner(original)


async def test_no_build_tree_in_the_result(dynamo: Dynamo) -> None:
    """The target directory is a cache mount: a build leaves nothing of it in the container."""
    from pipeline.rust import TARGET_DIR

    built = await (await dynamo.rust().builder()).with_exec(
        ["cargo", "build", "--locked", "-p", "dynamo-runtime"]
    ).without_mount(TARGET_DIR)
    assert "cargo-target/" not in await built.directory("/var/cache").entries()
    assert "target/" not in await built.directory("/src").entries()
    assert await built.env_variable("CARGO_TARGET_DIR") == TARGET_DIR


async def test_c_library_has_the_static_library_and_header(dynamo: Dynamo) -> None:
    """`rust c-library`: lib/libdynamo_llm_capi.a and include/llm_engine.h, for the EPP to link."""
    out = await dynamo.rust().c_library()
    assert await out.entries(path="lib") == ["libdynamo_llm_capi.a"]
    assert await out.entries(path="include") == ["llm_engine.h"]
    assert await out.file("lib/libdynamo_llm_capi.a").size() > 1000
    header = await out.file("include/llm_engine.h").contents()
    assert header == await dynamo.source.file("lib/bindings/c/include/llm_engine.h").contents()


async def test_swagger_ui_zip_has_githubs_layout(dynamo: Dynamo, dag, offline_context) -> None:
    """The zip utoipa-swagger-ui reads: swagger-ui-<version>/dist/<files> from npm's swagger-ui-dist."""
    version = offline_context.tools["swagger_ui"]
    listing = (
        await dag.container().from_(offline_context.image("python").pinned)
        .with_file("/s.zip", await dynamo.rust().swagger_ui())
        .with_exec(["python3", "-c", "import zipfile; print(*zipfile.ZipFile('/s.zip').namelist())"])
        .stdout()
    ).split()
    assert f"swagger-ui-{version}/dist/swagger-ui-bundle.js" in listing
    assert f"swagger-ui-{version}/dist/index.html" in listing


async def test_missing_system_package_is_named(dynamo: Dynamo, dag) -> None:
    """A [builder] package neither in the image nor installable fails at container work, named."""
    from pipeline.context import DEFAULT_CONTEXT

    text = DEFAULT_CONTEXT.read_text().replace('apt = ["clang", "libclang-dev"]', 'apt = ["clang", "no-such-pkg-dynamo"]')
    assert "no-such-pkg-dynamo" in text
    broken = Dynamo(source=dynamo.source, overlay=dynamo.overlay,
                    context_file=dag.directory().with_new_file("context.toml", text).file("context.toml"))
    with pytest.raises(dagger.ExecError) as raised:
        await (await broken.rust().builder()).sync()
    assert raised.value.stderr.strip().splitlines()[-1].startswith("missing system package(s): no-such-pkg-dynamo: ")


async def test_features_reach_cargo(dynamo: Dynamo, dag, offline_context) -> None:
    """A member feature is passed to cargo: dynamo-run reports it at run time."""
    built = await dynamo.rust().build(features=["dynamo-run/cuda", "tokio-console"])
    banner = await (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_file("/usr/local/bin/dynamo-run", built.artifacts.file("dynamo-run"))
        .with_exec(["dynamo-run"])
        .stdout()
    )
    assert "device=cuda" in banner and "tokio-console=true" in banner


async def test_rust_tests_pass(dynamo: Dynamo) -> None:
    """cargo test over the workspace runs the crates' tests."""
    run = await dynamo.rust().test()
    assert "test result: ok" in run.output
    assert "FAILED" not in run.output


async def test_fmt_and_clippy_checks_pass(dynamo: Dynamo) -> None:
    """The @check functions succeed on the clean example workspace."""
    await dynamo.rust().fmt()
    await dynamo.rust().clippy()


async def test_unknown_feature_is_refused_before_building(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match=r"no feature 'rocm'.*cuda"):
        await dynamo.rust().build(features=["dynamo-run/rocm"])


async def test_unknown_profile_and_bad_target_are_refused(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match="unknown profile 'fastest'"):
        await dynamo.rust().build(profile="fastest")
    with pytest.raises(PipelineInputError, match="not a target triple"):
        await dynamo.rust().build(target="x86")


async def test_missing_cargo_toml_is_a_clear_error(dynamo: Dynamo, dag) -> None:
    empty = Dynamo(source=dag.directory().with_new_file("README.md", "not a checkout"), overlay=dynamo.overlay)
    with pytest.raises(PipelineInputError, match="Cargo.toml: not found"):
        await empty.rust().build()


async def test_a_rust_workspace_that_is_not_dynamo_is_refused(dynamo: Dynamo, dag) -> None:
    other = dag.directory().with_new_file(
        "Cargo.toml", '[package]\nname = "other"\nversion = "0.1.0"\nedition = "2021"\n'
    ).with_new_file("src/main.rs", "fn main() {}\n")
    with pytest.raises(PipelineInputError, match=r"not Dynamo: neither lib/bindings/c/Cargo.toml nor lib/bindings/python"):
        await Dynamo(source=other, overlay=dynamo.overlay).rust().build()


async def test_fmt_check_fails_on_unformatted_code(dynamo: Dynamo) -> None:
    """The fmt check is a real gate: a badly formatted file fails it."""
    import dagger

    path = "lib/runtime/src/lib.rs"
    text = await dynamo.source.file(path).contents()
    unformatted = Dynamo(
        source=dynamo.source.with_new_file(path, text + "\npub fn  badly_spaced( ){ }\n"), overlay=dynamo.overlay
    )
    with pytest.raises(dagger.ExecError, match="exit code: 1"):
        await unformatted.rust().fmt()


async def test_sccache_redis_backend_with_a_secret_password(dynamo: Dynamo, dag, offline_context) -> None:
    """A Redis service as sccache's remote backend, its password a Secret: the second build of
    a fresh edit hits what the first one stored, and the password shows up nowhere."""
    plaintext = f"redis-{uuid.uuid4().hex}"
    password = dag.set_secret("sccache-redis-password", plaintext)
    redis = (
        dag.container()
        .from_(offline_context.image("redis").pinned)
        .with_secret_variable("REDIS_PASSWORD", password)
        .with_exposed_port(6379)
        .as_service(args=["sh", "-c", 'exec redis-server --protected-mode no --requirepass "$REDIS_PASSWORD"'])
    )
    # Started here, so both builds talk to one Redis instance and its memory.
    await redis.start()
    try:
        # Each build empties the target directory first, so only Redis can serve the crates.
        first_source, second_source = await touched(dynamo), await touched(dynamo)
        first = await first_source.rust().build(sccache_redis=redis, sccache_redis_password=password, clean=True)
        second = await second_source.rust().build(sccache_redis=redis, sccache_redis_password=password, clean=True)
    finally:
        await redis.stop()
    first_stats = json.loads(first.report)["steps"][0]["sccache"]
    second_stats = json.loads(second.report)["steps"][0]["sccache"]
    assert "redis" in first_stats["location"].lower()
    assert first_stats["misses"] > 0
    assert second_stats["hits"] > 0
    for run in (first, second):
        assert plaintext not in run.output and plaintext not in run.report


def _checkout_copy(dag, tmp_path, name: str, edits: dict[str, str]):
    """A host copy of the example with `edits` appended, imported as `--source` is (keyed by content)."""
    import shutil

    from pipeline.main import SOURCE_IGNORE
    from tests.conftest import EXAMPLE_WORKSPACE

    copy = tmp_path / name
    shutil.copytree(EXAMPLE_WORKSPACE, copy, ignore=shutil.ignore_patterns("target", ".git"))
    for path, line in edits.items():
        with (copy / path).open("a") as handle:
            handle.write(line)
    return dag.host().directory(str(copy), exclude=SOURCE_IGNORE)


async def test_a_python_only_edit_leaves_the_cargo_exec_cached(dynamo: Dynamo, dag, tmp_path) -> None:
    """cargo sees the checkout without its Python (and Go) files, a view keyed by content: after a
    Python-only edit the build is the cached exec (its output, with the first run's Compiling
    lines, comes back as it was) instead of a rerun that prints only `Finished`."""
    rust_line = f"// view test {uuid.uuid4().hex}\n"
    first_tree = _checkout_copy(dag, tmp_path, "first", {"lib/llm/src/lib.rs": rust_line})
    python_edit = {"lib/llm/src/lib.rs": rust_line, "components/src/dynamo/frontend/__init__.py": "# edited\n",
                   "lib/bindings/python/src/dynamo/runtime/__init__.py": "# edited\n"}
    second_tree = _checkout_copy(dag, tmp_path, "second", python_edit)
    first = await Dynamo(source=first_tree, overlay=dynamo.overlay).rust().build(profile="dev")
    assert "Compiling dynamo-llm" in first.output, first.output
    second = await Dynamo(source=second_tree, overlay=dynamo.overlay).rust().build(profile="dev")
    assert second.output == first.output

    view = Dynamo(source=second_tree, overlay=dynamo.overlay).rust()._cargo_source()
    assert await view.glob("**/*.py") == []
    assert await view.exists("lib/llm/src/lib.rs") and await view.exists("Cargo.lock")
    assert not await view.exists("deploy") and not await view.exists("pyproject.toml")


async def test_tests_build_in_the_dev_builds_tree_without_debug_info(dynamo: Dynamo) -> None:
    """`rust test` compiles into the tree `rust build --profile dev` fills (the test profile is dev's,
    the target arguments the same), so on a real workspace it reuses every dependency the build
    compiled; in another tree it would compile them all again, and a shared sccache would miss them.
    Its binaries run once and are never exported, its examples never run: linked without DWARF
    (upstream's 37 integration tests weigh 770 to 824 MB each with it), their symbols kept for
    backtraces; the dev build's own binaries keep their debug info."""
    state = await touched(dynamo)
    build = await state.rust().build(profile="dev")
    run = await state.rust().test()
    assert "test result: ok" in run.output, run.output
    assert len(re.findall(r"Running unittests \S+ \((\S+)\)", run.output)) >= 4, run.output
    binaries = re.findall(r"Running (?:unittests )?\S+ \((\S+)\)", run.output)
    # The builder's own triple takes no --target (target_args): one tree, host and target sides shared.
    assert all(path.startswith(f"{TARGET_DIR}/debug/deps/") for path in binaries), binaries
    rust = state.rust()
    inspect = (await rust._with_target_dir(await rust._builder(), ".")).with_file("/tmp/dynamo-run", build.artifacts.file("dynamo-run"))
    # Per binary: its path, whether it has a .debug_info section, and how many function symbols it keeps.
    facts = 'for f in "$@"; do echo "$f $(readelf -S -W "$f" | grep -c " .debug_info ") $(readelf -s -W "$f" | grep -c " FUNC ")"; done'
    # `cargo test` also links the workspace's Cargo examples (upstream's lib/runtime has several).
    find_examples = ["find", f"{TARGET_DIR}/debug/examples", "-maxdepth", "1", "-type", "f", "-perm", "-u+x"]
    examples = (await inspect.with_exec(find_examples).stdout()).split()
    assert any(path.startswith(f"{TARGET_DIR}/debug/examples/endpoint_address") for path in examples), examples
    listing = await inspect.with_exec(["sh", "-c", facts, "sh", "/tmp/dynamo-run", *binaries, *examples]).stdout()
    rows = {path: (int(debug), int(functions)) for path, debug, functions in (line.split() for line in listing.splitlines())}
    assert rows.pop("/tmp/dynamo-run")[0] == 1, listing
    assert rows and all(debug == 0 and functions > 100 for debug, functions in rows.values()), listing


async def test_cargos_package_cache_lock_is_one_for_every_container(dynamo: Dynamo, dag) -> None:
    """While one container holds cargo's package-cache lock, cargo in another finds it held: the lock
    is on the shared registry volume, not in each container's own CARGO_HOME. Without that, cargo in
    two containers unpacked the same crates at once on upstream's cold build-all (`failed to unpack
    package`), the root workspace's build beside the bindings' maturin."""
    registry = dag.cache_volume(f"registry-lock-{uuid.uuid4().hex}")  # its own: no other test's cargo waits on it
    toolchain = (await dynamo.rust()._toolchain()).with_mounted_cache(f"{CARGO_HOME}/registry", registry)
    lock = f"{CARGO_HOME}/.package-cache"
    try_lock = ["sh", "-c", f"if flock -n -x {lock} true; then echo free; else echo held; fi"]
    holder = toolchain.with_exposed_port(8000).as_service(
        args=["flock", "-x", lock, f"{TOOLS_PREFIX}/bin/python", "-m", "http.server", "8000"]
    )
    assert (await toolchain.with_exec(try_lock).stdout()).strip() == "free"  # first: a holder outlives its use
    assert (await toolchain.with_service_binding("holder", holder).with_exec(try_lock).stdout()).strip() == "held"


async def test_the_overlays_skipped_rust_tests_do_not_run(dynamo: Dynamo, dag) -> None:
    """An overlay's [tests] rust_skip reaches libtest: the named test does not run, the others do,
    and the report's step says what was skipped (the offline overlay skips a test needing the internet)."""
    text = await dynamo.overlay.contents()
    skipping = re.sub(r"(?ms)^rust_skip = \[.*?\]", 'rust_skip = ["kv_prefix_overlap_stops_at_first_mismatch"]', text)
    assert skipping != text
    overlay = dag.directory().with_new_file("overlay.toml", skipping).file("overlay.toml")
    run = await Dynamo(source=dynamo.source, overlay=overlay).rust().test()
    assert "kv_prefix_overlap_stops_at_first_mismatch" not in run.output
    assert "test tests::chat_prompt_ends_with_assistant_turn ... ok" in run.output
    assert re.search(r"test result: ok\. \d+ passed; 0 failed; 0 ignored; 0 measured; 1 filtered out", run.output), run.output
    step = json.loads(run.report)["steps"][0]["name"]
    assert step == "cargo test (skipping kv_prefix_overlap_stops_at_first_mismatch)"
