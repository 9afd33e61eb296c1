"""The GPU kit (tools/gpu_kit.py, tools/gpu_run.py), checked on the CPU without a kit on disk.

What needs the downloaded kit (the install from the folder, the runner on a notebook) is run by
hand, as README.md's section "The GPU pass" says; a prepared kit's plan is checked here when one
is present.
"""

from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import gpu_kit  # noqa: E402
import gpu_run  # noqa: E402

MIB = gpu_kit.MIB


def _items(*sizes: int) -> list[gpu_kit.Item]:
    return [gpu_kit.Item("wheel", f"w{i}.whl", s, "0" * 64) for i, s in enumerate(sizes)]


def test_plan_fills_call_one_then_spreads_the_weights():
    tree = 3 * MIB
    fixed = _items(30 * MIB, 15 * MIB)
    stream = 82 * MIB
    sizes, budget = gpu_kit.plan_calls(tree, fixed, stream)
    assert sum(sizes) == stream
    assert tree + 45 * MIB + sizes[0] <= gpu_kit.CALL_LIMIT - gpu_kit.HEADROOM
    for s in sizes[1:]:
        assert tree + s <= gpu_kit.CALL_LIMIT - gpu_kit.HEADROOM
    assert len(sizes) == 3  # 82 MiB does not fit the ~14 MiB left in call 1 plus one more call


def test_plan_refuses_what_cannot_fit_one_call():
    with pytest.raises(SystemExit, match="refused"):
        gpu_kit.plan_calls(3 * MIB, _items(40 * MIB, 25 * MIB), 10 * MIB)


def test_check_plan_flags_a_call_over_the_limit():
    manifest = {"calls": [{"call": 1, "total_bytes": 60 * MIB}, {"call": 2, "total_bytes": 64 * MIB}],
                "minilm": {"parts": [{"size": 5}, {"size": 6}], "stream_size": 11}}
    assert gpu_kit.check_plan(manifest) == ["call 2: 64.00 MiB >= 64 MiB"]


def test_split_and_join_round_trip(tmp_path):
    src = tmp_path / "weights.bin"
    payload = bytes(range(256)) * 4099 + b"tail"
    src.write_bytes(lzma.compress(payload))
    n = src.stat().st_size
    parts = gpu_kit.split_file(src, [n // 3, n // 3, n], tmp_path / "parts", "weights.bin.xz")
    assert [p.name for p in parts] == [f"weights.bin.xz.part0{i}" for i in (1, 2, 3)]
    assert sum(p.stat().st_size for p in parts) == n
    joined = tmp_path / "joined.xz"
    gpu_kit.join_parts(parts, joined)
    assert gpu_kit.sha256_file(joined) == gpu_kit.sha256_file(src)
    assert lzma.decompress(joined.read_bytes()) == payload


def _fake_kit(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A one-call kit with one data file and weights in two parts, made like prepare makes it."""
    kit = tmp_path / "call1"
    (kit / "wheels").mkdir(parents=True)
    (kit / "data").mkdir()
    raw = b"word/n \xe4\xba\xba/n\n" * 1000
    src = tmp_path / "raw.txt"
    src.write_bytes(raw)
    gpu_kit.compress(src, kit / "data" / "pkg__tag__a.txt.xz")
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(bytes(range(256)) * 500)
    gpu_kit.compress(weights, tmp_path / "w.xz")
    size = (tmp_path / "w.xz").stat().st_size
    parts = gpu_kit.split_file(tmp_path / "w.xz", [size // 2, size], kit / "data", "w.xz")
    manifest = {
        "this_call": 1, "wheels": [],
        "data": [{"name": "pkg__tag__a.txt.xz", "module": "pkg", "target": "tag/a.txt",
                  "sha256": gpu_kit.sha256_file(kit / "data" / "pkg__tag__a.txt.xz"),
                  "raw_sha256": gpu_kit.sha256_file(src)}],
        "inside_wheels": [], "data_only_modules": ["model_pkg", "pkg"],
        "data_only_packages": {"pkg": "pkg", "model-pkg": "model_pkg"},
        "minilm": {"module": "model_pkg", "target": "model/w.safetensors",
                   "raw_sha256": gpu_kit.sha256_file(weights),
                   "stream_sha256": gpu_kit.sha256_file(tmp_path / "w.xz"),
                   "parts": [{"name": p.name, "sha256": gpu_kit.sha256_file(p), "size": p.stat().st_size}
                             for p in parts]},
        "calls": [{"call": 1, "runs": []}],
    }
    (kit / "manifest.json").write_text(json.dumps(manifest))
    return kit, weights, raw


def test_runner_stages_checks_and_places_the_data(tmp_path):
    kit, weights, raw = _fake_kit(tmp_path)
    stage = tmp_path / "stage"
    manifest = gpu_run.stage_call(kit, stage)
    gpu_run.install(stage, manifest, sys.executable)
    assert (stage / "site" / "pkg" / "tag" / "a.txt").read_bytes() == raw
    assert "stand-in" in (stage / "site" / "pkg" / "__init__.py").read_text()
    assert gpu_run.join_minilm(stage, manifest)
    placed = stage / "site" / "model_pkg" / "model" / "w.safetensors"
    assert placed.read_bytes() == weights.read_bytes()


def test_runner_refuses_a_damaged_part(tmp_path):
    kit, _, _ = _fake_kit(tmp_path)
    part = sorted((kit / "data").glob("w.xz.part*"))[0]
    part.write_bytes(b"x" + part.read_bytes()[1:])
    with pytest.raises(gpu_run.KitError, match="SHA-256"):
        gpu_run.stage_call(kit, tmp_path / "stage")


def test_runner_waits_for_missing_parts(tmp_path):
    kit, _, _ = _fake_kit(tmp_path)
    sorted((kit / "data").glob("w.xz.part*"))[1].unlink()
    stage = tmp_path / "stage"
    manifest = gpu_run.stage_call(kit, stage)
    gpu_run.install(stage, manifest, sys.executable)
    assert not gpu_run.join_minilm(stage, manifest)


FAKE_LOG = """\
============================= test session starts ==============================
created: 4/4 workers
notebooks/00_tour::ipynb::Cell 0
[gw0] [  5%] PASSED notebooks/00_tour::ipynb::Cell 0
[gw1] [ 10%] PASSED notebooks/03_gradients_through_a_lookup::ipynb::Cell 0
[gw0] [ 15%] PASSED notebooks/00_tour::ipynb::Cell 1
[gw1] [ 20%] FAILED notebooks/03_gradients_through_a_lookup::ipynb::Cell 1
[gw1] [ 25%] SKIPPED notebooks/03_gradients_through_a_lookup::ipynb::Cell 2
notebooks/05_pooling_classifiers::ipynb::Cell 4 PASSED                   [ 30%]
=================================== FAILURES ===================================
_____________ notebooks/03_gradients_through_a_lookup::ipynb::Cell 1 _____________
Notebook cell execution failed
=========================== short test summary info ============================
FAILED notebooks/03_gradients_through_a_lookup::ipynb::Cell 1
=================== 1 failed, 4 passed, 1 skipped in 61.20s (0:01:01) ===================
"""


def test_summary_parser_on_a_fake_log():
    parsed = gpu_run.parse_log(FAKE_LOG)
    assert parsed["notebooks"] == {
        "notebooks/00_tour.ipynb": {"passed": 2},
        "notebooks/03_gradients_through_a_lookup.ipynb": {"passed": 1, "failed": 1, "skipped": 1},
        "notebooks/05_pooling_classifiers.ipynb": {"passed": 1},
    }
    assert parsed["totals"] == {"passed": 4, "failed": 1, "skipped": 1}
    assert parsed["failing"] == ["notebooks/03_gradients_through_a_lookup.ipynb::Cell 1 FAILED"]
    assert parsed["pytest_final_line"] == "1 failed, 4 passed, 1 skipped in 61.20s (0:01:01)"


def test_summary_files(tmp_path):
    summary = {"call": 1, "device": "cuda", "notebooks_run": ["notebooks/00_tour.ipynb"],
               "exit_status": 1, "pins": {"torch": "2.13.0"}, "parsed": gpu_run.parse_log(FAKE_LOG),
               "wall_s": 70.0, "versions": {"python": "3.12.3", "gpu": "NVIDIA H200", "torch_cuda": "13.0",
                                            "packages": {"torch": "2.11.0+cu130"}}}
    gpu_run.write_summary(tmp_path, 1, summary)
    md = (tmp_path / "summary-call1.md").read_text()
    assert "| **all** | 4 | 1 | 1 | 0 |" in md
    assert "| torch | 2.11.0+cu130 | 2.13.0 |" in md
    assert "NVIDIA H200" in md
    assert json.loads((tmp_path / "summary-call1.json").read_text())["exit_status"] == 1


def test_carried_distributions_are_pinned_and_need_what_the_image_lacks():
    pinned = gpu_kit.pins()
    carried = gpu_kit.missing_distributions("3.12")
    assert {"nbval", "ipykernel", "jieba", "pyzmq", "jupyter-client", "nbformat"} <= set(carried)
    assert not set(carried) & gpu_kit.GPU_IMAGE
    assert not set(carried) & set(gpu_kit.DATA_ONLY)
    assert set(carried) <= set(pinned)


def test_every_corpora_file_is_carried_one_way_or_another():
    from embedlab import corpora

    for df in gpu_kit.data_files():
        assert df.module == "jieba" or gpu_kit.canon(df.package) in gpu_kit.DATA_ONLY, df
    assert corpora.MINILM_WEIGHTS in gpu_kit.data_files()


def test_minilm_notebooks_are_run_last():
    without, with_ = gpu_kit.notebooks_needing_minilm()
    assert "notebooks/00_tour.ipynb" in without
    assert "notebooks/06_attention.ipynb" in with_
    assert not set(without) & set(with_)


@pytest.mark.skipif(not (ROOT / ".gpukit" / "plan.json").exists(), reason="no prepared kit (make gpu-kit)")
def test_prepared_kit_fits_and_matches_its_files():
    kit = ROOT / ".gpukit"
    manifest = json.loads((kit / "plan.json").read_text())
    assert gpu_kit.check_plan(manifest) == []
    tree = gpu_kit.tree_size()
    for call in manifest["calls"]:
        folder = kit / f"call{call['call']}"
        assert gpu_kit.folder_size(folder) + tree < gpu_kit.CALL_LIMIT
        sums = {w["name"]: w["sha256"] for w in manifest["wheels"]}
        sums |= {d["name"]: d["sha256"] for d in manifest["data"]}
        sums |= {p["name"]: p["sha256"] for p in manifest["minilm"]["parts"]}
        for f in [*(folder / "data").iterdir(), *(folder / "wheels").iterdir()]:
            assert gpu_kit.sha256_file(f) == sums[f.name], f
