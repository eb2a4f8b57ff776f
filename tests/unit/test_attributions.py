"""Attribution rendering, change detection, license identification, and the installed-software probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import attributions as attr
from pipeline import installed_probe
from pipeline.compliance import parse_license_dump

MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
APACHE = "Apache License\n  Version 2.0, January 2004\n http://www.apache.org/licenses/"
BSD3 = ("Redistribution and use in source and binary forms, with or without modification ... "
        "Neither the name of Google Inc. nor the names of its contributors")


@pytest.mark.parametrize(("text", "spdx"), [(MIT, "MIT"), (APACHE, "Apache-2.0"), (BSD3, "BSD-3-Clause"),
                                            ("All rights reserved.", "Unknown")])
def test_license_texts_are_identified(text: str, spdx: str) -> None:
    assert attr.identify_license(text) == spdx


def test_rust_dependencies_leave_out_workspace_and_path_crates() -> None:
    metadata = {
        "workspace_members": ["path+file:///src/lib/llm#dynamo-llm@1.1.0"],
        "packages": [
            {"id": "path+file:///src/lib/llm#dynamo-llm@1.1.0", "name": "dynamo-llm", "version": "1.1.0",
             "license": "Apache-2.0", "source": None},
            {"id": "registry+https://github.com/rust-lang/crates.io-index#pyo3@0.23.5", "name": "pyo3",
             "version": "0.23.5", "license": "MIT OR Apache-2.0", "repository": "https://github.com/pyo3/pyo3",
             "source": "registry+https://github.com/rust-lang/crates.io-index"},
        ],
    }
    texts = {"registry+https://github.com/rust-lang/crates.io-index#pyo3@0.23.5": [("LICENSE-MIT", MIT)]}
    (dep,) = attr.rust_dependencies(metadata, texts)
    assert (dep.name, dep.version, dep.license) == ("pyo3", "0.23.5", "MIT OR Apache-2.0")
    assert dep.texts == (("LICENSE-MIT", MIT),)


def test_changes_name_added_removed_and_bumped_packages() -> None:
    old = attr.render([("Rust crates", [attr.Dependency("pyo3", "0.23.5", "MIT"), attr.Dependency("libc", "0.2.1", "MIT")])])
    new = attr.render([("Rust crates", [attr.Dependency("pyo3", "0.24.0", "MIT"), attr.Dependency("syn", "2.0.1", "MIT")])])
    assert attr.changes(old, new) == ["removed libc 0.2.1", "pyo3: version 0.23.5 -> 0.24.0", "added syn 2.0.1 (MIT)"]
    assert attr.changes(new, new) == []
    relicensed = attr.render([("Rust crates", [attr.Dependency("pyo3", "0.24.0", "GPL-3.0"), attr.Dependency("syn", "2.0.1", "MIT")])])
    assert attr.changes(new, relicensed) == ["pyo3 0.24.0: license MIT -> GPL-3.0"]


def test_render_is_sorted_and_keeps_license_texts() -> None:
    text = attr.render([("Go modules", [attr.Dependency("b.io/x", "v1.0.0", "MIT", texts=(("LICENSE", MIT),)),
                                        attr.Dependency("a.io/y", "v2.0.0", "Apache-2.0")])])
    assert text.index("### a.io/y v2.0.0") < text.index("### b.io/x v1.0.0")
    assert f"#### LICENSE\n```\n{MIT}\n```" in text
    assert attr.container_file("frontend") == "ATTRIBUTIONS-container-frontend.md"
    with pytest.raises(ValueError, match="container name 'Front End'"):
        attr.container_file("Front End")


def test_license_dump_is_split_per_package_and_file() -> None:
    dump = f"\x1epyo3@1\x1fLICENSE-MIT\n{MIT}\n\x1epyo3@1\x1fLICENSE-APACHE\n{APACHE}\n\x1elibc@2\x1fLICENSE\nx\n"
    parsed = parse_license_dump(dump)
    assert [name for name, _ in parsed["pyo3@1"]] == ["LICENSE-MIT", "LICENSE-APACHE"]
    assert parsed["libc@2"] == [("LICENSE", "x\n")]


def test_probe_reads_dpkg_and_python_metadata_from_a_root(tmp_path: Path) -> None:
    """A root file system laid out like an image: dpkg status, a copyright file, a wheel's dist-info."""
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(
        "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.3\n\n"
        "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n"
    )
    (tmp_path / "usr/share/doc/zlib1g").mkdir(parents=True)
    (tmp_path / "usr/share/doc/zlib1g/copyright").write_text("Files: *\nLicense: Zlib\n\nFiles: debian/*\nLicense: Zlib\n")
    dist_info = tmp_path / "usr/local/lib/python3.12/site-packages/demo-1.0.dist-info"
    (dist_info / "licenses").mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: MIT\n")
    (dist_info / "licenses/LICENSE").write_text(MIT)
    (dist_info / "RECORD").write_text("demo-1.0.dist-info/METADATA,,\ndemo-1.0.dist-info/licenses/LICENSE,,\n")

    packages = installed_probe.dpkg_packages(str(tmp_path))
    assert packages == [{"name": "zlib1g", "version": "1:1.3", "licenses": ["Zlib"]}]
    (dist,) = installed_probe.python_distributions(str(tmp_path))
    assert (dist["name"], dist["version"], dist["license_expression"]) == ("demo", "1.0", "MIT")
    assert dist["license_files"] == [["LICENSE", MIT]]
    (dep,) = attr.python_dependencies([dist])
    assert dep.license == "MIT" and dep.texts == (("LICENSE", MIT),)
    assert attr.python_dependencies([dist], exclude={"demo"}) == []


def test_upstream_formats_compare_by_package() -> None:
    """A committed file in upstream's Rust layout is compared by name, version and license only."""
    upstream = ("# Third-Party Software Attributions\n\n## adler2 - 2.0.1\n**Repository URL**: x\n"
                "**License Type(s)**: 0BSD OR MIT OR Apache-2.0\n### License: y\n```\ntext\n```\n\n"
                "## ahash - 0.8.12\n**License Type(s)**: MIT OR Apache-2.0\n")
    ours = attr.render([("Rust crates", [attr.Dependency("adler2", "2.0.1", "0BSD OR MIT OR Apache-2.0"),
                                         attr.Dependency("ahash", "0.8.11", "MIT OR Apache-2.0")])])
    assert attr.changes(upstream, ours) == ["ahash: version 0.8.12 -> 0.8.11"]
    python = "## absl-py (2.4.0)\n\n### Licenses\nLicense: `Apache-2.0`\n"
    assert attr.entries(python)[("absl-py", "2.4.0")][0] == "Apache-2.0"


def test_several_versions_of_one_crate_compare_as_a_set() -> None:
    def doc(*versions: str) -> str:
        return attr.render([("Rust crates", [attr.Dependency("windows-sys", v, "MIT") for v in versions])])

    assert attr.changes(doc("0.52.0", "0.59.0"), doc("0.59.0", "0.52.0")) == []
    assert attr.changes(doc("0.52.0", "0.59.0"), doc("0.59.0", "0.60.2")) == [
        "windows-sys: version 0.52.0, 0.59.0 -> 0.59.0, 0.60.2"
    ]
