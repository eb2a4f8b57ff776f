"""Wheel names, contents and glibc symbol versions (modules/wheels.py)."""

from __future__ import annotations

import pytest

from modules.wheels import WheelError, WheelName, check_wheel, policy_glibc, symbols_above_policy

RUNTIME = "ai_dynamo_runtime-1.1.0-cp310-abi3-manylinux_2_28_x86_64.whl"
PURE = "ai_dynamo-1.1.0-py3-none-any.whl"
RUNTIME_MEMBERS = [
    "dynamo/__init__.py",
    "dynamo/_core.abi3.so",
    "ai_dynamo_runtime-1.1.0.dist-info/METADATA",
    "ai_dynamo_runtime-1.1.0.dist-info/WHEEL",
    "ai_dynamo_runtime-1.1.0.dist-info/RECORD",
]
PURE_MEMBERS = [
    "dynamo/frontend/__init__.py",
    "dynamo/frontend/_version.py",
    "ai_dynamo-1.1.0.dist-info/METADATA",
    "ai_dynamo-1.1.0.dist-info/WHEEL",
    "ai_dynamo-1.1.0.dist-info/RECORD",
]

# Shaped like GNU objdump 2.40 `objdump -T` output: a tab after *UND*, version in parentheses.
OBJDUMP = (
    "\n_core.abi3.so:     file format elf64-x86-64\n\nDYNAMIC SYMBOL TABLE:\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.34) __libc_start_main\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) memcpy\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.28) fcntl64\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.3.4) __snprintf_chk\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.38) __isoc23_strtol\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.34) pthread_create\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.34) __libc_start_main\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GCC_3.0)    _Unwind_Resume\n"
    "0000000000000000      DF *UND*\t0000000000000000 (GLIBCXX_3.4.32) _ZSt21ios_base_library_initv\n"
    "0000000000000000  w   DF *UND*\t0000000000000000 (GLIBC_2.2.5) __cxa_finalize\n"
    "0000000000000000  w   D  *UND*\t0000000000000000  Base        __gmon_start__\n"
    "00000000000a1b20 g    DF .text\t0000000000000123  Base        PyInit__core\n"
)


# --- WheelName -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "parts"),
    [
        (RUNTIME, ("ai_dynamo_runtime", "1.1.0", "cp310", "abi3", "manylinux_2_28_x86_64")),
        (PURE, ("ai_dynamo", "1.1.0", "py3", "none", "any")),
        (
            "x-1.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            ("x", "1.0", "cp310", "abi3", "manylinux_2_17_x86_64.manylinux2014_x86_64"),
        ),
        ("ai_dynamo-1.1.0-1build-py3-none-any.whl", ("ai_dynamo", "1.1.0", "py3", "none", "any")),
        ("ai_dynamo-1.1.0+0123abc-py3-none-any.whl", ("ai_dynamo", "1.1.0+0123abc", "py3", "none", "any")),
    ],
    ids=["runtime", "pure", "compressed-platform", "build-tag", "local-version"],
)
def test_parse_good_names(filename: str, parts: tuple[str, ...]) -> None:
    name = WheelName.parse(filename)
    assert name.filename == filename
    assert (name.distribution, name.version, name.python, name.abi, name.platform) == parts


def test_compressed_platform_tags() -> None:
    name = WheelName.parse("x-1.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert name.platforms == {"manylinux_2_17_x86_64", "manylinux2014_x86_64"}
    assert WheelName.parse(PURE).platforms == {"any"}


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "ai_dynamo-1.1.0.tar.gz",
        "ai_dynamo-1.1.0-py3-none-any.zip",
        "ai_dynamo-1.1.0-py3-none.whl",
        "ai_dynamo-py3-none-any.whl",
        "ai_dynamo-1.1.0-build-py3-none-any.whl",
        "ai_dynamo-1.1.0-1-2-py3-none-any.whl",
        "dist/ai_dynamo-1.1.0-py3-none-any.whl.part",
        "ai_dynamo-1.1.0--none-any.whl",
    ],
    ids=["empty", "sdist", "zip", "four-parts", "no-version", "build-tag-not-digit", "seven-parts",
         "partial-download", "empty-python-tag"],
)
def test_parse_bad_names(filename: str) -> None:
    with pytest.raises(WheelError, match=r"not a wheel file name \(name-version-python-abi-platform\.whl\)"):
        WheelName.parse(filename)


# --- glibc policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "glibc"), [("manylinux_2_28", (2, 28)), ("manylinux_2_17", (2, 17)),
                                                ("manylinux_2_5", (2, 5)), ("manylinux_3_0", (3, 0))])
def test_policy_glibc(policy: str, glibc: tuple[int, int]) -> None:
    assert policy_glibc(policy) == glibc


@pytest.mark.parametrize(
    "policy", ["manylinux2014", "manylinux_2_28_x86_64", "musllinux_1_2", "manylinux_2", "", "linux_x86_64"]
)
def test_bad_policy(policy: str) -> None:
    with pytest.raises(WheelError, match="is not a PEP 600 policy name like manylinux_2_28"):
        policy_glibc(policy)


def test_symbols_above_2_28() -> None:
    """Only glibc versions newer than the policy, named with version, sorted and deduplicated."""
    assert symbols_above_policy(OBJDUMP, "manylinux_2_28") == [
        "__isoc23_strtol (GLIBC_2.38)",
        "__libc_start_main (GLIBC_2.34)",
        "pthread_create (GLIBC_2.34)",
    ]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("manylinux_2_38", []),
        ("manylinux_2_34", ["__isoc23_strtol (GLIBC_2.38)"]),
        ("manylinux_2_17", ["__isoc23_strtol (GLIBC_2.38)", "__libc_start_main (GLIBC_2.34)",
                            "fcntl64 (GLIBC_2.28)", "pthread_create (GLIBC_2.34)"]),
        ("manylinux_2_2", ["__isoc23_strtol (GLIBC_2.38)", "__libc_start_main (GLIBC_2.34)",
                           "__snprintf_chk (GLIBC_2.3)", "fcntl64 (GLIBC_2.28)", "pthread_create (GLIBC_2.34)"]),
    ],
)
def test_symbols_above_other_policies(policy: str, expected: list[str]) -> None:
    """The limit is the policy's version itself: equal versions pass, newer ones are named."""
    assert symbols_above_policy(OBJDUMP, policy) == expected


def test_symbols_without_parentheses() -> None:
    """objdump prints some versions without parentheses."""
    text = "0000000000000000      DF *UND*\t0000000000000000  GLIBC_2.34  __libc_start_main\n"
    assert symbols_above_policy(text, "manylinux_2_28") == ["__libc_start_main (GLIBC_2.34)"]


def test_no_glibc_symbols() -> None:
    assert symbols_above_policy("", "manylinux_2_28") == []
    assert symbols_above_policy(OBJDUMP.replace("GLIBC_", "OTHER_"), "manylinux_2_17") == []


def test_symbols_bad_policy() -> None:
    with pytest.raises(WheelError, match="PEP 600"):
        symbols_above_policy(OBJDUMP, "manylinux_2_28_x86_64")


# --- check_wheel -----------------------------------------------------------------------------


def check_runtime(filename: str = RUNTIME, members: list[str] = RUNTIME_MEMBERS, **overrides) -> WheelName:
    """check_wheel with the runtime wheel's expectations, as the wheel stage calls it."""
    expectations = dict(
        python="cp310", abi="abi3", platform="manylinux_2_28_x86_64",
        required=["dynamo/_core.abi3.so"], forbidden_prefixes=("src/", "target/"),
    )
    return check_wheel(filename, list(members), **(expectations | overrides))


def test_good_runtime_wheel() -> None:
    assert check_runtime() == WheelName.parse(RUNTIME)


def test_good_runtime_wheel_with_compressed_platform() -> None:
    filename = "ai_dynamo_runtime-1.1.0-cp310-abi3-manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl"
    assert check_runtime(filename).platform == "manylinux_2_17_x86_64.manylinux_2_28_x86_64"


def test_good_pure_wheel() -> None:
    name = check_wheel(PURE, PURE_MEMBERS, python="py3", abi="none", platform="any", required=[])
    assert (name.distribution, name.version) == ("ai_dynamo", "1.1.0")


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("ai_dynamo_runtime-1.1.0-cp312-abi3-manylinux_2_28_x86_64.whl", "tags cp312-abi3, expected cp310-abi3"),
        ("ai_dynamo_runtime-1.1.0-cp310-cp310-manylinux_2_28_x86_64.whl", "tags cp310-cp310, expected cp310-abi3"),
        ("ai_dynamo_runtime-1.1.0-cp310-abi3-linux_x86_64.whl", "platform linux_x86_64, expected manylinux_2_28_x86_64"),
        ("ai_dynamo_runtime-1.1.0-cp310-abi3-manylinux_2_28_aarch64.whl",
         "platform manylinux_2_28_aarch64, expected manylinux_2_28_x86_64"),
    ],
)
def test_wrong_tags(filename: str, problem: str) -> None:
    with pytest.raises(WheelError) as raised:
        check_runtime(filename)
    assert str(raised.value) == f"{filename}: {problem}"


def test_missing_required_file() -> None:
    members = [m for m in RUNTIME_MEMBERS if not m.endswith(".so")]
    with pytest.raises(WheelError) as raised:
        check_runtime(members=members)
    assert str(raised.value) == f"{RUNTIME}: missing dynamo/_core.abi3.so"


@pytest.mark.parametrize("part", ["METADATA", "WHEEL", "RECORD"])
def test_missing_dist_info_file(part: str) -> None:
    members = [m for m in RUNTIME_MEMBERS if not m.endswith(f".dist-info/{part}")]
    with pytest.raises(WheelError) as raised:
        check_runtime(members=members)
    assert str(raised.value) == f"{RUNTIME}: missing ai_dynamo_runtime-1.1.0.dist-info/{part}"


def test_dist_info_of_another_version_does_not_count() -> None:
    members = [m.replace("1.1.0.dist-info", "1.0.0.dist-info") for m in RUNTIME_MEMBERS]
    with pytest.raises(WheelError, match=r"missing ai_dynamo_runtime-1\.1\.0\.dist-info/METADATA"):
        check_runtime(members=members)


@pytest.mark.parametrize("path", ["src/lib.rs", "target/release/libdynamo.so"])
def test_forbidden_prefix(path: str) -> None:
    with pytest.raises(WheelError) as raised:
        check_runtime(members=[*RUNTIME_MEMBERS, path])
    assert str(raised.value) == f"{RUNTIME}: unexpected {path}"


def test_forbidden_prefix_matches_only_at_the_start() -> None:
    assert check_runtime(members=[*RUNTIME_MEMBERS, "dynamo/src/x.py"]).distribution == "ai_dynamo_runtime"


def test_all_problems_are_reported_together() -> None:
    filename = "ai_dynamo_runtime-1.1.0-cp312-abi3-linux_x86_64.whl"
    with pytest.raises(WheelError) as raised:
        check_runtime(filename, ["src/main.rs"])
    message = str(raised.value)
    assert message.startswith(f"{filename}: tags cp312-abi3")
    for problem in ("platform linux_x86_64", "missing dynamo/_core.abi3.so",
                    "missing ai_dynamo_runtime-1.1.0.dist-info/RECORD", "unexpected src/main.rs"):
        assert problem in message
    assert message.count("; ") == 6


def test_bad_file_name_fails_first() -> None:
    with pytest.raises(WheelError, match="not a wheel file name"):
        check_runtime("ai_dynamo_runtime.tar.gz")
