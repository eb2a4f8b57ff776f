"""cosign built from the Go module proxy, and key-based signing, verification and copying by digest.

Dynamo-agnostic. The private key and its password are Secrets: the key is mounted as a secret
file and the password read from a secret variable, so neither reaches a layer or a cache key.
Signatures go to the image's registry only (no transparency log upload: `--tlog-upload=false`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from .registry import RegistryAccess, side_effect

COSIGN_PACKAGE = "github.com/sigstore/cosign/v2/cmd/cosign"
KEY_PATH = "/run/secrets/cosign.key"


def build_cosign(golang_image: str, version: str) -> dagger.File:
    """The cosign binary at `version` (e.g. "2.6.2"), built with Go's module and build caches."""
    tag = f"v{version.removeprefix('v')}"
    return (
        dag.container()
        .from_(golang_image)
        .with_mounted_cache("/go/pkg/mod", dag.cache_volume("go-mod"))
        .with_mounted_cache("/root/.cache/go-build", dag.cache_volume("go-build"))
        .with_env_variable("CGO_ENABLED", "0")
        .with_exec(["go", "install", "-trimpath",
                    "-ldflags", f"-s -w -X sigs.k8s.io/release-utils/version.gitVersion={tag}",
                    f"{COSIGN_PACKAGE}@{tag}"])  # fmt: skip
        .file("/go/bin/cosign")
    )


@dataclass(frozen=True)
class Cosign:
    """cosign in a runner image (one with sh, base64 and CA certificates)."""

    binary: dagger.File
    runner_image: str

    def _container(self) -> dagger.Container:
        return dag.container().from_(self.runner_image).with_file("/usr/local/bin/cosign", self.binary)

    @staticmethod
    def _registry_flags(access: RegistryAccess) -> list[str]:
        return ["--allow-http-registry", "--allow-insecure-registry"] if access.insecure else []

    def generate_key_pair(self, password: dagger.Secret) -> dagger.Directory:
        """A new cosign.key (encrypted with `password`) and cosign.pub.

        Never from the cache: a secret's value is not part of the cache key, so a cached pair
        could be encrypted with another password.
        """
        return (
            self._container()
            .with_workdir("/keys")
            .with_secret_variable("COSIGN_PASSWORD", password)
            .with_(side_effect)
            .with_exec(["cosign", "generate-key-pair"])
            .directory("/keys")
        )

    async def sign(
        self,
        ref: str,
        key: dagger.Secret,
        password: dagger.Secret,
        access: RegistryAccess,
        annotations: dict[str, str] | None = None,
    ) -> str:
        """Sign `ref` (by digest) with the key; the signature is pushed next to the image. Returns cosign's output."""
        notes = [arg for key_value in sorted((annotations or {}).items()) for arg in ("-a", "=".join(key_value))]
        signed = (
            self._container()
            .with_(access.tool_access)
            .with_mounted_secret(KEY_PATH, key)
            .with_secret_variable("COSIGN_PASSWORD", password)
            .with_(side_effect)
            .with_exec(["with-registry-auth", "cosign", "sign", "--yes", "--key", KEY_PATH, "--tlog-upload=false",
                        *self._registry_flags(access), *notes, access.in_container(ref)])  # fmt: skip
        )
        return await signed.stdout() + await signed.stderr()

    async def verify(self, ref: str, public_key: dagger.File, access: RegistryAccess) -> str:
        """Verify `ref`'s signature with the public key (offline: no transparency log); the JSON payloads."""
        return await (
            self._container()
            .with_(access.tool_access)
            .with_file("/cosign.pub", public_key)
            .with_(side_effect)
            .with_exec(["with-registry-auth", "cosign", "verify", "--key", "/cosign.pub", "--insecure-ignore-tlog",
                        "--output", "json", *self._registry_flags(access), access.in_container(ref)])  # fmt: skip
            .stdout()
        )

    async def copy(self, source: str, target: str, access: RegistryAccess) -> None:
        """Copy an image by digest, with its signatures, to another repository or tag (same digest)."""
        await (
            self._container()
            .with_(access.tool_access)
            # One copy at a time: in parallel, cosign re-puts a platform manifest under its digest tag
            # while the registry checks the index's children, and a filesystem-backed registry rewrites
            # that manifest's link in place, so the check reads it empty (DIGEST_INVALID).
            .with_env_variable("GOMAXPROCS", "1")
            .with_(side_effect)
            .with_exec(["with-registry-auth", "cosign", "copy", "--force", *self._registry_flags(access),
                        access.in_container(source), access.in_container(target)])  # fmt: skip
            .sync()
        )
