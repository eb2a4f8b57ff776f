"""Edits applied to the engine's source before building it from the Go module proxy.

The proxy this project builds from does not serve three modules the engine imports:
github.com/vito/dang/v2 (the Dang v2 module SDK), github.com/vito/tuist and a pseudo-version of
github.com/vito/midterm (the terminal UI, reached through dagql/idtui). Each edit cuts one such
import at its only use in the engine binary; nothing else in the engine changes. Every edit
asserts that its anchor text is present, so a version bump that moves the code fails loudly
instead of building something unexpected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceEdit:
    """Replace `old` with `new` in one file of the engine's module source."""

    path: str
    old: str
    new: str
    why: str

    def apply(self, root: Path) -> None:
        """Apply the edit in place; fail if the anchor text is missing or ambiguous."""
        target = root / self.path
        text = target.read_text()
        count = text.count(self.old)
        if count != 1:
            raise RuntimeError(
                f"engine source edit for {self.path} ({self.why}): anchor found {count} times, "
                "expected once; the pinned engine version and these edits disagree"
            )
        target.write_text(text.replace(self.old, self.new))


ENGINE_SOURCE_EDITS: tuple[SourceEdit, ...] = (
    SourceEdit(
        path="core/sdk/dang_sdk.go",
        old='\tdangv2 "github.com/dagger/dagger/core/sdk/dang/v2"\n',
        new="",
        why="github.com/vito/dang/v2 is not served: Dang modules get the v1 SDK",
    ),
    SourceEdit(
        path="core/sdk/dang_sdk.go",
        old="\t) {\n\t\treturn dangv2.Impl{}\n\t}\n",
        new="\t) {\n\t\treturn dangv1.Impl{}\n\t}\n",
        why="github.com/vito/dang/v2 is not served: Dang modules get the v1 SDK",
    ),
    SourceEdit(
        path="core/terminal.go",
        old='\t"github.com/dagger/dagger/dagql/idtui"\n',
        new="",
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal banner is plain text",
    ),
    SourceEdit(
        path="core/terminal.go",
        old="\toutput := idtui.NewOutput(term.Stderr)\n",
        new="\toutput := termenv.NewOutput(term.Stderr)\n",
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal banner is plain text",
    ),
    SourceEdit(
        path="core/terminal.go",
        old="output.String(idtui.DotFilled)",
        new='output.String("*")',
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal banner is plain text",
    ),
    SourceEdit(
        path="core/terminal.go",
        old="output.String(idtui.IconFailure)",
        new='output.String("x")',
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal banner is plain text",
    ),
    SourceEdit(
        path="core/terminal.go",
        old='\tdump := idtui.Dump{Newline: "\\r\\n", Prefix: "    "}\n',
        new='\tdump := struct{ Newline string }{Newline: "\\r\\n"}\n',
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal prints the plain call chain",
    ),
    SourceEdit(
        path="core/terminal.go",
        old="\tif err := dump.DumpID(output, dumpID); err != nil {\n"
        '\t\treturn nil, nil, fmt.Errorf("failed to serialize service ID: %w", err)\n\t}\n',
        new="\tfmt.Fprint(term.Stderr, \"    \"+dumpID.Display())\n",
        why="dagql/idtui needs github.com/vito/tuist: the debug terminal prints the plain call chain",
    ),
    SourceEdit(
        path="core/llm_replay.go",
        old='\t"github.com/dagger/dagger/util/scrub"\n',
        new="",
        why="util/scrub needs dagql/idtui: LLM replays compare messages verbatim",
    ),
    SourceEdit(
        path="core/llm_replay.go",
        old="scrub.Stabilize(message.Content) != scrub.Stabilize(c.messages[i].Content)",
        new="message.Content != c.messages[i].Content",
        why="util/scrub needs dagql/idtui: LLM replays compare messages verbatim",
    ),
)
