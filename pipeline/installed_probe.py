"""What an image has installed: Debian packages and Python distributions, read from its root file system.

Runs as a script inside an extractor container with the image's rootfs mounted (as upstream's
container/compliance/Dockerfile.extract does), so it works on images without Python or dpkg
(distroless). Standard library only; prints one JSON document. Unit tests import it directly.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from importlib import metadata

LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)
MAX_TEXT = 200_000  # a license file larger than this is cut (a few wheels ship whole source trees as "license")


def dpkg_packages(root: str) -> list[dict]:
    """Installed packages from var/lib/dpkg/status and, on distroless images, status.d/*."""
    paths = [os.path.join(root, "var/lib/dpkg/status"), *sorted(glob.glob(os.path.join(root, "var/lib/dpkg/status.d/*")))]
    packages = []
    for path in paths:
        if not os.path.isfile(path) or path.endswith(".md5sums"):
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            for stanza in handle.read().split("\n\n"):
                fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.MULTILINE))
                if "Package" not in fields or "installed" not in fields.get("Status", "install ok installed"):
                    continue
                name = fields["Package"]
                packages.append({"name": name, "version": fields.get("Version", ""),
                                 "licenses": copyright_licenses(root, name)})
    return sorted(packages, key=lambda p: p["name"])


def copyright_licenses(root: str, package: str) -> list[str]:
    """The `License:` short names of the package's machine-readable copyright file."""
    path = os.path.join(root, "usr/share/doc", package, "copyright")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        names: list[str] = []
        for match in re.finditer(r"^License:[ \t]*(\S.*)$", handle.read(), re.MULTILINE):
            if match.group(1).strip() not in names:
                names.append(match.group(1).strip())
        return names


def site_directories(root: str) -> list[str]:
    """Every site-packages or dist-packages directory under the usual prefixes and virtualenvs."""
    patterns = ("usr/lib/python3*/*-packages", "usr/local/lib/python3*/*-packages", "opt/**/lib/python3*/site-packages",
                "usr/lib/python3/dist-packages", "root/.local/lib/python3*/site-packages")
    found = set()
    for pattern in patterns:
        found.update(path for path in glob.glob(os.path.join(root, pattern), recursive=True) if os.path.isdir(path))
    return sorted(found)


def python_distributions(root: str) -> list[dict]:
    """Installed distributions: name, version, license expression or text, classifiers, license files."""
    seen = {}
    for site in site_directories(root):
        for dist in metadata.distributions(path=[site]):
            meta = dist.metadata
            name = meta.get("Name")
            if not name or (name.lower(), meta.get("Version")) in seen:
                continue
            files = []
            for file in dist.files or ():
                if LICENSE_FILE.search(str(file)) and ("licenses/" in str(file) or ".dist-info/" in str(file)):
                    try:
                        files.append([os.path.basename(str(file)), (file.read_text() or "")[:MAX_TEXT]])
                    except (OSError, UnicodeDecodeError):
                        continue
            urls = meta.get_all("Project-URL") or []
            seen[(name.lower(), meta.get("Version"))] = {
                "name": name,
                "version": meta.get("Version", ""),
                "license_expression": meta.get("License-Expression", ""),
                "license": meta.get("License", "") or "",
                "classifiers": meta.get_all("Classifier") or [],
                "url": meta.get("Home-page") or (urls[0].split(",", 1)[-1].strip() if urls else ""),
                "license_files": sorted(files),
            }
    return sorted(seen.values(), key=lambda d: (d["name"].lower(), d["version"]))


def main(root: str) -> None:
    json.dump({"dpkg": dpkg_packages(root), "python": python_distributions(root)}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/")
