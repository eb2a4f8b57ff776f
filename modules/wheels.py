"""Wheel facts: file-name tags, contents, and glibc symbol versions against a manylinux policy.

Plain Python (no Dagger): the wheel stage runs the tools in containers and judges their output here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WHEEL_NAME = re.compile(
    r"(?P<dist>[^-]+)-(?P<version>[^-]+)(-(?P<build>\d[^-]*))?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl"
)
_POLICY = re.compile(r"manylinux_(\d+)_(\d+)")
# objdump -T line: "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) __libc_start_main"
_GLIBC_SYMBOL = re.compile(r"\*UND\*\s+\S+\s+\(?GLIBC_(\d+)\.(\d+)(?:\.\d+)?\)?\s+(\S+)")


class WheelError(Exception):
    """A built wheel that does not meet what the pipeline promises (tags, contents, policy)."""


@dataclass(frozen=True)
class WheelName:
    """The parts of a wheel file name (PEP 427)."""

    filename: str
    distribution: str
    version: str
    python: str
    abi: str
    platform: str

    @classmethod
    def parse(cls, filename: str) -> WheelName:
        """Split a wheel file name; WheelError when it is not one."""
        match = _WHEEL_NAME.fullmatch(filename)
        if not match:
            raise WheelError(f"{filename}: not a wheel file name (name-version-python-abi-platform.whl)")
        return cls(filename, match["dist"], match["version"], match["python"], match["abi"], match["platform"])

    @property
    def platforms(self) -> set[str]:
        """Compressed platform tags, e.g. manylinux_2_28_x86_64 and manylinux2014_x86_64."""
        return set(self.platform.split("."))


def policy_glibc(policy: str) -> tuple[int, int]:
    """(2, 28) for manylinux_2_28."""
    match = _POLICY.fullmatch(policy)
    if not match:
        raise WheelError(f"{policy!r} is not a PEP 600 policy name like manylinux_2_28")
    return int(match[1]), int(match[2])


def symbols_above_policy(objdump_output: str, policy: str) -> list[str]:
    """`symbol (GLIBC_x.y)` for every imported glibc symbol newer than the policy allows, sorted."""
    limit = policy_glibc(policy)
    return sorted(
        {
            f"{symbol} (GLIBC_{major}.{minor})"
            for major, minor, symbol in _GLIBC_SYMBOL.findall(objdump_output)
            if (int(major), int(minor)) > limit
        }
    )


def check_wheel(
    filename: str,
    members: list[str],
    *,
    python: str,
    abi: str,
    platform: str,
    required: list[str],
    forbidden_prefixes: tuple[str, ...] = (),
) -> WheelName:
    """Tags and contents of one wheel: every expected tag, every required file, nothing forbidden."""
    name = WheelName.parse(filename)
    problems = []
    if name.python != python or name.abi != abi:
        problems.append(f"tags {name.python}-{name.abi}, expected {python}-{abi}")
    if platform not in name.platforms:
        problems.append(f"platform {name.platform}, expected {platform}")
    problems += [f"missing {path}" for path in required if path not in members]
    dist_info = f"{name.distribution}-{name.version}.dist-info/"
    problems += [f"missing {dist_info}{part}" for part in ("METADATA", "WHEEL", "RECORD") if dist_info + part not in members]
    problems += [f"unexpected {path}" for path in members if path.startswith(forbidden_prefixes)]
    if problems:
        raise WheelError(f"{filename}: " + "; ".join(problems))
    return name
