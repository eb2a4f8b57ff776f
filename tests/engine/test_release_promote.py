"""`release promote` against a real registry (Debian's docker-registry with htpasswd, as a service):
a small image is published and signed, then released by digest; the release tag is pulled back and
compared, its signature verified; a dry run copies nothing."""

from __future__ import annotations

import json
import uuid

import pytest

from modules.registry import debian_registry, htpasswd_file
from pipeline import Dynamo
from pipeline.errors import PipelineInputError
from pipeline.publish import NamedImage
from tests.engine.test_publish import USER, Registry, publisher, registry_api

PORT = 5002  # not the publish tests' registry: each file runs alone
HOST = f"localhost:{PORT}"
SHA = "0123abcd4567"
RC_TAG = "v1.1.0-rc0"  # the example's version is 1.1.0
RELEASED = "ai-dynamo/kubernetes-operator"  # [release.ngc_repositories] operator, under ngc_namespace


@pytest.fixture(scope="module")
async def registry(dag, offline_context):
    base = offline_context.image("python").pinned
    password = f"canary-release-{uuid.uuid4().hex}"
    secret = dag.set_secret(f"release-registry-{uuid.uuid4().hex[:8]}", password)
    service = await debian_registry(base, htpasswd_file(base, USER, secret), PORT).start()
    yield Registry(service, password, secret)
    await service.stop()


@pytest.fixture(scope="module")
async def signing(dag, offline_context) -> dict:
    from modules.cosign import Cosign, build_cosign

    golang = offline_context.image("golang_operator").pinned
    cosign = Cosign(build_cosign(golang, offline_context.tools["cosign"]), golang)
    password = dag.set_secret("release-cosign-password", uuid.uuid4().hex)
    keys = cosign.generate_key_pair(password)
    return {"key": dag.set_secret("release-cosign-key", await keys.file("cosign.key").contents()),
            "password": password, "public_key": keys.file("cosign.pub")}  # fmt: skip


async def test_release_promotes_by_digest_with_signatures(dag, offline_context, registry, signing, clean_db, dynamo: Dynamo):
    nonce = uuid.uuid4().hex
    image = dag.container().with_new_file("/release-nonce", nonce)  # a one-file image: nothing to build
    stage = publisher(dag, registry, clean_db, registry=f"{HOST}/ai-dynamo/dynamo",
                      sign_key=signing["key"], sign_password=signing["password"])  # fmt: skip
    published = await stage.images([NamedImage(name="operator", variants=[image])], SHA)
    [ref] = published.refs
    digest = ref.partition("@")[2]
    release = await dynamo.release()
    access = {"username": USER, "password": registry.secret, "registry_service": registry.service}

    plan = await release.promote([ref], RC_TAG, dry_run=True, **access)
    assert f"copy {HOST}/ai-dynamo/dynamo@{digest} -> {HOST}/{RELEASED}:1.1.0rc0" in plan.splitlines()
    assert f"not published, not released: {SHA}-frontend -> ai-dynamo/dynamo-frontend:1.1.0rc0" in plan
    assert (await registry_api(dag, offline_context, registry, RELEASED, "1.1.0rc0", PORT))["status"] == 404  # touched nothing

    done = await release.promote([ref], RC_TAG, **access)
    assert f"copied {HOST}/ai-dynamo/dynamo@{digest} -> {HOST}/{RELEASED}:1.1.0rc0@{digest}" in done.splitlines()
    seen = await registry_api(dag, offline_context, registry, RELEASED, "1.1.0rc0", PORT)
    assert seen["status"] == 200 and seen["digest"] == digest  # the very digest, not a rebuild
    pulled = (
        dag.container()
        .with_registry_auth(HOST, USER, registry.secret)
        .from_(f"{HOST}/{RELEASED}:1.1.0rc0", registry_service=registry.service)
    )
    assert await pulled.file("/release-nonce").contents() == nonce
    verified = json.loads(await stage.verify(f"{HOST}/{RELEASED}@{digest}", signing["public_key"]))
    assert verified[0]["critical"]["image"]["docker-manifest-digest"] == digest  # the signature came along

    with pytest.raises(PipelineInputError, match="is for 1.2.0, but the checkout is 1.1.0"):
        await release.promote([ref], "v1.2.0-rc0", **access)
    with pytest.raises(PipelineInputError, match="needs its tag to be released"):
        await release.promote([f"{HOST}/ai-dynamo/dynamo@{digest}"], RC_TAG, **access)
