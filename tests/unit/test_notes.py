"""Release notes grouped by conventional-commit type like upstream's .github/release.yml."""

from __future__ import annotations

from pipeline.notes import OTHER, category, parse_log, release_notes

LOG = """\
a1b2c3d feat(frontend): stream tokens over SSE (#101)
b2c3d4e fix: off-by-one in KV block hashing
c3d4e5f docs: describe the release flow
d4e5f6a ci: cache cargo registry
e5f6a7b style: reformat
f6a7b8c perf!: drop the Python tokenizer path
0a1b2c3 Bump version to 1.1.0
"""


def test_commits_are_parsed() -> None:
    commits = parse_log(LOG)
    assert [c.type for c in commits] == ["feat", "fix", "docs", "ci", "style", "perf", ""]
    assert commits[0].scope == "frontend" and commits[0].sha == "a1b2c3d"
    assert commits[5].breaking and not commits[0].breaking
    assert commits[6].subject == "Bump version to 1.1.0"
    assert category(commits[4]) is None and category(commits[6]) == OTHER


def test_notes_follow_upstreams_categories_in_order() -> None:
    notes = release_notes("v1.1.0-rc0", LOG)
    headings = [line for line in notes.splitlines() if line.startswith("#")]
    assert headings == [
        "# v1.1.0-rc0",
        "## ⚠️ Breaking Changes",
        "## 🚀 Features & Improvements",
        "## 🐛 Bug Fixes",
        "## 📚 Documentation",
        "## 🛠️ Build, CI, Test, and Chores",
        "## Other Changes",
    ]
    assert "- **frontend**: stream tokens over SSE (#101) (a1b2c3d)" in notes
    assert "reformat" not in notes  # style is excluded, as upstream does


def test_no_commits_says_so() -> None:
    assert "No changes." in release_notes("v1.1.0-rc1", "\n  \n")
