"""Reaching and logging in to a container registry, from the engine and from tool containers.

Dynamo-agnostic. The password is a Secret everywhere: the engine gets it through
`with_registry_auth`; a tool in a container (cosign) reads it from a secret variable and writes
its Docker config to a tmpfs, so it is in no layer, no argument and no cache key.

A registry can also run as a Dagger service (tests, air-gapped sites). Refs then name it
`localhost:<port>`: the engine pushes to localhost over plain HTTP and routes that name to the
service; tool containers reach the same service under a binding alias.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import dagger
from dagger import dag

from .system_packages import with_system_packages

DOCKER_CONFIG = "/run/registry-auth"
SERVICE_HOST = "localhost"

# Writes $DOCKER_CONFIG/config.json (a tmpfs) from REGISTRY_* variables, then runs the command.
_WITH_REGISTRY_AUTH = """#!/bin/sh
set -eu
umask 077
auth=$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 | tr -d '\\n')
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_HOST" "$auth" > "$DOCKER_CONFIG/config.json"
exec "$@"
"""


def registry_host(ref: str) -> str:
    """The registry part of a fully qualified reference: `host[:port]`."""
    return ref.split("/", 1)[0]


@dataclass(frozen=True)
class RegistryAccess:
    """Where a registry is and how to log in: credentials, and a service when it runs as one."""

    host: str  # host[:port], as image references name it
    username: str = ""
    password: dagger.Secret | None = None
    service: dagger.Service | None = None
    alias: str = "registry"  # the service's name inside tool containers

    def __post_init__(self) -> None:
        if self.service is not None and self.host.split(":")[0] != SERVICE_HOST:
            raise ValueError(f"a registry service is addressed as {SERVICE_HOST}:<port>, not {self.host!r}")
        if (self.password is None) != (not self.username):
            raise ValueError("registry credentials need both a username and a password")

    def engine_auth(self, ctr: dagger.Container) -> dagger.Container:
        """The container, with the engine's credentials for this registry (publish, from_)."""
        if self.password is None:
            return ctr
        return ctr.with_registry_auth(self.host, self.username, self.password)

    def engine_route(self) -> dict[str, dagger.Service]:
        """Keyword arguments of `publish` and `from_` that route this registry's name to its service."""
        return {"registry_service": self.service} if self.service is not None else {}

    def in_container(self, ref: str) -> str:
        """The same reference as a tool container names it (the service alias instead of localhost)."""
        if self.service is None:
            return ref
        port = self.host.partition(":")[2]
        return ref.replace(self.host, f"{self.alias}:{port}" if port else self.alias, 1)

    @property
    def insecure(self) -> bool:
        """A service registry speaks plain HTTP."""
        return self.service is not None

    def tool_access(self, ctr: dagger.Container) -> dagger.Container:
        """A tool container that reaches the registry and is logged in while a command runs.

        Commands run through `with-registry-auth`; each exec gets a fresh tmpfs for the Docker config.
        """
        if self.service is not None:
            ctr = ctr.with_service_binding(self.alias, self.service)
        if self.password is None:
            return ctr.with_new_file("/usr/local/bin/with-registry-auth", '#!/bin/sh\nexec "$@"\n', permissions=0o755)
        return (
            ctr.with_new_file("/usr/local/bin/with-registry-auth", _WITH_REGISTRY_AUTH, permissions=0o755)
            .with_env_variable("DOCKER_CONFIG", DOCKER_CONFIG)
            .with_env_variable("REGISTRY_HOST", self.in_container(self.host))
            .with_env_variable("REGISTRY_USERNAME", self.username)
            .with_secret_variable("REGISTRY_PASSWORD", self.password)
            .with_mounted_temp(DOCKER_CONFIG)
        )


def side_effect(ctr: dagger.Container) -> dagger.Container:
    """Make the next exec run every time: it pushes or reads a registry whose state the engine cannot see."""
    return ctr.with_env_variable("DYNAMO_PIPELINE_RUN", uuid.uuid4().hex)


def htpasswd_file(base_image: str, username: str, password: dagger.Secret) -> dagger.File:
    """A bcrypt htpasswd file (Debian's apache2-utils) for `username`; the password comes from a Secret.

    Made anew every time: a secret's value is not in the cache key, so a cached file could hold
    the password before a rotation.
    """
    return (
        dag.container()
        .from_(base_image)
        .with_(lambda ctr: with_system_packages(ctr, {"apt": ("apache2-utils",)}))
        .with_env_variable("REGISTRY_USERNAME", username)
        .with_secret_variable("REGISTRY_PASSWORD", password)
        .with_(side_effect)
        .with_exec(["sh", "-c", 'printf %s "$REGISTRY_PASSWORD" | htpasswd -niB "$REGISTRY_USERNAME" > /htpasswd'])
        .file("/htpasswd")
    )


def debian_registry(base_image: str, htpasswd: dagger.File, port: int = 5001) -> dagger.Service:
    """Debian's docker-registry (distribution) with htpasswd auth, as a service on `port`.

    Its storage lives as long as the service: start it (`Service.start`) to keep pushed images.
    """
    config = (
        "version: 0.1\n"
        "log: {level: warn}\n"
        "storage: {filesystem: {rootdirectory: /var/lib/docker-registry}, delete: {enabled: true}}\n"
        f'http: {{addr: ":{port}"}}\n'
        "auth: {htpasswd: {realm: registry, path: /etc/docker/registry/htpasswd}}\n"
    )
    return (
        dag.container()
        .from_(base_image)
        .with_(lambda ctr: with_system_packages(ctr, {"apt": ("docker-registry",)}))
        .with_new_file("/etc/docker/registry/config.yml", config)
        .with_file("/etc/docker/registry/htpasswd", htpasswd)
        .with_exposed_port(port)
        .as_service(args=["docker-registry", "serve", "/etc/docker/registry/config.yml"])
    )
