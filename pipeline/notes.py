"""Release notes from a git log, grouped by conventional-commit type like upstream's .github/release.yml.

Plain Python. The log is text (`git log --format='%h %s' v1.0.0..HEAD`): a module function cannot
read the caller's .git (the module's source is filtered and has none), and text works the same from
`dagger call --log="$(git log ...)"` and from a client-mode caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Upstream's categories, in its order; types not listed land in "Other Changes", `style` is dropped.
CATEGORIES = (
    ("🚀 Features & Improvements", ("feat", "perf", "refactor")),
    ("🐛 Bug Fixes", ("fix", "revert")),
    ("📚 Documentation", ("docs",)),
    ("🛠️ Build, CI, Test, and Chores", ("build", "ci", "test", "chore")),
)
OTHER = "Other Changes"
EXCLUDED = ("style",)

_SHA = re.compile(r"[0-9a-f]{7,40}")
_CONVENTIONAL = re.compile(r"(?P<type>[A-Za-z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s*(?P<subject>.+)")


@dataclass(frozen=True)
class Commit:
    """One commit line: its short SHA (may be empty), type, scope, subject, and whether it breaks."""

    sha: str
    type: str
    scope: str
    subject: str
    breaking: bool

    def line(self) -> str:
        scope = f"**{self.scope}**: " if self.scope else ""
        breaking = "⚠️ BREAKING: " if self.breaking else ""
        sha = f" ({self.sha[:7]})" if self.sha else ""
        return f"- {breaking}{scope}{self.subject}{sha}"


def parse_log(log: str) -> list[Commit]:
    """Commits from `git log --format='%h %s'` text, one per non-empty line (a leading SHA is optional)."""
    commits = []
    for raw in log.splitlines():
        line = raw.strip()
        if not line:
            continue
        first, _, rest = line.partition(" ")
        sha, subject = (first, rest.strip()) if _SHA.fullmatch(first) and rest.strip() else ("", line)
        match = _CONVENTIONAL.fullmatch(subject)
        if match:
            commits.append(Commit(
                sha, match.group("type").lower(), match.group("scope") or "", match.group("subject").strip(),
                bool(match.group("bang")),
            ))
        else:
            commits.append(Commit(sha, "", "", subject, False))
    return commits


def category(commit: Commit) -> str | None:
    """The section a commit belongs to; None for excluded types."""
    if commit.type in EXCLUDED:
        return None
    for title, types in CATEGORIES:
        if commit.type in types:
            return title
    return OTHER


def release_notes(version_tag: str, log: str) -> str:
    """Markdown release notes for `version_tag`: one section per non-empty category, in
    upstream's order, commits in log order."""
    sections: dict[str, list[Commit]] = {title: [] for title, _ in CATEGORIES}
    sections[OTHER] = []
    for commit in parse_log(log):
        title = category(commit)
        if title is not None:
            sections[title].append(commit)
    lines = [f"# {version_tag}", ""]
    breaking = [c for commits in sections.values() for c in commits if c.breaking]
    if breaking:
        lines += ["## ⚠️ Breaking Changes", "", *(c.line() for c in breaking), ""]
    for title, commits in sections.items():
        if commits:
            lines += [f"## {title}", "", *(c.line() for c in commits), ""]
    if len(lines) == 2:
        lines += ["No changes.", ""]
    return "\n".join(lines)
