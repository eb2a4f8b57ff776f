"""The module's source as the engine loads it: the module alone, and stable across git operations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagger

from tests.conftest import REPO_ROOT

# What the Python SDK runtime reads besides the packages: the project, its lock, its Python.
RUNTIME_FILES = {"dagger.json", "pyproject.toml", "uv.lock", ".python-version", "container/context.toml"}
# Client-side only: the command line runs the module in client mode, the runtime never imports it.
CLIENT_ONLY = {"pipeline/cli.py", "pipeline/__main__.py"}


def module_source(dag, checkout: Path) -> dagger.Directory:
    """The module's context directory, loaded the way the engine loads a local module.

    As core/schema/modulesource.go (loadModuleSourceContext, v0.21.8) does for `dagger call`: the
    checkout's git root read from the host with .gitignore applied, including the config file, "*"
    (the source is "."), then dagger.json's `include`. The module source digest hashes this
    directory's digest with the module's name, paths, SDK and include list, none of which a commit
    changes, so equal directory digests mean an equal module source digest. (`ModuleSource.digest`
    itself first loads the builtin Python SDK, which an offline engine cannot assemble.)
    """
    config = json.loads((checkout / "dagger.json").read_text())
    assert config["source"] == "."
    # no_cache: read the host again, as a new `dagger call` session does, not this session's copy.
    return dag.host().directory(
        str(checkout), include=["./dagger.json", "*", *config["include"]], gitignore=True, no_cache=True
    )


def _git(checkout: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=checkout, check=True, capture_output=True,
    )


def _files(directory: str, pattern: str = "*") -> set[str]:
    """Files under `directory` in the working tree, as paths relative to the repository."""
    found = (REPO_ROOT / directory).rglob(pattern)
    return {path.relative_to(REPO_ROOT).as_posix() for path in found if path.is_file() and "__pycache__" not in path.parts}


async def test_git_operations_leave_the_module_source_digest_unchanged(dag, tmp_path: Path) -> None:
    """A branch, a commit outside the module and a checkout keep the digest; a module edit changes it."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, capture_output=True)
    # The configuration under test is the working tree's, committed or not.
    shutil.copy2(REPO_ROOT / "dagger.json", clone / "dagger.json")
    _git(clone, "commit", "-q", "--allow-empty", "-am", "dagger.json under test")
    before = await module_source(dag, clone).digest()

    _git(clone, "switch", "-q", "-c", "topic")
    assert await module_source(dag, clone).digest() == before, "creating a branch changed the module source"

    (clone / "README.md").write_text((clone / "README.md").read_text() + "\nA note.\n")
    for tooling in ("tools/setup-machine.sh", "localengine/runner.py", "container/overlays/offline.toml"):
        (clone / tooling).write_text((clone / tooling).read_text() + "\n# edited\n")
    (clone / "tests" / "unit" / "test_added.py").write_text("def test_nothing():\n    assert True\n")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "docs, engine tooling and tests")
    _git(clone, "switch", "-q", "-")
    _git(clone, "tag", "a-tag", "topic")
    assert await module_source(dag, clone).digest() == before, "a commit outside the module changed its source"

    (clone / "pipeline" / "main.py").write_text((clone / "pipeline" / "main.py").read_text() + "\n# edited\n")
    assert await module_source(dag, clone).digest() != before, "an edit to the module left its digest unchanged"


async def test_module_source_holds_the_module_alone(dag, tmp_path: Path) -> None:
    """Exactly the packages, the context, the templates and the project files; they are enough to run.

    Loaded from elsewhere (the runtime mounts it at /src/<digest>), the module still names its own
    context `container/context.toml` in errors.
    """
    source = module_source(dag, REPO_ROOT)
    files = {name for name in await source.glob("**/*") if not name.endswith("/")}
    runtime_code = _files("pipeline", "*.py") | _files("modules", "*.py")
    assert files == RUNTIME_FILES | (runtime_code - CLIENT_ONLY) | _files("container/templates")

    exported = Path(await source.export(str(tmp_path / "module")))
    check = (
        "import importlib, pkgutil, pipeline, modules\n"
        "assert pipeline.__file__.startswith(sys.argv[1]), pipeline.__file__\n"
        "for package in (pipeline, modules):\n"
        "    for info in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(f'{package.__name__}.{info.name}')\n"
        "from pipeline.context import load_context\n"
        "from pipeline.render import render\n"
        "assert 'FROM ' in render(load_context(), 'vllm', 'runtime', 'cuda', '12.9', 'linux/amd64')\n"
        "from pipeline.errors import PipelineInputError\n"
        "try:\n"
        "    load_context().framework('mlx')\n"
        "except PipelineInputError as error:\n"
        "    assert str(error).startswith('container/context.toml: unknown framework'), error\n"
        "else:\n"
        "    raise AssertionError('an unknown framework was accepted')\n"
        "print(pipeline.Dynamo.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + check, str(exported)],
        cwd=exported, env={"PYTHONPATH": str(exported), "DAGGER_MAIN_OBJECT": "Dynamo"},
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "Dynamo"
