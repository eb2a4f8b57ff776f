"""The Rust toolchain's test linker, run on the host with a `cc` that records what it is given."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from modules.rust_toolchain import TEST_LINKER_SCRIPT, linker_variable


@pytest.fixture
def link(tmp_path: Path):
    """Run the linker script with a `cc` on PATH that prints its arguments, one per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cc").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (bin_dir / "cc").chmod(0o755)
    script = tmp_path / "link-tests-stripped"
    script.write_text(TEST_LINKER_SCRIPT)
    script.chmod(0o755)

    def run(*args: str) -> list[str]:
        done = subprocess.run([str(script), *args], capture_output=True, text=True, check=True,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
        return done.stdout.splitlines()

    return run


def test_a_binary_that_links_libtest_is_stripped_of_debug_info(link) -> None:
    args = ["-fuse-ld=lld", "/t/deps/it.o", "/sysroot/lib/libtest-0a1b2c.rlib", "-o", "/t/deps/it-9f"]
    assert link(*args) == [*args, "-Wl,--strip-debug"]


def test_other_binaries_and_libraries_keep_their_debug_info(link) -> None:
    args = ["/t/deps/run.o", "/t/deps/libdynamo_llm-77.rlib", "/t/deps/libtestlib-1.rlib", "-o", "/t/deps/dynamo_run-3"]
    assert link(*args) == args


def test_a_response_file_is_read_for_libtest(link, tmp_path: Path) -> None:
    """rustc passes the arguments in an @file when the command line is too long."""
    with_libtest, without = tmp_path / "with", tmp_path / "without"
    with_libtest.write_text("/t/deps/it.o\n/sysroot/lib/libtest-0a1b2c.rlib\n")
    without.write_text("/t/deps/run.o\n/sysroot/lib/libstd-3d.rlib\n")
    assert link(f"@{with_libtest}") == [f"@{with_libtest}", "-Wl,--strip-debug"]
    assert link(f"@{without}") == [f"@{without}"]


def test_a_cargo_example_is_stripped_of_debug_info(link) -> None:
    """`cargo test` links the workspace's examples (never run): their output is under examples/."""
    args = ["/t/debug/examples/pool-4e.o", "/t/debug/deps/libdynamo_runtime-1.rlib", "-o", "/t/debug/examples/pool-4e"]
    assert link(*args) == [*args, "-Wl,--strip-debug"]


def test_only_the_output_path_names_an_example(link, tmp_path: Path) -> None:
    """An input under some examples/ directory (a build script's -L) does not make a binary an example."""
    args = ["-L", "/src/examples/native", "/t/deps/run.o", "-o", "/t/debug/deps/dynamo_run-3"]
    assert link(*args) == args
    example, other = tmp_path / "example", tmp_path / "other"
    example.write_text("/t/debug/examples/pool-4e.o\n-o\n/t/debug/examples/pool-4e\n")
    other.write_text("-L\n/src/examples/native\n-o\n/t/debug/deps/dynamo_run-3\n")
    assert link(f"@{example}") == [f"@{example}", "-Wl,--strip-debug"]
    assert link(f"@{other}") == [f"@{other}"]


def test_linker_variable_names_cargos_target_linker() -> None:
    assert linker_variable("x86_64-unknown-linux-gnu") == "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER"
    assert linker_variable("aarch64-unknown-linux-gnu") == "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"
