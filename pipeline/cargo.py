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
# arch[-vendor]-os[-env]: wasm32-wasip1 and thumbv8m.main-none-eabi are targets too.
_TARGET_TRIPLE = re.compile(r"[a-z0-9_.]+(-[a-z0-9_.]+){1,3}")


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
            members[_package_name(manifest, f"{member_dir}/Cargo.toml")] = _features(manifest)
        if "package" in root:
            members[_package_name(root, root_path)] = _features(root)
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


def _package_name(manifest: dict, path: str) -> str:
    name = manifest.get("package", {}).get("name")
    if not name:
        raise PipelineInputError(f"{path}: no [package] name")
    return name


def _features(manifest: dict) -> frozenset[str]:
    """Declared features plus optional dependencies, which are implicit features unless a
    feature refers to them as "dep:name"."""
    declared = manifest.get("features", {})
    explicit_deps = {item[4:] for items in declared.values() for item in items if item.startswith("dep:")}
    optional = {
        name
        for table in ("dependencies", "build-dependencies")
        for name, spec in manifest.get(table, {}).items()
        if isinstance(spec, dict) and spec.get("optional") and name not in explicit_deps
    }
    return frozenset(declared) | optional


def check_target_triple(target: str) -> None:
    """A target triple shape like x86_64-unknown-linux-gnu."""
    if not _TARGET_TRIPLE.fullmatch(target):
        raise PipelineInputError(f"target {target!r} is not a target triple such as x86_64-unknown-linux-gnu")


def profile_dir(profile: str) -> str:
    """Cargo's output directory for a profile: dev and test land in debug/, bench in release/."""
    return {"dev": "debug", "test": "debug", "bench": "release"}.get(profile, profile)
