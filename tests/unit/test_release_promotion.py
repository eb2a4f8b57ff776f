"""Release promotion plan: RC tags parsed, published refs mapped onto release.yml's copies."""

from __future__ import annotations

import pytest

from pipeline.context import load_context
from pipeline.errors import PipelineInputError
from pipeline.refs import release_copies, split_published
from pipeline.tags import parse_release_candidate, release_candidate

SHA = "0123abcd4567"
DIGEST = "sha256:" + "ab" * 32
CI = "ci.example.com:5000/ai-dynamo/dynamo"


def test_rc_tags_parse_from_git_and_ngc_forms() -> None:
    assert parse_release_candidate("v1.1.0-rc2") == release_candidate("1.1.0", rc=2)
    assert parse_release_candidate("1.1.0rc0") == release_candidate("1.1.0", rc=0)
    assert parse_release_candidate("v1.0.0.post1-rc3").ngc_tag == "1.0.0.post1rc3"
    for bad in ("v1.1.0", "latest", "v1.1-rc1", "1.1.0-rc"):
        with pytest.raises(PipelineInputError, match="must be a release candidate|must look like X.Y.Z"):
            parse_release_candidate(bad)


def test_published_refs_map_to_release_tags() -> None:
    ctx = load_context()
    refs = [f"{CI}:{SHA}-operator@{DIGEST}", f"{CI}:{SHA}-vllm-runtime-cuda12@{DIGEST.replace('ab', 'cd')}"]
    copies, missing = release_copies(refs, release_candidate("1.1.0", rc=0), "nvcr.io/nvidia", ctx)
    assert [str(copy) for copy in copies] == [
        f"{CI}@{DIGEST} -> nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.1.0rc0",
        f"{CI}@{DIGEST.replace('ab', 'cd')} -> nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.1.0rc0",
    ]
    assert f"{SHA}-frontend -> ai-dynamo/dynamo-frontend:1.1.0rc0" in missing and len(missing) == 9


def test_bad_release_refs_are_one_line() -> None:
    ctx = load_context()
    candidate = release_candidate("1.1.0", rc=0)
    with pytest.raises(PipelineInputError, match="needs its tag to be released"):
        split_published(f"{CI}@{DIGEST}")
    with pytest.raises(PipelineInputError, match="must be pinned by digest"):
        release_copies([f"{CI}:{SHA}-operator"], candidate, "nvcr.io/nvidia", ctx)
    with pytest.raises(PipelineInputError, match=rf"{SHA}-dynamo-dev-cuda12 is not a release image; release.yml copies: "):
        release_copies([f"{CI}:{SHA}-dynamo-dev-cuda12@{DIGEST}"], candidate, "nvcr.io/nvidia", ctx)
    with pytest.raises(PipelineInputError, match="different commits"):
        release_copies([f"{CI}:{SHA}-operator@{DIGEST}", f"{CI}:abcdef0-frontend@{DIGEST}"], candidate, "nvcr.io", ctx)
    with pytest.raises(PipelineInputError, match="release registry"):
        release_copies([f"{CI}:{SHA}-operator@{DIGEST}"], candidate, "Not A Registry", ctx)
    with pytest.raises(PipelineInputError, match="at least one published image"):
        release_copies([], candidate, "nvcr.io", ctx)
