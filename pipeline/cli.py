"""Command-line interface: `dynamo-pipeline ...` or `python -m pipeline ...`.

Bad input (PipelineInputError) prints one line on stderr and exits 2, without a traceback, from
every command, also when it is raised inside an engine session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from .context import DEFAULT_CONTEXT, load_context
from .errors import PipelineInputError


def _fail(err: PipelineInputError) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(code=2)


def _input_error(error: BaseException) -> PipelineInputError | None:
    """The PipelineInputError behind `error`: dagger-io wraps one raised in a session in SessionError."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PipelineInputError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending += [current.__cause__, current.__context__]
    return None


class _Commands(TyperGroup):
    """The root command group: a PipelineInputError from any command becomes `error: ...`, exit 2."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as error:
            input_error = _input_error(error)
            if input_error is None:
                raise
            raise _fail(input_error) from None


app = typer.Typer(cls=_Commands, help="NVIDIA Dynamo's build pipeline.", no_args_is_help=True)
context_app = typer.Typer(help="Inspect and validate container/context.toml.", no_args_is_help=True)
versions_app = typer.Typer(help="Check version pins across a Dynamo checkout.", no_args_is_help=True)
tags_app = typer.Typer(help="Image and release tags in Dynamo's scheme.", no_args_is_help=True)
app.add_typer(context_app, name="context")
app.add_typer(versions_app, name="versions")
app.add_typer(tags_app, name="tags")

ContextOption = Annotated[Path, typer.Option("--context", help="context.toml to read")]
OverlayOption = Annotated[Path | None, typer.Option("--overlay", help="overlay TOML for a mirror")]


@context_app.command("validate")
def context_validate(context: ContextOption = DEFAULT_CONTEXT, overlay: OverlayOption = None) -> None:
    """Parse and check the context (and overlay); print a summary."""
    ctx = load_context(context, overlay)
    typer.echo(f"{context}: ok ({len(ctx.images)} images, {len(ctx.tools)} tools, frameworks {', '.join(ctx.frameworks)})")


@context_app.command("show")
def context_show(context: ContextOption = DEFAULT_CONTEXT, overlay: OverlayOption = None) -> None:
    """Print the resolved context as JSON."""
    typer.echo(json.dumps(load_context(context, overlay).as_dict(), indent=2))


@context_app.command("diff")
def context_diff(
    upstream: Annotated[Path, typer.Argument(help="upstream's container/context.yaml")],
    context: ContextOption = DEFAULT_CONTEXT,
    show_all: Annotated[bool, typer.Option("--all", help="also print the pins that agree and the unused ones")] = False,
) -> None:
    """Compare every pin of upstream's context.yaml with ours; exit 1 on drift (a value that differs, a key
    with no counterpart that [upstream_unused] does not explain, a stale [upstream_unused] entry)."""
    import yaml  # CLI only: the module runtime never parses YAML

    from .context_diff import DRIFT, UNUSED, diff

    ctx = load_context(context)
    try:
        # BaseLoader keeps every scalar as the string upstream wrote ("24.04", "true", "0.10.1").
        data = yaml.load(upstream.read_text(), Loader=yaml.BaseLoader)
    except OSError as err:
        raise PipelineInputError(f"{upstream}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        where = f" at line {err.problem_mark.line + 1}" if getattr(err, "problem_mark", None) else ""
        raise PipelineInputError(f"{upstream}: malformed YAML{where}") from None
    findings = diff(ctx, data, source=str(upstream))
    drift = [finding for finding in findings if finding.status in DRIFT]
    for finding in findings if show_all else drift:
        typer.echo(str(finding))
    unused = sum(finding.status == UNUSED for finding in findings)
    typer.echo(
        f"{upstream}: {len(findings) - unused} pins compared with {context}, {unused} deliberately unused, "
        f"{len(drift)} drift"
    )
    if drift:
        raise typer.Exit(code=1)


@versions_app.command("check")
def versions_check(
    workspace: Annotated[Path, typer.Argument(help="Dynamo checkout")] = Path("examples/mini-dynamo"),
    context: ContextOption = DEFAULT_CONTEXT,
) -> None:
    """Exit 1 and list the pins (`file:key = version (expected X)`) that disagree; [versions] in the
    context says which files follow the workspace version and which are independent."""
    from .versions import read_versions, skew

    policy = load_context(context).versions
    pins = read_versions(workspace)
    skewed = skew(pins, policy)
    if skewed:
        for item in skewed:
            typer.echo(str(item))
        raise typer.Exit(code=1)
    independent = sum(policy.is_independent(pin.file) for pin in pins)
    typer.echo(f"{workspace}: {len(pins)} pins agree ({independent} in independently versioned files)")


@tags_app.command("image")
def tags_image(
    sha: Annotated[str, typer.Argument(help="Git commit SHA")],
    framework: Annotated[str, typer.Argument(help="dynamo, vllm, sglang or trtllm")],
    target: Annotated[str, typer.Argument(help="Build target, e.g. runtime")],
    cuda_version: Annotated[str, typer.Option("--cuda-version", help="empty for CPU-only")] = "12.9",
    efa: Annotated[bool, typer.Option("--efa", help="AWS EFA variant")] = False,
    branch: Annotated[str, typer.Option("--branch", help="'main' adds the main-* aliases")] = "",
    context: ContextOption = DEFAULT_CONTEXT,
    overlay: OverlayOption = None,
) -> None:
    """Print a framework image's tags, one per line."""
    from .tags import image_tags

    ctx = load_context(context, overlay)
    typer.echo("\n".join(image_tags(sha, framework, target, cuda_version or None, efa, branch or None, ctx=ctx)))


@tags_app.command("frontend")
def tags_frontend(
    sha: Annotated[str, typer.Argument(help="Git commit SHA")],
    branch: Annotated[str, typer.Option("--branch", help="'main' adds the main-* aliases")] = "",
) -> None:
    """Print the frontend image's tags."""
    from .tags import frontend_tags

    typer.echo("\n".join(frontend_tags(sha, branch or None)))


@tags_app.command("release")
def tags_release(
    version: Annotated[str, typer.Argument(help="Release version, e.g. 1.1.0 (the release/<version> branch)")],
    existing: Annotated[list[str] | None, typer.Argument(help="Existing git tags")] = None,
    rc: Annotated[int | None, typer.Option("--rc", help="RC number instead of the next one")] = None,
) -> None:
    """Print the release candidate's git tag, NGC tag and Helm chart version (rc0 first, as release.yml)."""
    from .tags import release_candidate

    candidate = release_candidate(version, existing or [], rc)
    typer.echo(f"{candidate.git_tag}\n{candidate.ngc_tag}\n{candidate.helm_chart_version}")


@tags_app.command("promote")
def tags_promote(
    sha: Annotated[str, typer.Argument(help="Git commit SHA whose images are released")],
    version: Annotated[str, typer.Argument(help="Release version, e.g. 1.1.0")],
    existing: Annotated[list[str] | None, typer.Argument(help="Existing git tags")] = None,
    rc: Annotated[int | None, typer.Option("--rc", help="RC number instead of the next one")] = None,
    context: ContextOption = DEFAULT_CONTEXT,
) -> None:
    """Print the NGC copies of a release candidate, `<CI tag> -> <namespace>/<repository>:<tag>`, one per line."""
    from .tags import promotions, release_candidate

    candidate = release_candidate(version, existing or [], rc)
    typer.echo("\n".join(str(copy) for copy in promotions(sha, candidate, ctx=load_context(context))))


@app.command("render")
def render_command(
    framework: Annotated[str, typer.Argument(help="dynamo, vllm, sglang or trtllm")],
    target: Annotated[str, typer.Argument(help="Build target, e.g. runtime")],
    device: Annotated[str, typer.Option("--device", help="cuda, xpu or cpu")] = "cuda",
    cuda_version: Annotated[str, typer.Option("--cuda-version", help="ignored off CUDA")] = "12.9",
    platform: Annotated[str, typer.Option("--platform", help="linux/amd64, linux/arm64 or both")] = "linux/amd64",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="directory to write the file into")] = None,
    context: ContextOption = DEFAULT_CONTEXT,
    overlay: OverlayOption = None,
) -> None:
    """Render a Dockerfile; print it, or write it into DIR with upstream's file name."""
    from .render import dockerfile_name, render

    ctx = load_context(context, overlay)
    cuda = cuda_version or None
    text = render(ctx, framework, target, device, cuda, platform)
    name = dockerfile_name(ctx, framework, target, device, cuda, platform)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    (output / name).write_text(text)
    typer.echo(output / name)


@app.command("build-all")
def build_all(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Directory to write rust/, wheels/, go/, sboms/, scans/ and the reports")
    ],
    source: Annotated[Path, typer.Option("--source", help="Dynamo checkout")] = Path("examples/mini-dynamo"),
    overlay: OverlayOption = None,
    commit_sha: Annotated[str, typer.Option("--commit-sha", help="default: the checkout's git HEAD")] = "",
    frameworks: Annotated[
        list[str] | None, typer.Option("--framework", help="runtime image to build (repeatable); default: dynamo")
    ] = None,
    trivy_db: Annotated[
        Path | None, typer.Option(
            "--trivy-db",
            help="Trivy database directory (trivy.db, metadata.json); default: [scan] vulnerability_db (a download, or none)",
        )
    ] = None,
    index_url: Annotated[str, typer.Option("--index-url", help="Python index for the images; default: the context's")] = "",
    stand_in_index: Annotated[
        bool,
        typer.Option("--stand-in-index", help="offline: framework packages from the local engine's stand-in index"),
    ] = False,
    profile: Annotated[
        str, typer.Option("--profile", help="Cargo profile of the Rust build, wheels and EPP library (release, dev, ...)")
    ] = "release",
) -> None:
    """Run the module's build-all in client mode (the local engine when it is up) and export it.

    The same function as `dagger call build-all -o DIR`, for machines without the Dagger CLI. A
    failed stage still exports what the others built and both reports, then exits 1 naming it.
    """
    import asyncio

    from localengine.layout import EngineLayout

    from .tags import check_sha

    # Input errors before the session, naming the paths as they were given.
    if not (source / "Cargo.toml").is_file():
        raise PipelineInputError(f"{source}/Cargo.toml: not found; --source must be a Dynamo checkout")
    if commit_sha:
        check_sha(commit_sha)
    if trivy_db is not None and not (trivy_db / "trivy.db").is_file():
        raise PipelineInputError(f"{trivy_db}/trivy.db: not found; --trivy-db must be a Trivy database directory")
    if stand_in_index and index_url:
        raise PipelineInputError("--stand-in-index serves its own index: drop --index-url")
    local_engine = EngineLayout.from_environment().client_env_if_up() or {}
    if "_EXPERIMENTAL_DAGGER_RUNNER_HOST" not in os.environ:
        os.environ.update(local_engine)
    overlay = overlay or (Path(os.environ["DYNAMO_PIPELINE_OVERLAY"]) if "DYNAMO_PIPELINE_OVERLAY" in os.environ else None)
    ctx = load_context(DEFAULT_CONTEXT, overlay)
    for name in frameworks or []:
        ctx.framework(name)  # unknown: one line with the allowed names
    commit_sha = commit_sha or _git_head(source)
    options = {
        "frameworks": frameworks, "trivy_db": trivy_db, "index_url": index_url, "stand_in_index": stand_in_index,
        "profile": profile,
    }
    exported, failure = asyncio.run(_export_build_all(source.resolve(), overlay, commit_sha, output.resolve(), options))
    typer.echo(f"build-all ({commit_sha or 'no commit'}) -> {exported}")
    if trivy_db is None and not ctx.scan.checks_vulnerabilities:
        typer.echo(f"scans: {ctx.scan.not_checked}")
    if failure:
        typer.echo(f"error: {failure}\nreports: {exported}/build-report.md, {exported}/build-report.json", err=True)
        raise typer.Exit(code=1)


def _git_head(directory: Path) -> str:
    result = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


async def _export_build_all(
    source: Path, overlay: Path | None, commit_sha: str, output: Path, options: dict
) -> tuple[str, str]:
    """Run the build graph, export dist/ (also when a stage failed); the path and the failure summary, if any."""
    import dagger
    from dagger import dag

    from .graph import failure_summary
    from .main import SOURCE_IGNORE, Dynamo

    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        dynamo = Dynamo(
            source=dag.host().directory(str(source), exclude=SOURCE_IGNORE),
            overlay=dag.host().file(str(overlay)) if overlay else None,
        )
        index = None
        index_url = options["index_url"]
        if options["stand_in_index"]:
            from localengine.package_index import INDEX_URL, stand_in_index

            index, index_url = stand_in_index(await dynamo._context()), INDEX_URL
        trivy_db = dag.host().directory(str(options["trivy_db"])) if options["trivy_db"] else None
        scan = dynamo.scan(trivy_db)
        built = await dynamo._graph(commit_sha, options["frameworks"], index_url, index, scan, True, {}, options["profile"])
        exported = await built.dist.export(str(output))
        failure = failure_summary(built.report.stages) if built.report.failed else ""
        return exported, failure


@app.command(
    "engine",
    help="Build, start and inspect the local Dagger engine (`engine --help`).",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def engine(ctx: typer.Context) -> None:
    """The local engine's commands (the `localengine` package beside the module), imported on use."""
    from localengine.cli import app as engine_app

    engine_app(ctx.args, prog_name=f"{ctx.find_root().info_name} engine")
