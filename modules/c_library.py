"""A C header against the static library it describes: every declared function must be defined.

Plain Python: a stage runs `nm` in a container and judges its output here, so a mismatched pair fails
with the names instead of a linker dump.
"""

from __future__ import annotations

import re

# A function prototype at file scope: "<type> name(<params>);", possibly over several lines.
_PROTOTYPE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\([^;{)]*\)\s*;")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_PREPROCESSOR = re.compile(r"^\s*#.*$", re.M)
# nm line of a defined global text symbol: "0000000000000000 T dynamo_llm_version"
_NM_DEFINED = re.compile(r"^[0-9a-fA-F]*\s+[TtWiDdBbRr]\s+(\S+)$", re.M)
_NOT_FUNCTIONS = {"if", "while", "for", "switch", "return", "sizeof"}


def declared_functions(header_text: str) -> set[str]:
    """Names of the functions a C header declares."""
    code = _PREPROCESSOR.sub("", _COMMENT.sub("", header_text))
    return {name for name in _PROTOTYPE.findall(code) if name not in _NOT_FUNCTIONS}


def defined_symbols(nm_output: str) -> set[str]:
    """Global symbols `nm --defined-only` lists as defined."""
    return set(_NM_DEFINED.findall(nm_output))


def undefined_declarations(header_name: str, header_text: str, library_name: str, nm_output: str) -> str | None:
    """A one-line description of what the header declares and the library lacks; None when they fit."""
    declared = declared_functions(header_text)
    if not declared:
        return f"{header_name} declares no functions; is it the header of {library_name}?"
    missing = sorted(declared - defined_symbols(nm_output))
    if not missing:
        return None
    return (
        f"{header_name} declares {', '.join(missing)}, which {library_name} does not define: "
        "the header and the library come from different builds"
    )
