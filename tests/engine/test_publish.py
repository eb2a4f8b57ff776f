"""The publish stage against a real registry: Debian's docker-registry with htpasswd auth, as a service.

The image is the example's operator, a static Go binary cross-compiled for amd64 and arm64 (no
emulation) on an empty base, so the push is a real two-platform manifest. Pushed images are
pulled back through the same route and compared by digest; signatures are verified with cosign.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import dagger
import pytest

from modules.registry import debian_registry, htpasswd_file
from pipeline.context import Context
from pipeline.errors import PipelineInputError
from pipeline.findings import ScanBlocked
from pipeline.publish import NamedImage, Publish
from pipeline.refs import CONTEXT_ANNOTATION, REVISION_ANNOTATION, SOURCE_ANNOTATION, context_digest
from tests.conftest import EXAMPLE_WORKSPACE
from tests.engine.scan_fixtures import go_builder

SHA = "0123abcd4567"
USER = "dynamo-ci"
PORT = 5001
REPOSITORY = f"localhost:{PORT}/ai-dynamo/dynamo"
PLATFORMS = ("linux/amd64", "linux/arm64")
ELF_MACHINE = {"linux/amd64": 0x3E, "linux/arm64": 0xB7}

# Reads the registry's HTTP API from inside a container: what a tag or digest resolves to.
REGISTRY_API = r"""
import base64, json, os, sys, urllib.error, urllib.request
host, repo, ref = sys.argv[1:4]
token = base64.b64encode(f"{os.environ['REGISTRY_USERNAME']}:{os.environ['REGISTRY_PASSWORD']}".encode()).decode()
accept = ",".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                   "application/vnd.docker.distribution.manifest.list.v2+json",
                   "application/vnd.docker.distribution.manifest.v2+json"])
def get(path):
    request = urllib.request.Request(f"http://{host}/v2/{path}", headers={"Authorization": f"Basic {token}", "Accept": accept})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers.get("Docker-Content-Digest"), json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, None, None
status, digest, body = get(f"{repo}/manifests/{ref}")
out = {"status": status, "digest": digest, "mediaType": (body or {}).get("mediaType"), "platforms": {}}
for child in (body or {}).get("manifests", []):
    platform = child.get("platform", {})
    if platform.get("os") == "unknown":
        continue
    _, child_digest, manifest = get(f"{repo}/manifests/{child['digest']}")
    out["platforms"][f"{platform['os']}/{platform['architecture']}"] = {
        "digest": child_digest, "annotations": manifest.get("annotations", {})}
print(json.dumps(out))
"""


@dataclasses.dataclass
class Registry:
    """A running registry service and its credentials."""

    service: dagger.Service
    password: str
    secret: dagger.Secret


async def start_registry(dag, ctx: Context, password: str) -> Registry:
    base = ctx.image("python").pinned
    secret = dag.set_secret(f"registry-password-{uuid.uuid4().hex[:8]}", password)
    service = await debian_registry(base, htpasswd_file(base, USER, secret), PORT).start()
    return Registry(service, password, secret)


@pytest.fixture(scope="session")
async def registry(dag, offline_context: Context):
    """Debian's docker-registry with a canary password, up for the whole session."""
    started = await start_registry(dag, offline_context, f"canary-registry-{uuid.uuid4().hex}")
    yield started
    await started.service.stop()


@pytest.fixture(scope="session")
async def signing(dag, offline_context: Context) -> dict:
    """A cosign key pair made with a canary password; the private key becomes a Secret."""
    from modules.cosign import Cosign, build_cosign

    golang = offline_context.image("golang_operator").pinned
    cosign = Cosign(build_cosign(golang, offline_context.tools["cosign"]), golang)
    password = f"canary-key-{uuid.uuid4().hex}"
    password_secret = dag.set_secret("cosign-password", password)
    keys = cosign.generate_key_pair(password_secret)
    private_key = await keys.file("cosign.key").contents()
    return {
        "key": dag.set_secret("cosign-key", private_key),
        "private_key": private_key,
        "password": password,
        "password_secret": password_secret,
        "public_key": keys.file("cosign.pub"),
    }


def operator_variants(dag, ctx: Context, nonce: str) -> list[dagger.Container]:
    """The example operator, statically linked for each platform, on an empty base.

    The build writes a random build ID: an image rebuilt instead of taken from the cache differs.
    """
    # deploy/, not deploy/operator: the operator's go.mod replaces its snapshot dependency with ../snapshot.
    source = dag.host().directory(str(EXAMPLE_WORKSPACE / "deploy"), include=["operator/**", "snapshot/**"])
    built = (
        go_builder(dag, ctx)
        .with_directory("/src", source)
        .with_workdir("/src/operator")
        .with_env_variable("BUILD_LABEL", nonce)
        .with_exec(["sh", "-c", "set -e; for arch in amd64 arm64; do GOARCH=$arch go build -trimpath -o /out/$arch/manager "
                    "./cmd; done; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /out/build-id"])  # fmt: skip
    )
    return [
        dag.container(platform=dagger.Platform(platform))
        .with_file("/manager", built.file(f"/out/{platform.split('/')[1]}/manager"))
        .with_file("/build-id", built.file("/out/build-id"))
        .with_entrypoint(["/manager"])
        for platform in PLATFORMS
    ]


def publisher(dag, running: Registry, db: dagger.Directory, **kwargs) -> Publish:
    from pipeline.main import SOURCE_IGNORE

    return Publish(
        source=dag.host().directory(str(EXAMPLE_WORKSPACE), exclude=SOURCE_IGNORE),
        overlay=dag.host().file(os.environ["DYNAMO_PIPELINE_OVERLAY"]),
        registry=kwargs.pop("registry", REPOSITORY), username=USER, password=kwargs.pop("password", running.secret),
        registry_service=running.service, trivy_db=db, **kwargs,
    )  # fmt: skip


async def registry_api(dag, ctx: Context, registry: Registry, repo: str, ref: str, port: int = PORT) -> dict:
    """What `repo:ref` resolves to in the registry listening on `port`, read over the service binding."""
    output = await (
        dag.container()
        .from_(ctx.image("python").pinned)
        .with_service_binding("registry", registry.service)
        .with_env_variable("REGISTRY_USERNAME", USER)
        .with_secret_variable("REGISTRY_PASSWORD", registry.secret)
        .with_env_variable("CACHE_BUSTER", uuid.uuid4().hex)
        .with_exec(["python3", "-c", REGISTRY_API, f"registry:{port}", repo, ref])
        .stdout()
    )
    return json.loads(output)


@pytest.fixture(scope="session")
async def published(dag, offline_context, registry, signing, clean_db) -> dict:
    """The operator published once, two platforms, signed: what every publish test inspects."""
    variants = operator_variants(dag, offline_context, "published")
    stage = publisher(dag, registry, clean_db, sign_key=signing["key"], sign_password=signing["password_secret"])
    result = await stage.images([NamedImage(name="operator", variants=variants)], SHA)
    return {"stage": stage, "result": result, "variants": variants, "refs": result.refs}


async def test_publish_pushes_one_signed_multi_platform_manifest(
    dag, offline_context, registry, signing, published, tmp_path
):
    refs = published["refs"]
    assert len(refs) == 1 and refs[0].startswith(f"{REPOSITORY}:{SHA}-operator@sha256:")
    digest = refs[0].partition("@")[2]
    # The registry itself says the tag is that digest: an index over both platforms, each annotated.
    seen = await registry_api(dag, offline_context, registry, "ai-dynamo/dynamo", f"{SHA}-operator")
    assert seen["status"] == 200 and seen["digest"] == digest
    assert seen["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(seen["platforms"]) == list(PLATFORMS)
    for manifest in seen["platforms"].values():
        annotations = manifest["annotations"]
        assert annotations[REVISION_ANNOTATION] == SHA
        assert annotations[SOURCE_ANNOTATION] == "https://github.com/ai-dynamo/dynamo"
        assert annotations[CONTEXT_ANNOTATION] == context_digest(offline_context)
    # Pulled back through the same route, per platform: the binary built for that architecture.
    for platform, variant in zip(PLATFORMS, published["variants"], strict=True):
        pulled = (
            dag.container(platform=dagger.Platform(platform))
            .with_registry_auth(f"localhost:{PORT}", USER, registry.secret)
            .from_(f"{REPOSITORY}@{digest}", registry_service=registry.service)
        )
        binary = await pulled.file("/manager").export(str(tmp_path / f"pulled-{platform.replace('/', '-')}"))
        elf = Path(binary).read_bytes()
        assert elf[:4] == b"\x7fELF" and elf[18] == ELF_MACHINE[platform]
        # Under pytest's own temporary directory: two runs on one host once shared a /tmp path and
        # one read the file while the other rewrote it (empty).
        built = await variant.file("/manager").export(str(tmp_path / f"built-{platform.replace('/', '-')}"))
        assert hashlib.sha256(elf).hexdigest() == hashlib.sha256(Path(built).read_bytes()).hexdigest()
    # Signed by digest: the public key verifies it; another key does not.
    verified = json.loads(await published["stage"].verify(f"{REPOSITORY}@{digest}", signing["public_key"]))
    assert verified[0]["critical"]["image"]["docker-manifest-digest"] == digest
    assert verified[0]["optional"]["revision"] == SHA
    from modules.cosign import Cosign, build_cosign

    golang = offline_context.image("golang_operator").pinned
    stranger = Cosign(build_cosign(golang, offline_context.tools["cosign"]), golang)
    other_key = stranger.generate_key_pair(dag.set_secret("other-password", uuid.uuid4().hex)).file("cosign.pub")
    with pytest.raises(dagger.ExecError):
        await published["stage"].verify(f"{REPOSITORY}@{digest}", other_key)
    # An SBOM per image and platform came back with the refs.
    reports = sorted(await published["result"].reports.entries())
    assert "operator-linux-arm64.cdx.json" in reports and "operator-linux-amd64.cdx.json" in reports


async def test_promote_copies_the_digest_and_its_signature(dag, offline_context, registry, signing, published):
    digest = published["refs"][0].partition("@")[2]
    target = f"localhost:{PORT}/ai-dynamo/release:1.0.0rc1"
    promoted = await published["stage"].promote(f"{REPOSITORY}@{digest}", target)
    assert promoted == f"{target}@{digest}"
    seen = await registry_api(dag, offline_context, registry, "ai-dynamo/release", "1.0.0rc1")
    assert seen["digest"] == digest and sorted(seen["platforms"]) == list(PLATFORMS)
    verified = await published["stage"].verify(f"localhost:{PORT}/ai-dynamo/release@{digest}", signing["public_key"])
    assert digest in verified
    with pytest.raises(PipelineInputError, match="must be pinned by digest"):
        await published["stage"].promote(f"{REPOSITORY}:{SHA}-operator", target)


async def test_promote_into_new_repositories_does_not_race_the_registry(dag, offline_context, registry, published):
    # The first copy into a repository is the racy one: with cosign's parallel copy, 5 in 100 such
    # copies failed (DIGEST_INVALID + MANIFEST_BLOB_UNKNOWN), and this test failed 3 times in 7.
    digest = published["refs"][0].partition("@")[2]
    for n in range(24):
        target = f"localhost:{PORT}/ai-dynamo/promoted-{uuid.uuid4().hex[:8]}-{n}:rc"
        assert await published["stage"].promote(f"{REPOSITORY}@{digest}", target) == f"{target}@{digest}"


async def test_wrong_password_fails_clearly_and_pushes_nothing(dag, offline_context, registry, clean_db):
    wrong = dag.set_secret("wrong-password", "not-the-password")
    stage = publisher(dag, registry, clean_db, registry=f"localhost:{PORT}/ai-dynamo/denied", password=wrong)
    variants = operator_variants(dag, offline_context, "denied")
    with pytest.raises(PipelineInputError) as failed:
        await stage.images([NamedImage(name="operator", variants=variants)], SHA)
    message = str(failed.value)
    assert message.startswith(f"push of operator to localhost:{PORT}/ai-dynamo/denied:{SHA}-operator failed:")
    assert "401" in message or "nauthorized" in message
    assert (await registry_api(dag, offline_context, registry, "ai-dynamo/denied", f"{SHA}-operator"))["status"] == 404


async def test_failing_scan_pushes_nothing(dag, offline_context, registry, planted_db):
    stage = publisher(dag, registry, planted_db, registry=f"localhost:{PORT}/ai-dynamo/blocked")
    good = operator_variants(dag, offline_context, "blocked")
    debian = dag.container().from_(offline_context.image("python").pinned)
    with pytest.raises(ScanBlocked) as blocked:
        await stage.images([NamedImage(name="operator", variants=good), NamedImage(name="vllm-runtime-cuda12.9", variants=[debian])], SHA)
    assert str(blocked.value).startswith("nothing was pushed:\nscan of vllm-runtime-cuda12.9-linux-amd64: 1 finding")
    for tag in (f"{SHA}-operator", f"{SHA}-vllm-runtime-cuda12"):  # not even the image that passed
        assert (await registry_api(dag, offline_context, registry, "ai-dynamo/blocked", tag))["status"] == 404


async def test_dry_run_prints_the_plan_and_touches_nothing(dag, offline_context, registry, clean_db):
    stage = publisher(dag, registry, clean_db, registry=f"localhost:{PORT}/ai-dynamo/dry")
    result = await stage.images(
        [NamedImage(name="operator", variants=operator_variants(dag, offline_context, "dry"))], SHA, branch="main", dry_run=True
    )
    assert result.refs == []
    plan = result.plan.splitlines()
    assert f"push localhost:{PORT}/ai-dynamo/dry:{SHA}-operator (linux/amd64, linux/arm64)" in plan
    assert f"annotate {REVISION_ANNOTATION}={SHA}" in plan
    assert (await registry_api(dag, offline_context, registry, "ai-dynamo/dry", f"{SHA}-operator"))["status"] == 404


async def test_rotating_the_registry_password_keeps_build_caches(dag, offline_context, registry, clean_db, published):
    """Same build, new password, new registry: the same digest, so no build step ran again."""
    rotated = await start_registry(dag, offline_context, f"rotated-{uuid.uuid4().hex}")
    try:
        stage = publisher(dag, rotated, clean_db)
        result = await stage.images([NamedImage(name="operator", variants=operator_variants(dag, offline_context, "published"))], SHA)
        assert result.refs == published["refs"]
    finally:
        await rotated.service.stop()


async def test_canaries_appear_in_no_layer_report_log_or_export(dag, registry, signing, published, tmp_path):
    """The registry password and the signing key (and its password) are nowhere they could leak."""
    digest = published["refs"][0].partition("@")[2]
    canaries = {
        "registry password": registry.password,
        "key password": signing["password"],
        "private key": "".join(signing["private_key"].splitlines()[1:-1])[:64],  # the key body, not the PEM header
    }
    exported: list[Path] = []
    for platform in PLATFORMS:
        pulled = (
            dag.container(platform=dagger.Platform(platform))
            .with_registry_auth(f"localhost:{PORT}", USER, registry.secret)
            .from_(f"{REPOSITORY}@{digest}", registry_service=registry.service)
        )
        tarball = tmp_path / f"{platform.replace('/', '-')}.tar"
        await pulled.export(str(tarball), forced_compression=dagger.ImageLayerCompression.Uncompressed)
        exported.append(tarball)
    reports = tmp_path / "reports"
    await published["result"].reports.export(str(reports))
    exported += sorted(reports.iterdir())
    assert len(exported) >= 8
    texts = {str(path): path.read_bytes() for path in exported}
    texts["refs and plan"] = (" ".join(published["refs"]) + published["result"].plan).encode()
    from localengine.layout import EngineLayout

    engine_log = subprocess.run(
        ["docker", "logs", EngineLayout.from_environment().container], capture_output=True, check=True
    )
    texts["engine log"] = engine_log.stdout + engine_log.stderr
    for what, canary in canaries.items():
        for where, content in texts.items():
            assert canary.encode() not in content, f"{what} leaked into {where}"


async def test_publish_without_a_name_scans_and_pushes_every_build_all_image(
    dag, offline_context, registry, clean_db, dynamo
):
    """`publish --sha` alone: the images build-all builds (runtime, frontend, planner, operator, EPP),
    scanned, then each pushed under its tags; the registry serves every tag at the returned digest."""
    from localengine.package_index import INDEX_URL, stand_in_index

    sha = "89abcdef0123456"  # build-all's test commit: the same builds, from the engine's cache
    repository = f"localhost:{PORT}/ai-dynamo/all"
    result = await dynamo.publish(
        sha=sha, registry=repository, username=USER, password=registry.secret, registry_service=registry.service,
        trivy_db=clean_db, index_url=INDEX_URL, index=stand_in_index(offline_context),
    )  # fmt: skip
    tags = [f"{sha}-dynamo-runtime-cuda12", f"{sha}-frontend", f"{sha}-dynamo-planner-cpu", f"{sha}-operator", f"{sha}-epp"]
    assert [ref.partition("@")[0] for ref in result.refs] == [f"{repository}:{tag}" for tag in tags]
    for ref, tag in zip(result.refs, tags, strict=True):
        seen = await registry_api(dag, offline_context, registry, "ai-dynamo/all", tag)
        assert seen["status"] == 200 and seen["digest"] == ref.partition("@")[2], tag
    reports = set(await result.reports.entries())
    assert {f"{name}-linux-amd64.cdx.json" for name in
            ("dynamo-runtime-cuda12.9", "frontend", "dynamo-planner-cpu", "operator", "epp")} <= reports
