"""System packages a build needs, installed with the image's own package manager when missing.

Dynamo-agnostic. The real wheel builder is AlmaLinux (dnf), the offline stand-in Debian (apt): the
caller names the packages for each. A package that is neither there nor installable fails the exec
with one line naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagger

ENSURE_PACKAGES = "/usr/local/bin/ensure-packages"

# Arguments: "dnf:pkg1,pkg2" "apt:pkg3,pkg4"; the list for the manager the image has is used.
_ENSURE_PACKAGES = r"""#!/bin/sh
set -u
if command -v dnf >/dev/null 2>&1; then manager=dnf; query="rpm -q"
elif command -v apt-get >/dev/null 2>&1; then manager=apt; query="dpkg -s"
else echo "ensure-packages: the builder image has neither dnf nor apt-get" >&2; exit 1; fi
wanted=""
for spec in "$@"; do
    case "$spec" in "$manager:"*) wanted=$(echo "${spec#*:}" | tr ',' ' ');; esac
done
missing=""
for pkg in $wanted; do
    $query "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "ensure-packages: installing$missing with $manager" >&2
if [ "$manager" = dnf ]; then
    dnf install -y $missing >/tmp/ensure-packages.log 2>&1
else
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; } \
        >/tmp/ensure-packages.log 2>&1
fi
still=""
for pkg in $missing; do
    $query "$pkg" >/dev/null 2>&1 || still="$still $pkg"
done
if [ -n "$still" ]; then
    echo "missing system package(s):$still: not in the builder image and $manager could not install them;" \
         "add them to the builder image or fix the context's [builder] packages" >&2
    exit 1
fi
"""


def with_system_packages(ctr: dagger.Container, packages: Mapping[str, tuple[str, ...]]) -> dagger.Container:
    """Make sure `packages` (package manager -> names) are installed in `ctr`."""
    specs = [f"{manager}:{','.join(names)}" for manager, names in sorted(packages.items()) if names]
    return ctr.with_new_file(ENSURE_PACKAGES, _ENSURE_PACKAGES, permissions=0o755).with_exec(
        [ENSURE_PACKAGES, *specs]
    )
