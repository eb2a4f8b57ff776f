"""go.mod/go.sum facts and the C header/library check (plain Python, no engine)."""

from __future__ import annotations

import pytest

from modules.c_library import declared_functions, defined_symbols, undefined_declarations
from modules.go_toolchain import ldflags
from modules.gomod import GoMod, GoModuleError, go_version_matches, go_version_tuple

GO_MOD = """module github.com/ai-dynamo/dynamo/deploy/operator

go 1.25.0

require (
\tgithub.com/ai-dynamo/dynamo/deploy/snapshot v0.0.0
\tgithub.com/google/uuid v1.6.0 // indirect
)

require golang.org/x/sync v0.10.0

replace github.com/ai-dynamo/dynamo/deploy/snapshot => ../snapshot
"""
GO_SUM = """github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
golang.org/x/sync v0.10.0/go.mod h1:abc=
"""


def test_go_mod_is_parsed_with_blocks_comments_and_local_replaces() -> None:
    mod = GoMod.parse("deploy/operator/go.mod", GO_MOD)
    assert mod.module == "github.com/ai-dynamo/dynamo/deploy/operator"
    assert mod.go == "1.25.0"
    assert mod.requires == {
        "github.com/ai-dynamo/dynamo/deploy/snapshot": "v0.0.0",
        "github.com/google/uuid": "v1.6.0",
        "golang.org/x/sync": "v0.10.0",
    }
    assert mod.local_replaces == {"github.com/ai-dynamo/dynamo/deploy/snapshot": "../snapshot"}


def test_go_sum_must_cover_every_required_module_but_local_replaces() -> None:
    mod = GoMod.parse("deploy/operator/go.mod", GO_MOD)
    mod.check_sum("deploy/operator/go.sum", GO_SUM)
    without_uuid = "\n".join(line for line in GO_SUM.splitlines() if "uuid" not in line)
    with pytest.raises(GoModuleError, match=r"deploy/operator/go.sum: missing go.sum entry for github.com/google/uuid v1.6.0"):
        mod.check_sum("deploy/operator/go.sum", without_uuid)
    with pytest.raises(GoModuleError, match=r"go.sum: not found, but deploy/operator/go.mod requires"):
        mod.check_sum("deploy/operator/go.sum", None)


def test_go_mod_without_module_or_go_directive_is_refused() -> None:
    with pytest.raises(GoModuleError, match="no module directive"):
        GoMod.parse("go.mod", "go 1.24\n")
    with pytest.raises(GoModuleError, match="no go directive"):
        GoMod.parse("go.mod", "module example.com/x\n")


def test_go_version_pin_must_reach_the_go_directive() -> None:
    mod = GoMod.parse("deploy/operator/go.mod", GO_MOD)
    mod.check_go_version("1.25", "tools.go_operator")
    mod.check_go_version("1.26.8", "tools.go_operator")
    with pytest.raises(GoModuleError, match=r"needs go 1.25.0, but tools.go_operator pins Go 1.24"):
        mod.check_go_version("1.24", "tools.go_operator")
    assert go_version_tuple("go1.25.3") == (1, 25, 3)


@pytest.mark.parametrize(
    ("pinned", "reported", "ok"),
    [("1.25", "go1.25.3", True), ("1.25", "go1.25", True), ("1.25.3", "go1.25.3", True),
     ("1.25.3", "go1.25.4", False), ("1.25", "go1.24.9", False), ("1.2", "go1.25.0", False)],
)
def test_go_version_matches_minor_or_exact_pins(pinned: str, reported: str, ok: bool) -> None:
    assert go_version_matches(pinned, reported) is ok


HEADER = """/* C API */
#ifndef H
#define H
#include <stdint.h>
const char *dynamo_llm_version(void);
uint32_t dynamo_kv_score(const uint64_t *request_blocks, size_t request_len,
                         const uint64_t *cached_blocks, size_t cached_len);
// int commented_out(void);
#endif
"""
NM = """
lib.o:
0000000000000000 T dynamo_llm_version
0000000000000010 T dynamo_kv_score
                 U memcpy
other.o:
0000000000000000 t helper
"""


def test_header_declarations_and_library_symbols() -> None:
    assert declared_functions(HEADER) == {"dynamo_llm_version", "dynamo_kv_score"}
    assert {"dynamo_llm_version", "dynamo_kv_score"} <= defined_symbols(NM)
    assert "memcpy" not in defined_symbols(NM)
    assert undefined_declarations("llm_engine.h", HEADER, "libx.a", NM) is None


def test_header_declaring_what_the_library_lacks_is_named() -> None:
    header = HEADER.replace("#endif", "int64_t dynamo_count_tokens(const char *text);\n#endif")
    message = undefined_declarations("llm_engine.h", header, "libdynamo_llm_capi.a", NM)
    assert message == (
        "llm_engine.h declares dynamo_count_tokens, which libdynamo_llm_capi.a does not define: "
        "the header and the library come from different builds"
    )
    assert "declares no functions" in undefined_declarations("x.h", "/* nothing */", "libx.a", NM)


def test_ldflags_strip_and_stamp() -> None:
    assert ldflags({"main.version": "1.1.0", "main.commit": "abc1234"}) == (
        "-s -w -X main.version=1.1.0 -X main.commit=abc1234"
    )
    with pytest.raises(ValueError, match="main.version"):
        ldflags({"main.version": "1 1"})
