"""The benchmark scripts run end to end on tiny settings (their figures
are not checked: speed is measured by the scripts, not by tests)."""

import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_propagation_writes_json_and_table(
    tmp_path, data_root, cache_dir
):
    # The script checks that the sparse path and DGL's message passing give
    # the same logits on every batch, so this also runs that check on MUTAG.
    out_json, readme = tmp_path / "prop.json", tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- prop:begin -->\nold\n<!-- prop:end -->\n")
    env = dict(os.environ, OUTDATED_IGNORE="1", OMP_NUM_THREADS="1")
    args = [
        sys.executable,
        str(BENCHMARKS / "bench_propagation.py"),
        "--dataset", "MUTAG", "--threads", "1", "--repeats", "2",
        "--batch-size", "32", "--data-root", str(data_root),
        "--cache-dir", str(cache_dir), "--json", str(out_json),
        "--readme", str(readme),
    ]  # fmt: skip
    proc = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = json.loads(out_json.read_text())
    assert record["dataset"] == "MUTAG" and record["threads"] == 1
    assert set(record["seconds"]) == {"sparse", "dgl"}
    assert all(s > 0 for s in record["seconds"].values())
    text = readme.read_text()
    assert "old" not in text and "| MUTAG | 1 |" in text
    assert "MUTAG, 1 threads: sparse" in proc.stdout


def test_bench_allocator_writes_json_and_table(tmp_path, data_root, cache_dir):
    out_json, readme = tmp_path / "alloc.json", tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- alloc:begin -->\nold\n<!-- alloc:end -->\n")
    env = dict(os.environ, OUTDATED_IGNORE="1", OMP_NUM_THREADS="1")
    args = [
        sys.executable,
        str(BENCHMARKS / "bench_allocator.py"),
        "--dataset", "MUTAG", "--threads", "1", "--repeats", "1",
        "--epochs", "2", "--batch-size", "16", "--data-root",
        str(data_root), "--cache-dir", str(cache_dir), "--json",
        str(out_json), "--readme", str(readme),
    ]  # fmt: skip
    proc = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = json.loads(out_json.read_text())
    assert record["dataset"] == "MUTAG" and record["epochs"] == 2
    for side in ("glibc", "tuned"):
        assert record[side]["iteration_seconds"] > 0
        assert record[side]["peak_rss_mb"] > 0
    text = readme.read_text()
    assert "old" not in text and "| MUTAG | 16 |" in text


def test_committed_benchmark_tables_are_current(monkeypatch):
    """Each table of benchmarks/README.md is its script's rendering of the
    committed JSON: a figure changed in one and not the other fails."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_allocator
    import bench_condense
    import bench_distributed
    import bench_propagation

    readme = (BENCHMARKS / "README.md").read_text(encoding="utf-8")

    def block(name):
        rest = readme.split(f"<!-- {name}:begin -->\n", 1)[1]
        return rest.split(f"\n<!-- {name}:end -->", 1)[0]

    def records(name):
        path = BENCHMARKS / "results" / name
        return json.loads(path.read_text(encoding="utf-8"))

    assert block("bench") == bench_condense.markdown(records("condense.json"))
    assert block("alloc") == bench_allocator.markdown(records("allocator.json"))
    assert block("prop") == bench_propagation.markdown(
        records("propagation.json")
    )
    dist = records("distributed.json")
    procs = dist[0]["runs"][-1]["processes"]
    assert block("dist") == bench_distributed.markdown(dist, procs)
