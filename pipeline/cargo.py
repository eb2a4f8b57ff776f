"""What a Cargo workspace offers: its members, their features and profiles, checked before a build.

Plain Python: the Rust stage reads the manifests through Dagger and validates requests here, so
a typo fails in milliseconds instead of after a container build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tomli

from .errors import PipelineInputError

BUILTIN_PROFILES = ("dev", "release", "test", "bench")
_TARGET_TRIPLE = re.compile(r"^[a-z0-9_]+(-[a-z0-9_.]+){2,3}$")


def parse_manifest(text: str, path: str) -> dict:
    """A Cargo.toml as a dict; PipelineInputError naming the file on bad TOML."""
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise PipelineInputError(f"{path}: not valid TOML: {error}") from None


@dataclass(frozen=True)
class CargoWorkspace:
    """Members (package name -> features) and the profiles a workspace defines."""

    manifest: str
    members: dict[str, frozenset[str]]
    profiles: frozenset[str]

    @classmethod
    def from_manifests(cls, root_path: str, root_text: str, member_texts: dict[str, str]) -> CargoWorkspace:
        """Build from the root manifest and each member's manifest (member dir -> text)."""
        root = parse_manifest(root_text, root_path)
        members: dict[str, frozenset[str]] = {}
        for member_dir, text in member_texts.items():
            manifest = parse_manifest(text, f"{member_dir}/Cargo.toml")
            name = manifest.get("package", {}).get("name")
            if not name:
                raise PipelineInputError(f"{member_dir}/Cargo.toml: no [package] name")
            members[name] = frozenset(manifest.get("features", {}))
        if "package" in root:
            members[root["package"]["name"]] = frozenset(root.get("features", {}))
        return cls(root_path, members, frozenset(BUILTIN_PROFILES) | frozenset(root.get("profile", {})))

    @staticmethod
    def member_dirs(root_path: str, root_text: str) -> list[str]:
        """The `[workspace] members` entries (globs are left for the caller to expand)."""
        root = parse_manifest(root_text, root_path)
        members = root.get("workspace", {}).get("members")
        if members is None and "package" not in root:
            raise PipelineInputError(f"{root_path}: neither a [workspace] with members nor a [package]")
        return list(members or [])

    def check_features(self, features: list[str]) -> None:
        """Every feature is "package/feature" of a member, or a feature some member has."""
        for feature in features:
            package, slash, name = feature.rpartition("/")
            if slash:
                if package not in self.members:
                    raise PipelineInputError(
                        f"{self.manifest}: feature {feature!r} names unknown package {package!r}; "
                        f"members: {', '.join(sorted(self.members))}"
                    )
                if name not in self.members[package]:
                    available = ", ".join(sorted(self.members[package])) or "none"
                    raise PipelineInputError(
                        f"{self.manifest}: package {package!r} has no feature {name!r}; its features: {available}"
                    )
            elif not any(name in features_of for features_of in self.members.values()):
                offered = sorted(f"{pkg}/{feat}" for pkg, feats in self.members.items() for feat in feats)
                raise PipelineInputError(
                    f"{self.manifest}: no member has feature {name!r}; features: {', '.join(offered) or 'none'}"
                )

    def check_profile(self, profile: str) -> None:
        """The profile is built in or defined under [profile.*]."""
        if profile not in self.profiles:
            raise PipelineInputError(
                f"{self.manifest}: unknown profile {profile!r}; profiles: {', '.join(sorted(self.profiles))}"
            )


def check_target_triple(target: str) -> None:
    """A target triple shape like x86_64-unknown-linux-gnu."""
    if not _TARGET_TRIPLE.match(target):
        raise PipelineInputError(f"target {target!r} is not a target triple such as x86_64-unknown-linux-gnu")


def profile_dir(profile: str) -> str:
    """Cargo's output directory for a profile (dev builds land in debug/)."""
    return "debug" if profile in ("dev", "test") else profile
