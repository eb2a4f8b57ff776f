"""The Markdown report of a bench run: absolute times, ratios (pipeline / Dockerfile), goals.

Plain Python over the JSON that bench/run.py writes, so the unit tests check it without an engine.
"""

from __future__ import annotations

from statistics import median
from typing import Any

SCENARIOS = ("cold", "warm", "rust_edit", "python_edit")
SCENARIO_LABELS = {
    "cold": "cold",
    "warm": "warm no-op",
    "rust_edit": "one-line Rust change",
    "python_edit": "one-line Python change",
}


def seconds(runs: list[dict[str, Any]] | None) -> float | None:
    """The median wall time of a scenario's runs (None when it did not run)."""
    return round(median(run["seconds"] for run in runs), 1) if runs else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to two places; None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def _fmt(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue #12's goals, each with the measured value, its limit and whether it holds."""
    pipeline = results.get("pipeline", {})
    build_all = pipeline.get("build_all", {})
    chain = pipeline.get("runtime_path", {})
    rust = pipeline.get("rust_build", {})
    dockerfile = results.get("dockerfile", {})
    cargo = results.get("cargo", {})
    profile = results.get("rust_profile", "dev")
    checks = [
        ("warm no-op build-all (s)", seconds(build_all.get("warm")), 5.0),
        ("Rust change / our cold (build-all)", ratio(seconds(build_all.get("rust_edit")), seconds(build_all.get("cold"))), 0.2),
        ("Rust change / Dockerfile's Rust change (wheels + runtime image)",
         ratio(seconds(chain.get("rust_edit")), seconds(dockerfile.get("rust_edit"))), 0.5),
        ("cold / Dockerfile cold (wheels + runtime image)", ratio(seconds(chain.get("cold")), seconds(dockerfile.get("cold"))), 1.0),
        ("cold build-all / bare cargo cold (dev + release)",
         ratio(seconds(build_all.get("cold")), _sum(cargo.get("dev", {}).get("cold"), cargo.get("release", {}).get("cold"))), 1.1),
        (f"cold rust build / bare cargo cold ({profile})", ratio(seconds(rust.get("cold")), cargo.get(profile, {}).get("cold")), 1.1),
        ("runtime image size / Dockerfile's (uncompressed)", ratio(_image_mib(chain), _image_mib(dockerfile)), 1.0),
        # Both carry NIXL (and torch with it): this shows what the rest of each image weighs.
        ("runtime image size without NIXL's layers / Dockerfile's without its (uncompressed)",
         ratio(_image_mib(chain, without_nixl=True), _image_mib(dockerfile, without_nixl=True)), 1.0),
    ]
    return [
        {"goal": name, "value": value, "limit": limit, "met": None if value is None else value <= limit}
        for name, value, limit in checks
    ]


def _sum(*values: float | None) -> float | None:
    return None if any(v is None for v in values) else round(sum(values), 1)


def _image_mib(path: dict[str, Any], without_nixl: bool = False) -> float | None:
    for run in path.get("cold", []) or []:
        if "image" in run:
            image = run["image"]
            return round(image["uncompressed_mib"] - (image.get("nixl_layers_mib", 0.0) if without_nixl else 0.0), 1)
    return None


def markdown(results: dict[str, Any]) -> str:
    """The whole report."""
    pipeline = results.get("pipeline", {})
    build_all, chain = pipeline.get("build_all", {}), pipeline.get("runtime_path", {})
    rust, profile = pipeline.get("rust_build", {}), results.get("rust_profile", "dev")
    dockerfile, cargo = results.get("dockerfile", {}), results.get("cargo", {})
    machine = results["machine"]
    lines = [
        f"# Bench: {results['source_label']} ({results['date']})",
        "",
        f"Machine: {machine['cpus']} cores ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"kernel {machine['kernel']}; engine {results['engine_version']} (shared), BuildKit {results['buildkit_version']}, "
        f"host cargo {machine['cargo']}. Load average (1 min) at start {results['load']['start']}, "
        f"peak during the run {results['load']['max']}. Cold mode: {results['cold_mode']}. "
        f"Rounds: {results['rounds']} (medians).",
        "",
        f"| scenario | pipeline build-all ({results.get('build_all_profile', 'release')}) "
        "| pipeline wheels + runtime image | Dockerfile (BuildKit) runtime target "
        f"| ratio pipeline / Dockerfile | pipeline rust build ({profile}) | bare cargo dev | bare cargo release "
        f"| ratio rust build / bare cargo ({profile}) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        chain_s, docker_s = seconds(chain.get(scenario)), seconds(dockerfile.get(scenario))
        rust_s = seconds(rust.get(scenario))
        lines.append(
            f"| {SCENARIO_LABELS[scenario]} | {_fmt(seconds(build_all.get(scenario)), ' s')} | {_fmt(chain_s, ' s')} "
            f"| {_fmt(docker_s, ' s')} | {_fmt(ratio(chain_s, docker_s), '×')} | {_fmt(rust_s, ' s')} "
            f"| {_fmt(cargo.get('dev', {}).get(scenario), ' s')} | {_fmt(cargo.get('release', {}).get(scenario), ' s')} "
            f"| {_fmt(ratio(rust_s, cargo.get(profile, {}).get(scenario)), '×')} |"
        )
    if results.get("cargo_error"):
        lines += ["", f"Bare cargo failed: {results['cargo_error']}"]
    lines += ["", "## Goals (issue #12)", "", "| goal | measured | limit | met |", "|---|---|---|---|"]
    for goal in goals(results):
        met = {True: "yes", False: "**no**", None: "–"}[goal["met"]]
        lines.append(f"| {goal['goal']} | {_fmt(goal['value'])} | {goal['limit']:g} | {met} |")
    lines += ["", "## Stages", ""]
    lines += _stage_table("pipeline build-all (each stage's own time inside the run; they overlap)", build_all)
    lines += _stage_table("pipeline wheels + runtime image", chain)
    lines += _stage_table(f"pipeline rust build ({profile})", rust)
    lines += _stage_table("Dockerfile: seconds per Dockerfile stage (steps summed)", dockerfile)
    lines += ["## Images, caches, memory", "", "| | pipeline | Dockerfile |", "|---|---|---|"]
    pipeline_image = next((r["image"] for r in chain.get("cold", []) if "image" in r), None)
    docker_image = next((r["image"] for r in dockerfile.get("cold", []) if "image" in r), None)
    for key, label in (("uncompressed_mib", "runtime image, uncompressed MiB"), ("compressed_mib", "runtime image, compressed MiB"),
                       ("nixl_layers_mib", "of which layers carrying NIXL (and its dependencies), uncompressed MiB"),
                       ("layers", "runtime image layers")):
        lines.append(f"| {label} | {_fmt((pipeline_image or {}).get(key))} | {_fmt((docker_image or {}).get(key))} |")
    lines.append(f"| wheels in the image | {', '.join(sorted((pipeline_image or {}).get('files', {}))) or '–'} "
                 f"| {', '.join(sorted((docker_image or {}).get('files', {}))) or '–'} |")
    for label, image in (("pipeline", pipeline_image), ("Dockerfile", docker_image)):
        largest = (image or {}).get("largest_directories_mib", {})
        if largest:
            lines.append(f"| largest directories, {label} image (MiB) | "
                         + ("; ".join(f"`{name}` {size:g}" for name, size in largest.items()) if label == "pipeline" else "")
                         + " | " + ("; ".join(f"`{name}` {size:g}" for name, size in largest.items()) if label == "Dockerfile" else "")
                         + " |")
    for scenario in SCENARIOS:
        engine = _peak(pipeline.get("memory", {}).get(scenario))
        daemon = _peak(results.get("dockerfile_memory", {}).get(scenario))
        lines.append(f"| peak memory, {SCENARIO_LABELS[scenario]} (RSS / with page cache, MiB) | {engine} | {daemon} |")
    lines.append(f"| state on disk after the run | engine {results.get('engine_disk', {}).get('after', '–')} "
                 f"(shared) | {_fmt(results.get('buildkit_disk_mib'), ' MiB')} |")
    sccache_rows = []
    for target, path in (("build-all", build_all), ("rust build", rust)):
        previous: dict[str, Any] = {}
        for scenario in SCENARIOS:
            for run in (path.get(scenario) or [])[:1]:
                for step, stats in run.get("sccache", {}).items():
                    label = f"{target}: {step}"
                    # A cached exec keeps the statistics file of the run that produced it.
                    if previous.get(step) == stats:
                        sccache_rows.append(f"| {SCENARIO_LABELS[scenario]} | {label} | exec cached | | |")
                    else:
                        sccache_rows.append(f"| {SCENARIO_LABELS[scenario]} | {label} | {stats['hits']} "
                                            f"| {stats['misses']} | {stats['hit_rate']:.0%} |")
                    previous[step] = stats
    if sccache_rows:
        lines += ["", "sccache (pipeline; the Dockerfile uses sccache only with S3, off here):", ""]
        lines += ["| scenario | step | hits | misses | hit rate |", "|---|---|---|---|---|", *sccache_rows]
    else:
        lines += ["", "sccache: off on both paths (the pipeline uses it only with a shared Redis, the Dockerfile only with S3)."]
    if results.get("import_seconds") is not None:
        lines += ["", f"Python import of the module (`import pipeline.main`): {results['import_seconds']} s."]
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def _peak(memory: dict[str, Any] | None) -> str:
    if not memory or memory.get("peak_rss_mib") is None:
        return "–"
    return f"{memory['peak_rss_mib']} / {memory['peak_usage_mib']}"


def _stage_table(title: str, path: dict[str, Any]) -> list[str]:
    stages: list[str] = []
    for scenario in SCENARIOS:
        for run in path.get(scenario) or []:
            stages += [name for name in run.get("stages", {}) if name not in stages]
    if not stages:
        return []
    lines = [f"{title}:", "", "| stage | " + " | ".join(SCENARIO_LABELS[s] for s in SCENARIOS) + " |",
             "|---" * (len(SCENARIOS) + 1) + "|"]
    for stage in stages:
        cells = []
        for scenario in SCENARIOS:
            values = [run["stages"][stage] for run in path.get(scenario) or [] if stage in run.get("stages", {})]
            cells.append(_fmt(round(median(values), 1) if values else None, " s"))
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return lines + [""]
