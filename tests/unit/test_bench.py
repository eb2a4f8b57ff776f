"""The benchmark's plain parts: progress parsing, OCI facts, edits, the rendered Dockerfile, the report."""

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from bench.buildkit import StepTimes
from bench.cargo_baseline import build_script_tools, missing_host_packages
from bench.measure import cargo_seconds, image_facts
from bench.run import Workspace, render_dockerfile, run_notes, scenario_plan
from bench.table import goals, markdown, ratio, seconds

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mini-dynamo"
OVERLAY = Path(__file__).resolve().parents[2] / "container" / "overlays" / "offline.toml"

PROGRESS = """#1 [internal] load build definition from Dockerfile
#1 DONE 0.1s
#5 [dynamo_base 3/4] RUN apt-get update
#5 DONE 0.3s
#5 DONE 40.5s
#6 [wheel_builder 2/9] COPY --from=dynamo_base /usr/local/cargo /usr/local/cargo
#6 CACHED
#9 [wheel_builder 9/9] RUN maturin build --release
#9 0.512 Compiling dynamo-llm
#9 DONE 61.2s
#10 [runtime 2/5] RUN uv venv
#10 DONE 3.0s
#11 exporting to oci image format
#11 DONE 2.5s
"""


def test_step_times_sum_per_dockerfile_stage():
    times = StepTimes.parse(PROGRESS)
    assert times.by_stage == {"internal": 2.6, "dynamo_base": 40.5, "wheel_builder": 61.2, "runtime": 3.0}
    assert times.cached == 1 and times.ran == 3
    assert times.slowest[0] == (61.2, "[wheel_builder] RUN maturin build --release")


def _blob(archive: tarfile.TarFile, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}"


def _layer(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as layer:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            layer.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def test_image_facts_count_layers_sizes_and_collected_files(tmp_path):
    tar_path = tmp_path / "image.tar"
    with tarfile.open(tar_path, "w") as archive:
        layers = [_layer({"usr/bin/tool": b"x" * 5000}),
                  _layer({"opt/dynamo/wheelhouse/ai_dynamo-1.0-py3-none-any.whl": b"w" * 300}),
                  _layer({"opt/dynamo/venv/lib/python3.11/site-packages/nixl_cu12/libnixl.so": b"n" * 2**20,
                          "opt/dynamo/venv/lib/python3.11/site-packages/torch/lib.so": b"t" * 2**20})]
        descriptors = [{"digest": _blob(archive, data), "size": len(data)} for data in layers]
        manifest = json.dumps({"layers": descriptors}).encode()
        index = json.dumps({"manifests": [{"digest": _blob(archive, manifest)}]}).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(index)
        archive.addfile(info, io.BytesIO(index))
    facts = image_facts(tar_path, collect_prefix="opt/dynamo/wheelhouse/")
    assert facts["layers"] == 3
    assert facts["files"] == {"ai_dynamo-1.0-py3-none-any.whl": 300}
    assert list(facts["largest_directories_mib"])[-2:] == ["usr/bin/tool", "opt/dynamo/wheelhouse/ai_dynamo-1.0-py3-none-any.whl"]
    # The NIXL layer counts whole (torch came with it); the other two carry no NIXL.
    assert facts["nixl_layers_mib"] == 2.0
    assert facts["uncompressed_bytes"] > facts["compressed_bytes"] == sum(len(data) for data in layers)


def test_scenarios_start_cold_then_repeat_the_edits():
    assert scenario_plan(2) == [("cold", 0), ("warm", 1), ("rust_edit", 1), ("python_edit", 1),
                                ("warm", 2), ("rust_edit", 2), ("python_edit", 2)]


def test_edits_touch_only_the_copy(tmp_path):
    original = (EXAMPLE / "lib/llm/src/lib.rs").read_text()
    workspace = Workspace(EXAMPLE, tmp_path, "copy", "lib/llm/src/lib.rs", "components/src/dynamo/frontend/__init__.py")
    workspace.apply("warm", 1)
    workspace.apply("rust_edit", 1)
    workspace.apply("python_edit", 1)
    assert workspace.rust_file.read_text() == original + "// bench edit 1\n"
    assert workspace.python_file.read_text().endswith("# bench edit 1\n")
    assert (EXAMPLE / "lib/llm/src/lib.rs").read_text() == original
    with pytest.raises(SystemExit, match="no/such.rs: not in"):
        Workspace(EXAMPLE, tmp_path, "other", "no/such.rs", "pyproject.toml")


def test_rendered_dockerfile_uses_the_checkouts_rust_and_no_syntax_line(tmp_path):
    dockerfile = render_dockerfile(EXAMPLE, OVERLAY, "dynamo", tmp_path).read_text()
    assert not dockerfile.startswith("# syntax=")
    assert "--default-toolchain 1.93.1" in dockerfile
    assert "FROM localhost:5000/quay.io/pypa/manylinux_2_28_x86_64:2025.09.28-1 AS wheel_builder" in dockerfile


def _results(**paths):
    return {"date": "2026-11-25 16:40 UTC", "source_label": "mini-dynamo", "engine_version": "v0.21.8",
            "buildkit_version": "v0.26.3", "cold_mode": "fresh keys", "rounds": 1,
            "machine": {"cpus": 2, "cpu_model": "x", "memory_gib": 24, "kernel": "6", "cargo": "1.95.0"},
            "load": {"start": 1.0, "max": 3.0}, **paths}


def test_goals_and_table_from_measured_figures():
    results = _results(
        pipeline={"build_all": {"cold": [{"seconds": 100.0}], "warm": [{"seconds": 4.0}], "rust_edit": [{"seconds": 30.0}]},
                  "runtime_path": {"cold": [{"seconds": 80.0, "image": {"uncompressed_mib": 300.0, "nixl_layers_mib": 120.0}}],
                                   "rust_edit": [{"seconds": 20.0}]},
                  "rust_build": {"cold": [{"seconds": 46.0}], "rust_edit": [{"seconds": 12.0}]}},
        dockerfile={"cold": [{"seconds": 160.0, "image": {"uncompressed_mib": 900.0}}], "rust_edit": [{"seconds": 50.0}]},
        cargo={"dev": {"cold": 40.0, "rust_edit": 10.0}, "release": {"cold": 50.0}},
        rust_profile="dev",
    )
    by_name = {goal["goal"]: goal for goal in goals(results)}
    assert by_name["warm no-op build-all (s)"]["met"] is True
    assert by_name["Rust change / our cold (build-all)"] == {
        "goal": "Rust change / our cold (build-all)", "value": 0.3, "limit": 0.2, "met": False}
    assert by_name["Rust change / Dockerfile's Rust change (wheels + runtime image)"]["value"] == 0.4
    assert by_name["cold / Dockerfile cold (wheels + runtime image)"]["value"] == 0.5
    assert by_name["cold build-all / bare cargo cold (dev + release)"]["value"] == 1.11
    assert by_name["cold rust build / bare cargo cold (dev)"] == {
        "goal": "cold rust build / bare cargo cold (dev)", "value": 1.15, "limit": 1.1, "met": False}
    assert by_name["runtime image size / Dockerfile's (uncompressed)"]["value"] == 0.33
    without_nixl = next(goal for name, goal in by_name.items() if name.startswith("runtime image size without NIXL"))
    assert without_nixl["value"] == 0.2 and without_nixl["met"] is True
    assert "sccache: off on both paths" in markdown(results) and "| hit rate |" not in markdown(results)
    assert "| scenario | pipeline build-all (release) |" in markdown(results)
    assert "| scenario | pipeline build-all (dev) |" in markdown(results | {"build_all_profile": "dev"})
    results["pipeline"]["build_all"]["cold"][0]["sccache"] = {"cargo build": {"hits": 0, "misses": 9, "hit_rate": 0.0}}
    results["pipeline"]["build_all"]["warm"][0]["sccache"] = {"cargo build": {"hits": 0, "misses": 9, "hit_rate": 0.0}}
    results["pipeline"]["build_all"]["rust_edit"][0]["sccache"] = {"cargo build": {"hits": 8, "misses": 1, "hit_rate": 0.89}}
    results["pipeline"]["rust_build"]["cold"][0]["sccache"] = {"cargo build": {"hits": 0, "misses": 9, "hit_rate": 0.0}}
    text = markdown(results)
    assert "| cold | build-all: cargo build | 0 | 9 | 0% |" in text
    assert "| warm no-op | build-all: cargo build | exec cached | | |" in text
    assert "| one-line Rust change | build-all: cargo build | 8 | 1 | 89% |" in text
    assert "| cold | rust build: cargo build | 0 | 9 | 0% |" in text and "sccache: off" not in text
    assert "| cold | 100 s | 80 s | 160 s | 0.5× | 46 s | 40 s | 50 s | 1.15× |" in text
    assert "| one-line Rust change | 30 s | 20 s | 50 s | 0.4× | 12 s | 10 s | – | 1.2× |" in text
    assert "| one-line Python change | – | – | – | – | – | – | – | – |" in text


def test_ratio_and_median_handle_missing_runs():
    assert ratio(None, 3.0) is None and ratio(3.0, 0) is None and ratio(1.0, 4.0) == 0.25
    assert seconds(None) is None and seconds([{"seconds": 3.0}, {"seconds": 1.0}, {"seconds": 2.0}]) == 2.0


def test_rust_change_times_wheels_with_a_commit_and_refuses_wheel_options_for_rust(capsys):
    from bench.rust_change import parse_args

    args = parse_args(["--source", str(EXAMPLE), "--stage", "wheels", "--commit", "0" * 40, "--check"])
    assert (args.stage, args.commit, args.check, args.profile) == ("wheels", "0" * 40, True, "release")
    assert (parse_args(["--source", str(EXAMPLE)]).stage, parse_args(["--source", str(EXAMPLE)]).profile) == ("rust", "dev")
    with pytest.raises(SystemExit):
        parse_args(["--source", str(EXAMPLE), "--commit", "0" * 40])
    assert "go with --stage wheels" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--source", str(EXAMPLE / "lib"), "--stage", "wheels"])
    assert "must be a Dynamo checkout" in capsys.readouterr().err


def test_runtime_image_needs_a_checkout_wheels_and_a_sha(tmp_path, capsys):
    from bench.runtime_image import parse_args

    dist = tmp_path / "dist"
    dist.mkdir()
    with pytest.raises(SystemExit):
        parse_args(["--source", str(EXAMPLE), "--wheels", str(dist), "--commit", "0" * 40])
    assert "no *.whl" in capsys.readouterr().err
    (dist / "ai_dynamo-1.1.0-py3-none-any.whl").write_bytes(b"")
    args = parse_args(["--source", str(EXAMPLE), "--wheels", str(dist), "--commit", "0" * 40])
    assert (args.framework, args.module) == ("vllm", "vllm")
    assert parse_args(["--source", str(EXAMPLE), "--wheels", str(dist), "--commit", "0" * 40,
                       "--framework", "dynamo"]).module == ""
    with pytest.raises(SystemExit):
        parse_args(["--source", str(EXAMPLE), "--wheels", str(dist), "--commit", "XYZ"])
    assert "7 to 40 lowercase hex digits" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--source", str(EXAMPLE / "lib"), "--wheels", str(dist), "--commit", "0" * 40])
    assert "must be a Dynamo checkout" in capsys.readouterr().err


def test_bare_cargo_names_the_missing_libclang_only_when_bindgen_is_locked(tmp_path):
    (tmp_path / "Cargo.lock").write_text('[[package]]\nname = "bindgen"\nversion = "0.71.1"\n')
    without = "\t2 libs found in cache `/etc/ld.so.cache'\n\tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6\n"
    problem = missing_host_packages(tmp_path, ("clang", "libclang-dev"), without)
    assert problem == (f"{tmp_path}/Cargo.lock: bindgen needs libclang, which this host lacks; install the "
                       "builder's packages first: apt-get install clang libclang-dev")
    assert missing_host_packages(tmp_path, ("clang",), without + "\tlibclang-14.so.1 => /usr/lib/libclang-14.so.1\n") is None
    (tmp_path / "Cargo.lock").write_text('[[package]]\nname = "serde"\n')
    assert missing_host_packages(tmp_path, ("clang",), without) is None


def test_bare_cargo_gets_the_builders_protoc_and_swagger_ui(tmp_path):
    from pipeline.context import load_context

    tools = load_context().tools
    env = build_script_tools(tmp_path, tools["protoc"], tools["swagger_ui"], tools["swagger_ui_integrity"])
    version = subprocess.run([env["PROTOC"], "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"libprotoc {tools['protoc']}"
    with zipfile.ZipFile(env["SWAGGER_UI_DOWNLOAD_URL"].removeprefix("file://")) as archive:
        assert f"swagger-ui-{tools['swagger_ui']}/dist/swagger-ui-bundle.js" in archive.namelist()


def test_cargo_seconds_reads_the_last_finished_line():
    output = ("   Compiling dynamo-llm v1.1.0 (/src/lib/llm)\n"
              "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 18.14s\n"
              "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 7m 56s\n")
    assert cargo_seconds(output) == 476.0
    assert cargo_seconds("    Finished `release` profile [optimized] target(s) in 0.13s\n") == 0.1
    assert cargo_seconds("error: could not compile `dynamo-llm`\n") is None


def test_the_dockerfile_paths_notes_only_when_it_ran():
    """A run of the pipeline and bare cargo says nothing about BuildKit or the Dockerfile's image."""
    alone = " ".join(run_notes(["pipeline", "cargo"]))
    assert "Dockerfile" not in alone and "NIXL" not in alone and "Edits are comment lines" in alone
    both = " ".join(run_notes(["pipeline", "dockerfile"]))
    assert "The Dockerfile path strips `# syntax=`" in both and "Both runtime images carry NIXL" in both
