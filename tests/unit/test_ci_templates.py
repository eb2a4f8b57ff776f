"""The CI templates in ci/ run exactly the README's commands, with secrets wired as env:// URIs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipeline.context import load_context

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"REGISTRY_PASSWORD": "--password", "COSIGN_KEY": "--sign-key", "COSIGN_PASSWORD": "--sign-password"}


def readme_commands() -> dict[str, str]:
    """The README's `dagger call build-all ...` and full `dagger call publish ...` lines."""
    lines = (REPO / "README.md").read_text().splitlines()
    build = [line for line in lines if line.startswith("dagger call build-all --commit-sha=$COMMIT_SHA")]
    publish = [line for line in lines if line.startswith("dagger call publish ") and "--sign-key" in line]
    assert len(build) == 1 and len(publish) == 1, (build, publish)
    return {"build-all": build[0], "publish": publish[0]}


def github_steps(workflow: dict) -> dict[str, tuple[str, dict]]:
    steps = [step for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    return {step["run"].split()[2]: (step["run"], step.get("env", {})) for step in steps if step["run"].startswith("dagger ")}


def gitlab_steps(pipeline: dict) -> dict[str, tuple[str, dict]]:
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    return {
        line.split()[2]: (line, {**pipeline.get("variables", {}), **job.get("variables", {})})
        for job in jobs.values()
        for line in job["script"]
        if line.startswith("dagger ")
    }


def buildkite_steps(pipeline: dict) -> dict[str, tuple[str, dict]]:
    found = {}
    for step in pipeline["steps"]:
        exports = {}
        for line in step["command"]:
            if match := re.fullmatch(r'export (\w+)="(.*)"', line):
                exports[match[1]] = match[2]
            elif line.startswith("dagger "):
                found[line.split()[2]] = (line, exports)
    return found


TEMPLATES = {"github-actions.yml": github_steps, "gitlab-ci.yml": gitlab_steps, "buildkite.yml": buildkite_steps}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_runs_the_readme_commands_with_secrets_from_the_ci_store(template: str) -> None:
    text = (REPO / "ci" / template).read_text()
    parsed = yaml.safe_load(text)
    steps = TEMPLATES[template](parsed)
    expected = readme_commands()
    assert {name: command for name, (command, _) in steps.items()} == expected
    _, publish_env = steps["publish"]
    for secret, flag in SECRETS.items():
        assert f"{flag}=env://{secret}" in expected["publish"].split()
        if template == "github-actions.yml":
            assert publish_env[secret] == f"${{{{ secrets.{secret} }}}}"
        elif template == "buildkite.yml":
            assert publish_env[secret] == f"$(buildkite-agent secret get {secret})"
        else:  # GitLab: masked project variables, never defined in the file
            assert secret not in publish_env
        assert secret not in steps["build-all"][1]  # the build never sees publishing secrets
    # The engine's cache is the cache: no CI vendor cache API.
    def keys_and_uses(node: object) -> list[str]:
        if isinstance(node, dict):
            return [*map(str, node), *(str(node["uses"]) for _ in [0] if "uses" in node),
                    *(k for value in node.values() for k in keys_and_uses(value))]  # fmt: skip
        if isinstance(node, list):
            return [k for value in node for k in keys_and_uses(value)]
        return []

    found = keys_and_uses(parsed)
    assert "cache" not in found and not any(key.startswith(("actions/cache", "cache#")) for key in found)
    assert f'DAGGER_VERSION: "{load_context().dagger_version}"' in text
