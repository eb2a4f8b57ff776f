"""Benchmark the pipeline against the rendered Dockerfile built by BuildKit, in one run on one machine.

    eval "$(.venv/bin/python -m pipeline engine env)"
    .venv/bin/python -m bench.run                       # examples/mini-dynamo, fresh-keys cold
    .venv/bin/python -m bench.run --source /path/to/dynamo --paths pipeline,cargo

Scenarios, in this order on each path: cold, then --rounds times: warm no-op, a one-line change
in a Rust source file, a one-line change in a Python source file (the edits go into a copy of the
source; the checkout is never touched). Paths:

- pipeline: `build-all`, `wheels build` + `image runtime` (what the Dockerfile's runtime
  target chains), and `rust build --profile <--rust-profile>` (bare cargo's peer: `--targets
  rust_build`), on the local engine in client mode. Cold is "fresh keys" by default: a new
  salt (DYNAMO_PIPELINE_CACHE_SALT) renames every cache volume and busts every exec, so nothing
  is reused and nobody else's caches are touched. --cold also prunes the engine's cache first
  (base images too; a quiet machine with an unshared engine only); each target keeps its own salt,
  so the second target does not reuse the first one's work.
- dockerfile: the project's rendered multi-stage Dockerfile (`dynamo runtime`), built by
  buildkitd + buildctl from tools/buildkit with a fresh state directory, the same stand-in bases
  from the local registry and the cache mounts the Dockerfile declares.
- cargo: bare `cargo build --locked --workspace` on the host (dev and release), cold (an empty
  CARGO_HOME: crates are downloaded, as on the pipeline's cold run) and after the Rust change: the
  physical floor.

Writes bench/results/<date>-<source>.json and .md. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DAGGER_MAIN_OBJECT", "Dynamo")

from . import buildkit, cargo_baseline, pipeline_path, table  # noqa: E402
from .measure import (  # noqa: E402
    PeakMemory, Stopwatch, directory_bytes, docker_memory_cgroup, engine_disk, image_facts, load_average,
)

PATHS = ("pipeline", "dockerfile", "cargo")
TARGETS = ("build_all", "runtime_path", "rust_build")
EDIT_SCENARIOS = ("warm", "rust_edit", "python_edit")
DEFAULT_SOURCE = REPO_ROOT / "examples" / "mini-dynamo"
COPY_IGNORE = shutil.ignore_patterns("target", ".git", ".venv", "__pycache__", "*.pyc", "node_modules")
WHEELHOUSE = "opt/dynamo/wheelhouse/"


def _engine_layout():
    """The local engine's layout (paths, container, registry port)."""
    from localengine.layout import EngineLayout

    return EngineLayout.from_environment()


class Log:
    """Progress lines on stderr, and the load average seen at each one."""

    def __init__(self) -> None:
        self.loads = [load_average()]

    def __call__(self, message: str) -> None:
        self.loads.append(load_average())
        print(f"[bench {time.strftime('%H:%M:%S')} load {self.loads[-1]}] {message}", file=sys.stderr, flush=True)


class Workspace:
    """A private copy of the source that the scenarios edit, one line at a time."""

    def __init__(self, source: Path, parent: Path, name: str, rust_file: str, python_file: str):
        self.path = parent / name
        shutil.copytree(source, self.path, ignore=COPY_IGNORE, symlinks=True)
        self.rust_file, self.python_file = self.path / rust_file, self.path / python_file
        for edited in (self.rust_file, self.python_file):
            if not edited.is_file():
                raise SystemExit(f"{edited.relative_to(self.path)}: not in {source}; pass --rust-file/--python-file")

    def apply(self, scenario: str, round_index: int) -> None:
        """The scenario's edit (the same text on every path): a comment line appended."""
        if scenario == "rust_edit":
            with self.rust_file.open("a") as handle:
                handle.write(f"// bench edit {round_index}\n")
        elif scenario == "python_edit":
            with self.python_file.open("a") as handle:
                handle.write(f"# bench edit {round_index}\n")


def scenario_plan(rounds: int) -> list[tuple[str, int]]:
    """cold, then `rounds` times warm / Rust change / Python change."""
    return [("cold", 0)] + [(scenario, index) for index in range(1, rounds + 1) for scenario in EDIT_SCENARIOS]


def render_dockerfile(source: Path, overlay: Path, framework: str, destination: Path) -> Path:
    """The project's rendered `<framework> runtime` Dockerfile against the stand-ins.

    Rust is the checkout's rust-toolchain.toml channel: rustup would otherwise fetch that one as
    well in every cargo step. The `# syntax=` line goes: it would pull a frontend image from Docker
    Hub; BuildKit's built-in Dockerfile frontend is newer than the one it names.
    """
    from pipeline.context import load_context
    from pipeline.render import render

    overrides = {}
    toolchain_file = source / "rust-toolchain.toml"
    if toolchain_file.is_file():
        overrides["rust"] = tomllib.loads(toolchain_file.read_text())["toolchain"]["channel"]
    ctx = load_context(overlay=overlay, tool_overrides=overrides)
    text = render(ctx, framework, "runtime", "cuda", ctx.framework(framework).cuda_versions[0], "linux/amd64")
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# syntax="):
        lines = lines[1:]
    destination.mkdir(parents=True, exist_ok=True)
    dockerfile = destination / "Dockerfile"
    dockerfile.write_text("".join(lines))
    return dockerfile


async def pipeline_runs(args: argparse.Namespace, work: Path, log: Log, results: dict[str, Any]) -> None:
    """The pipeline's scenarios: build-all, the wheels -> runtime image chain and `rust build`, each with its own salt."""
    import dagger

    layout = _engine_layout()
    container_id = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", layout.container],
                                  capture_output=True, text=True, check=True).stdout.strip()
    cgroup = docker_memory_cgroup(container_id)
    workspace = Workspace(args.source, work, "pipeline-src", args.rust_file, args.python_file)
    run_id = uuid.uuid4().hex[:8]
    # Even after a prune (--cold): without its own salt a target would reuse the one before it.
    salts = {target: f"bench-{run_id}-{target}" for target in TARGETS}
    # Printed, so that a run that fails late can be repeated warm: DYNAMO_PIPELINE_CACHE_SALT=<salt>.
    log(f"cache salts: {', '.join(salts[target] for target in args.targets)}")
    pipeline: dict[str, Any] = {target: {} for target in TARGETS} | {"memory": {}}
    engine_log = (args.logs / "bench-engine.log").open("a")
    config = dagger.Config(log_output=engine_log)
    if args.cold:
        async with dagger.connection(config):
            log("pruning the engine's cache (--cold)")
            await pipeline_path.prune_engine_cache()
    for scenario, index in scenario_plan(args.rounds):
        workspace.apply(scenario, index)
        # One session per scenario, as one `dagger call` each: the edited checkout is imported anew.
        async with dagger.connection(config):
            with PeakMemory(cgroup) as memory:
                if "build_all" in args.targets:
                    out = work / f"build-all-{scenario}-{index}"
                    figures = await pipeline_path.build_all(workspace.path, args.overlay, args.commit_sha,
                                                            salts["build_all"], out, args.build_all_profile)
                    pipeline["build_all"].setdefault(scenario, []).append(figures)
                    log(f"pipeline build-all {scenario}: {figures['seconds']} s {json.dumps(figures['stages'])}")
                if "runtime_path" in args.targets:
                    tar = work / "pipeline-runtime.tar" if scenario == "cold" else None
                    figures = await pipeline_path.runtime_path(workspace.path, args.overlay, args.commit_sha,
                                                               args.framework, salts["runtime_path"], tar)
                    figures.get("image", {}).pop("path", None)
                    if tar is not None:
                        tar.unlink(missing_ok=True)  # gigabytes: the Dockerfile path needs the disk
                    pipeline["runtime_path"].setdefault(scenario, []).append(figures)
                    log(f"pipeline wheels + runtime image {scenario}: {figures['seconds']} s {json.dumps(figures['stages'])}")
                if "rust_build" in args.targets:
                    figures = await pipeline_path.rust_build(workspace.path, args.overlay, args.rust_profile,
                                                             salts["rust_build"])
                    pipeline["rust_build"].setdefault(scenario, []).append(figures)
                    log(f"pipeline rust build --profile {args.rust_profile} {scenario}: {figures['seconds']} s "
                        f"{json.dumps(figures['sccache'])}")
        pipeline["memory"][scenario] = memory.as_dict()
    results["pipeline"] = pipeline
    results["salts"] = salts


def dockerfile_runs(args: argparse.Namespace, work: Path, log: Log, results: dict[str, Any]) -> None:
    """The Dockerfile's scenarios on a private buildkitd whose state starts empty."""
    layout = _engine_layout()
    bin_dir = buildkit.build_binaries(layout.cache)
    workspace = Workspace(args.source, work, "dockerfile-src", args.rust_file, args.python_file)
    dockerfile = render_dockerfile(args.source, args.overlay, args.framework, work / "dockerfile")
    registry = f"localhost:{layout.registry_port}"
    daemon = buildkit.BuildKitDaemon(bin_dir, layout.bin / "runc", work / "buildkit-state", registry,
                                     args.logs / "bench-buildkitd.log")
    build_args = {
        # GitHub is unreachable here: NATS and etcd from the Go module proxy, as the pipeline builds them.
        "NATS_ETCD_FROM": "go",
        "DYNAMO_COMMIT_SHA": args.commit_sha,
        # The Dockerfile's default is 16 jobs; the pipeline's cargo runs one per core.
        "CARGO_BUILD_JOBS": str(os.cpu_count()),
    }
    runs: dict[str, list[dict[str, Any]]] = {}
    memory_by_scenario: dict[str, Any] = {}
    daemon.start()
    try:
        for scenario, index in scenario_plan(args.rounds):
            workspace.apply(scenario, index)
            with PeakMemory(buildkit.MEMORY_CGROUP) as memory:
                seconds, steps = daemon.build(workspace.path, dockerfile, "runtime", build_args, None,
                                              args.logs / f"bench-buildctl-{scenario}-{index}.log")
            figures: dict[str, Any] = {"seconds": round(seconds, 1), "stages": steps.by_stage,
                                       "steps_ran": steps.ran, "steps_cached": steps.cached,
                                       "slowest_steps": steps.slowest}
            if scenario == "cold":
                # Untimed, as the pipeline's export: the same build again (all cached), written out.
                tar = work / "dockerfile-runtime.tar"
                figures["export_seconds"], _ = daemon.build(workspace.path, dockerfile, "runtime", build_args, tar,
                                                            args.logs / "bench-buildctl-export.log")
                figures["export_seconds"] = round(figures["export_seconds"], 1)
                figures["image"] = image_facts(tar, collect_prefix=WHEELHOUSE)
                tar.unlink(missing_ok=True)
            runs.setdefault(scenario, []).append(figures)
            memory_by_scenario[scenario] = memory.as_dict()
            log(f"dockerfile {scenario}: {figures['seconds']} s {json.dumps(steps.by_stage)}")
    finally:
        daemon.stop()
        results["buildkit_disk_mib"] = round(directory_bytes(daemon.state) / 2**20)
        daemon.remove_state()
    results["dockerfile"] = runs
    results["dockerfile_memory"] = memory_by_scenario
    results["dockerfile_file"] = dockerfile.read_text()


def run_notes(paths: list[str]) -> list[str]:
    """The results' notes on how the paths that ran were measured (the Dockerfile's only when it ran)."""
    notes = [
        "Edits are comment lines appended to the Rust and Python files (the same text on every path).",
        "Pipeline times are client-mode wall times of one session per scenario (as one `dagger call` each), "
        "from the checkout's upload from the host (keyed by content, as `--source`) to the target's result: "
        "build-all's directory exported to the host, the runtime chain's image or `rust build`'s artifacts "
        "synced; the session's start is not counted.",
        "Peak memory: cgroup v1 samples every 0.5 s; the engine is shared, so its figures include others' work.",
        "Pipeline stage times are each exec chain's wall time, builder set-up included when it is not cached.",
    ]
    if "dockerfile" in paths:
        notes += [
            "The Dockerfile path strips `# syntax=` (BuildKit's built-in frontend), passes CARGO_BUILD_JOBS = cores "
            "and NATS_ETCD_FROM=go (GitHub's release binaries are unreachable: nats-server and etcd compile from "
            "the Go module proxy in two stages beside the wheel build, as the pipeline's Native stage builds "
            "them beside its wheels) and installs Rust with rustup from static.rust-lang.org at "
            "rust-toolchain.toml's channel; the pipeline's stand-in builder carries the host's Rust (no download).",
            "Both runtime images carry NIXL: nixl-cu12 and the nixl meta package at the context's nixl_ref from "
            "the same index (the pipeline downloads them in the Native stage; the rendered Dockerfile installs "
            "them with uv, as upstream's runtime installs the NIXL wheels it builds), with torch and numpy, which "
            "`import nixl` needs, and their PyPI dependencies. Both install NIXL before the Dynamo wheels, beside "
            "the wheel build. The bases differ: the pipeline's runtime image is the CUDA runtime base with a venv; "
            "the Dockerfile's dynamo runtime is dynamo_base (devel base, Rust toolchain, sccache), as upstream's. "
            "See the largest directories.",
        ]
    return notes


def cargo_runs(args: argparse.Namespace, work: Path, log: Log, results: dict[str, Any]) -> None:
    """Bare cargo on the host: cold (fresh target directory and an empty registry: crates are
    downloaded, as the pipeline's cold run downloads them) and after the Rust change."""
    workspace = Workspace(args.source, work, "cargo-src", args.rust_file, args.python_file)
    tools = args.context.tools
    tools_dir = work / "cargo-tools"
    tools_dir.mkdir()
    tools_env = cargo_baseline.build_script_tools(tools_dir, tools["protoc"], tools["swagger_ui"], tools["swagger_ui_integrity"])
    env = {profile: tools_env | {"CARGO_HOME": str(work / f"cargo-home-{profile}")} for profile in args.cargo_profiles}
    figures: dict[str, dict[str, float]] = {}
    for profile in args.cargo_profiles:
        target = work / f"cargo-target-{profile}"
        figures[profile] = {"cold": cargo_baseline.cargo_build(workspace.path, target, profile, args.logs / "bench-cargo.log",
                                                               env[profile])}
        log(f"bare cargo {profile} cold: {figures[profile]['cold']} s")
    workspace.apply("rust_edit", 1)
    for profile in args.cargo_profiles:
        target = work / f"cargo-target-{profile}"
        figures[profile]["rust_edit"] = cargo_baseline.cargo_build(workspace.path, target, profile,
                                                                   args.logs / "bench-cargo.log", env[profile])
        log(f"bare cargo {profile} after the Rust change: {figures[profile]['rust_edit']} s")
        shutil.rmtree(target, ignore_errors=True)
    results["cargo"] = figures


def import_seconds() -> float:
    """The fastest of three `import pipeline.main` in a fresh interpreter, minus a bare interpreter's start."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def fastest(code: str) -> float:
        best = float("inf")
        for _ in range(3):
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO_ROOT)
            best = min(best, time.monotonic() - started)
        return best

    return round(fastest("import pipeline.main") - fastest("pass"), 2)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, kernel and host cargo."""
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    cargo = subprocess.run(["cargo", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20),
            "cpu_model": model, "kernel": platform.release(), "cargo": cargo.removeprefix("cargo ")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Dynamo checkout (default: the example)")
    parser.add_argument("--cold", action="store_true",
                        help="also prune the engine's cache first (never on a shared engine)")
    parser.add_argument("--rounds", type=int, default=1, help="repetitions of warm / Rust change / Python change")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated subset of {','.join(PATHS)}")
    parser.add_argument("--targets", default="build_all,runtime_path",
                        help=f"pipeline targets, a subset of {','.join(TARGETS)} (runtime_path: wheels + runtime "
                        "image; rust_build: `rust build`, bare cargo's peer)")
    parser.add_argument("--rust-profile", default="dev", help="cargo profile of the rust_build target")
    parser.add_argument("--build-all-profile", default="release",
                        help="cargo profile of the build_all target (dev: one target directory for the build and the tests)")
    parser.add_argument("--framework", default="dynamo", help="framework of the runtime image and the wheel features")
    parser.add_argument("--rust-file", default="lib/llm/src/lib.rs", help="Rust file the Rust change edits")
    parser.add_argument("--python-file", default="components/src/dynamo/frontend/__init__.py",
                        help="Python file the Python change edits")
    parser.add_argument("--cargo-profiles", default="dev,release", help="profiles of the bare cargo baseline")
    parser.add_argument("--commit-sha", default="0123abcd", help="commit stamped into wheels and images")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results", help="where the JSON and .md go")
    parser.add_argument("--logs", type=Path, default=Path("/tmp/logs"), help="where build logs go")
    parser.add_argument("--label", default="", help="source name in the result files (default: the directory's)")
    args = parser.parse_args(argv)
    args.source = args.source.resolve()
    args.paths = [p for p in args.paths.split(",") if p]
    args.targets = [t for t in args.targets.split(",") if t]
    args.cargo_profiles = [p for p in args.cargo_profiles.split(",") if p]
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}; allowed: {', '.join(PATHS)}")
    if unknown := set(args.targets) - set(TARGETS):
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}; allowed: {', '.join(TARGETS)}")
    if not (args.source / "Cargo.toml").is_file():
        parser.error(f"{args.source}/Cargo.toml: not found; --source must be a Dynamo checkout")
    overlay = os.environ.get("DYNAMO_PIPELINE_OVERLAY")
    if not overlay:
        parser.error('DYNAMO_PIPELINE_OVERLAY is not set: eval "$(python -m pipeline engine env)" first')
    args.overlay = Path(overlay)
    if "cargo" in args.paths:
        from pipeline.context import load_context

        # Loaded once: the host's packages are checked before any work, the tool versions used later.
        args.context = load_context(overlay=args.overlay)
        apt = args.context.builder_packages.get("apt", ())
        if problem := cargo_baseline.missing_host_packages(args.source, apt):
            parser.error(problem)
    args.logs.mkdir(parents=True, exist_ok=True)
    label = args.label or ("mini-dynamo" if args.source == DEFAULT_SOURCE else args.source.name)

    layout = _engine_layout()
    log = Log()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "source": str(args.source), "source_label": label, "machine": machine(),
        "engine_version": layout.version, "buildkit_version": buildkit.pinned_version(),
        "cold_mode": "engine cache pruned (--cold), fresh keys per target" if args.cold else "fresh keys (salted cache volumes and execs)",
        "rounds": args.rounds, "paths": args.paths, "rust_profile": args.rust_profile,
        "build_all_profile": args.build_all_profile, "command": " ".join(["python -m bench.run", *(argv or sys.argv[1:])]),
        "import_seconds": import_seconds(), "engine_disk": {"before": engine_disk(layout.container)},
        "notes": run_notes(args.paths),
    }
    with tempfile.TemporaryDirectory(prefix="dynamo-bench-", dir="/var/tmp") as temp:
        work = Path(temp)
        if "pipeline" in args.paths:
            import dagger

            with Stopwatch() as watch:
                try:
                    asyncio.run(pipeline_runs(args, work, log, results))
                except dagger.ExecError as error:
                    raise SystemExit(f"pipeline exec failed: {' '.join(error.command)}\n{(error.stderr or error.message)[-4000:]}") from None
            log(f"pipeline path done in {watch.seconds} s")
        if "dockerfile" in args.paths:
            with Stopwatch() as watch:
                dockerfile_runs(args, work, log, results)
            log(f"dockerfile path done in {watch.seconds} s")
        if "cargo" in args.paths:
            try:
                cargo_runs(args, work, log, results)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                # The other paths' figures are kept: a bare cargo failure is recorded, not fatal.
                results["cargo_error"] = str(error)
                log(f"bare cargo failed: {error}")
    results["engine_disk"]["after"] = engine_disk(layout.container)
    results["load"] = {"start": log.loads[0], "max": max(log.loads), "samples": log.loads}
    results["goals"] = table.goals(results)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{results['date'][:10]}-{label}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(table.markdown(results))
    print(table.markdown(results))
    print(f"wrote {args.out / stem}.json and .md", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
