"""The compliance stage on the real engine: lock files, cargo-deny, attributions, bad input."""

from __future__ import annotations

import dagger
import pytest

from pipeline import Dynamo
from pipeline.compliance import Compliance
from pipeline.errors import CheckFailed, PipelineInputError

OPERATOR = "deploy/operator"
PLANTED_ADVISORY = "RUSTSEC-2099-0001"
ADVISORY_DB_URL = "git://advisory-db/advisory-db.git"

# One advisory in RustSec's format (crates/<crate>/<id>.md, TOML front matter), affecting every
# version below 99.0.0 of the crate.
ADVISORY = """```toml
[advisory]
id = "{id}"
package = "{crate}"
date = "2099-01-01"
url = "https://example.invalid/{id}"
categories = ["memory-corruption"]
keywords = ["planted"]

[versions]
patched = [">= 99.0.0"]
```

# Planted advisory for {crate}

An advisory made by the test, for a crate the example's lock file has.
"""

# A bare repository holding the database (one commit), exported by git daemon.
MAKE_DB = """set -eu
git init -q -b main /tmp/db
mkdir -p "/tmp/db/crates/$1"
cp /tmp/advisory.md "/tmp/db/crates/$1/$2.md"
git -C /tmp/db -c user.name=test -c user.email=test@example.invalid add -A
git -C /tmp/db -c user.name=test -c user.email=test@example.invalid commit -qm "$2"
git clone -q --bare /tmp/db /srv/git/advisory-db.git
"""


def advisory_db(dag, offline_context, crate: str) -> dagger.Service:
    """A git daemon (Debian's git) serving a RustSec-format database with one advisory for `crate`."""
    from modules.system_packages import with_system_packages

    return (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_(lambda ctr: with_system_packages(ctr, {"apt": ("git",)}))
        .with_new_file("/tmp/advisory.md", ADVISORY.format(id=PLANTED_ADVISORY, crate=crate))
        .with_exec(["sh", "-c", MAKE_DB, "make-db", crate, PLANTED_ADVISORY])
        .with_exposed_port(9418)
        .as_service(args=["git", "daemon", "--reuseaddr", "--export-all", "--base-path=/srv/git", "/srv/git"])
    )


def with_files(dynamo: Dynamo, files: dict[str, str | None]) -> Compliance:
    """The compliance stage on the example with files replaced (text) or removed (None)."""
    source = dynamo.source
    for path, text in files.items():
        source = source.without_file(path) if text is None else source.with_new_file(path, text)
    return Compliance(source=source, overlay=dynamo.overlay)


async def test_example_lock_files_are_in_sync(dynamo: Dynamo) -> None:
    """Both Cargo.locks and both go.sums pass the tools; the missing uv.lock is only reported."""
    compliance = dynamo.compliance()
    assert (await compliance.lockfiles_report()).splitlines() == ["warning: uv.lock: missing; run `uv lock` and commit it"]
    await compliance.lockfiles()
    with pytest.raises(CheckFailed, match="uv.lock: missing"):
        await compliance.lockfiles(require_uv_lock=True)


async def test_stale_and_missing_locks_are_named(dynamo: Dynamo) -> None:
    """A bumped workspace version (Cargo.lock stale), an import go.mod no longer requires (not
    tidy), and a deleted go.sum each fail with the file and the command that fixes it."""
    cargo = await dynamo.source.file("Cargo.toml").contents()
    go_mod = await dynamo.source.file(f"{OPERATOR}/go.mod").contents()
    untidy = go_mod.replace("\tgithub.com/google/uuid v1.6.0\n", "")
    assert untidy != go_mod
    broken = with_files(dynamo, {
        "Cargo.toml": cargo.replace('version = "1.1.0"', 'version = "1.2.0"', 1),
        f"{OPERATOR}/go.mod": untidy,
        "deploy/inference-gateway/epp/go.sum": None,
    })
    with pytest.raises(CheckFailed) as error:
        await broken.lockfiles()
    message = str(error.value)
    assert "Cargo.lock: out of sync with Cargo.toml" in message and "cargo update --workspace" in message
    assert f"{OPERATOR}/go.sum: go.mod/go.sum not tidy (" in message and "github.com/google/uuid" in message
    assert "deploy/inference-gateway/epp/go.sum: missing; run `go mod tidy`" in message


async def test_cargo_deny_passes_on_the_example(dynamo: Dynamo) -> None:
    await dynamo.compliance().licenses()


async def test_planted_license_fails_naming_crate_and_license(dynamo: Dynamo) -> None:
    manifest = await dynamo.source.file("lib/llm/Cargo.toml").contents()
    planted = with_files(dynamo, {"lib/llm/Cargo.toml": manifest.replace("license.workspace = true", 'license = "GPL-3.0-only"')})
    with pytest.raises(CheckFailed) as error:
        await planted.licenses()
    assert "dynamo-llm 1.1.0" in str(error.value) and "GPL-3.0-only" in str(error.value)
    assert "deny.toml [licenses] allow" in str(error.value)


async def test_banned_crate_is_named(dynamo: Dynamo) -> None:
    config = await dynamo.source.file("deny.toml").contents()
    banned = with_files(dynamo, {"deny.toml": config.replace('{ name = "native-tls" },', '{ name = "native-tls" },\n    { name = "libc" },')})
    found = await banned.deny()
    assert "libc" in found and "(banned)" in found and found.startswith("lib/bindings/python: ")


async def test_bad_input_is_one_line(dynamo: Dynamo) -> None:
    with pytest.raises(PipelineInputError, match=r"^deny.toml: not found at the root") as error:
        await with_files(dynamo, {"deny.toml": None}).deny()
    assert "\n" not in str(error.value)
    with pytest.raises(PipelineInputError, match=r"^lib/bindings/python/Cargo.lock: not found; run `cargo generate-lockfile`"):
        await with_files(dynamo, {"lib/bindings/python/Cargo.lock": None}).rust_attributions()
    with pytest.raises(PipelineInputError, match=rf"^{OPERATOR}/go.mod:3: go directive 'latest'"):
        await with_files(dynamo, {f"{OPERATOR}/go.mod": "module m\n\ngo latest\n"}).go_attributions()
    with pytest.raises(PipelineInputError, match=r"^advisory database 'file:///srv/advisory-db': cargo-deny needs a git URL with a host"):
        await dynamo.compliance().deny(checks=["advisories"], advisory_db="file:///srv/advisory-db")
    with pytest.raises(PipelineInputError, match=r"^cargo-deny check 'audit' unknown; checks: licenses, bans, sources, advisories$"):
        await dynamo.compliance().deny(checks=["audit"])


async def test_attributions_are_generated_and_current(dynamo: Dynamo) -> None:
    """Rust: the bindings' crates with license texts; Go: uuid (BSD-3-Clause). The committed files
    match; a stale committed file fails naming the package."""
    compliance = dynamo.compliance()
    rust = await (await compliance.rust_attributions()).contents()
    assert "### pyo3 0.23.5" in rust and "**License**: MIT OR Apache-2.0" in rust and "#### LICENSE-APACHE" in rust
    assert "dynamo-llm" not in rust  # first-party crates are not third-party attributions
    go = await (await compliance.go_attributions()).contents()
    assert "### github.com/google/uuid v1.6.0\n**License**: BSD-3-Clause" in go
    await compliance.attributions_current()

    stale = with_files(dynamo, {"ATTRIBUTIONS-Rust.md": rust.replace("### pyo3 0.23.5", "### pyo3 0.23.4")})
    with pytest.raises(CheckFailed, match=r"ATTRIBUTIONS-Rust.md: pyo3: version 0.23.4 -> 0.23.5"):
        await stale.attributions_current()
    missing = with_files(dynamo, {"ATTRIBUTIONS-Go.md": None})
    assert "ATTRIBUTIONS-Go.md: not committed" in await missing.attribution_changes()


async def test_python_and_container_attributions_of_a_small_image(dynamo: Dynamo, dag, offline_context) -> None:
    """An image with one pip-installed package: both attribution files list it, the container one
    also the Debian packages with their licenses."""
    image = (
        dag.container()
        .from_(offline_context.image("python").pinned)
        .with_exec(["python3", "-m", "pip", "install", "--no-deps", "--no-cache-dir", "six==1.17.0"])
    )
    compliance = dynamo.compliance()
    python = await (await compliance.python_attributions([image])).contents()
    assert "### six 1.17.0\n**License**: MIT" in python and "#### LICENSE" in python
    container_file = await compliance.container_attributions(image, "smoke")
    assert await container_file.name() == "ATTRIBUTIONS-container-smoke.md"
    text = await container_file.contents()
    assert "## OS packages" in text and "### libc6 " in text and "### six 1.17.0" in text
    with pytest.raises(PipelineInputError, match="container name 'Smoke Test'"):
        await compliance.container_attributions(image, "Smoke Test")



async def test_python_and_container_attributions_of_the_example_images(dynamo: Dynamo, package_index) -> None:
    """The example's dynamo runtime and frontend images, as the Image stage builds them: NIXL's real
    wheels (from PyPI) with their license files, the CUDA base's Debian packages; the committed files
    in upstream's names are current, and a stale one fails naming the package."""
    compliance = dynamo.compliance()
    generated = await compliance.image_attributions(**package_index)
    assert sorted(await generated.entries()) == [
        "ATTRIBUTIONS-Python.md", "ATTRIBUTIONS-container-dynamo-runtime.md", "ATTRIBUTIONS-container-frontend.md",
    ]
    python = await generated.file("ATTRIBUTIONS-Python.md").contents()
    nixl = next(line for line in python.splitlines() if line.startswith("### nixl-cu12 "))
    assert "### ai-dynamo " not in python and "### ai-dynamo-runtime " not in python  # first party
    runtime = await generated.file("ATTRIBUTIONS-container-dynamo-runtime.md").contents()
    assert "## OS packages" in runtime and "### libc6 " in runtime and nixl in runtime
    frontend = await generated.file("ATTRIBUTIONS-container-frontend.md").contents()
    assert nixl in frontend and "### base-files " in frontend
    await compliance.image_attributions_current(**package_index)

    stale = with_files(dynamo, {"ATTRIBUTIONS-Python.md": python.replace(nixl, "### nixl-cu12 0.0.1")})
    version = nixl.split()[-1]
    with pytest.raises(CheckFailed, match=rf"ATTRIBUTIONS-Python.md: nixl-cu12: version 0.0.1 -> {version}"):
        await stale.image_attributions_current(**package_index)


async def test_advisories_from_a_local_git_server_name_crate_and_id(dynamo: Dynamo, dag, offline_context) -> None:
    """cargo-deny fetches the database over git:// from a service the test starts: a planted
    advisory for pyo3 (in lib/bindings/python/Cargo.lock) fails the check naming crate and ID; the
    same database with the advisory on a crate no lock file has passes."""
    compliance = dynamo.compliance()
    with pytest.raises(CheckFailed) as failed:
        await compliance.advisories(ADVISORY_DB_URL, advisory_db(dag, offline_context, "pyo3"))
    message = str(failed.value)
    assert f"lib/bindings/python: pyo3 0.23.5: Planted advisory for pyo3 [{PLANTED_ADVISORY}] (vulnerability)" in message
    assert "[advisories] ignore" in message
    await compliance.advisories(ADVISORY_DB_URL, advisory_db(dag, offline_context, "dynamo-pipeline-absent"))
