"""The example scripts, run as a user runs them, on tiny settings."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_script(name, *args, timeout=120):
    env = dict(os.environ, OUTDATED_IGNORE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def table_row(table, dataset, gpc=None):
    """The cells of the Markdown row of ``dataset`` (and ``gpc``)."""
    if isinstance(table, Path):
        table = table.read_text(encoding="utf-8")
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == dataset and (gpc is None or cells[1] == str(gpc)):
            return cells
    raise AssertionError(f"no row for {dataset} {gpc} in:\n{table}")


@pytest.fixture(scope="module")
def examples_module():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import benchmark_table

        yield benchmark_table
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def tables(examples_module):
    """examples/results_table.py (the tables of the result cells)."""
    import results_table

    return results_table


@pytest.mark.slow
def test_python_api(tmp_path):
    out = tmp_path / "syn.bin"
    stdout = run_script("python_api.py", out)
    assert re.search(r"synthetic set: test accuracy: \d+\.\d+ ± ", stdout)
    assert out.exists() and out.with_suffix(".json").exists()


@pytest.mark.slow
def test_benchmark_table_runs_then_skips(tmp_path, data_root, cache_dir):
    results, readme = tmp_path / "results", tmp_path / "README.md"
    args = [
        "--dataset", "MUTAG", "--method", "doscond", "--method", "random",
        "--gpc", "1", "--seeds", "0", "--epochs", "5", "--eval-runs", "1",
        "--eval-epochs", "3", "--results", results, "--readme", readme,
        "--whole-results", tmp_path / "whole",
        "--data-root", data_root, "--cache-dir", cache_dir,
    ]  # fmt: skip
    run_script("benchmark_table.py", *args)

    for method in ("doscond", "random"):
        path = results / f"MUTAG__{method}__gpc1__seed0.json"
        record = json.loads(path.read_text())
        assert record["method"] == method and record["num_graphs"] == 2
        assert len(record["evaluation"]["scores"]) == 1
        assert record["config"]["condense"]["epochs"] == 5
        assert record["config"]["evaluate"]["epochs"] == 3
        for key in ("split_hash", "feat_encoding", "machine", "command"):
            assert record[key]
    row = table_row(readme, "MUTAG", 1)
    assert re.match(r"\d+\.\d\d ± \d+\.\d\d \(n=1\*\)", row[3])  # Random
    assert re.match(r"\d+\.\d\d ± \d+\.\d\d \(n=1\*\)", row[7])  # DosCond
    assert row[4] == "–"  # Herding: not run
    assert table_row(readme, "NCI1", 50)[7] == "–"

    before = path.stat().st_mtime_ns
    stdout = run_script("benchmark_table.py", *args)
    assert stdout.count("skipped (exists)") == 2
    assert "0 cells run, 2 skipped" in stdout
    assert path.stat().st_mtime_ns == before


@pytest.mark.slow
def test_whole_dataset_runs_then_skips(tmp_path, data_root, cache_dir):
    results, readme = tmp_path / "whole", tmp_path / "README.md"
    args = [
        "--dataset", "MUTAG", "--epochs", "2", "--runs", "1",
        "--results", results, "--readme", readme,
        "--data-root", data_root, "--cache-dir", cache_dir,
    ]  # fmt: skip
    run_script("whole_dataset.py", *args)

    record = json.loads((results / "MUTAG.json").read_text())
    assert record["runs"] == 1 and record["epochs"] == 2
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert "whole_dataset.py" in record["command"] and record["date"]
    row = table_row(readme, "MUTAG")
    assert re.match(r"\d+\.\d\d ± \d+\.\d\d \(1 run\)", row[2])
    assert row[3] == "88.63"
    assert table_row(readme, "PROTEINS")[3] == "–"

    before = (results / "MUTAG.json").stat().st_mtime_ns
    stdout = run_script("whole_dataset.py", *args)
    assert "MUTAG: skipped" in stdout
    assert (results / "MUTAG.json").stat().st_mtime_ns == before


def _cell(dataset, method, gpc, seed, scores):
    mean = sum(scores) / len(scores)
    return {
        "dataset": dataset,
        "method": method,
        "gpc": gpc,
        "seed": seed,
        "evaluation": {
            "dataset": dataset,
            "metric": "rocauc" if dataset.startswith("ogbg") else "accuracy",
            "scores": scores,
            "mean": mean,
            "std": 0.0,
            "runs": len(scores),
        },
        "feat_encoding": "onehot",
        "condensation_seconds": 10.0 * (seed + 1),
        "num_graphs": 2,
        "num_train_graphs": 200,
        "config": {"condense": {"epochs": 1000}, "evaluate": {"epochs": 500}},
        "machine": {"cpu_model": "test CPU", "cpu_count": 2},
        "date": f"2024-01-0{seed + 1}T00:00:00+00:00",
    }


def test_build_table_aggregates_seeds(tmp_path, tables):
    cells = [
        _cell("NCI1", "doscond", 1, 0, [50.0, 52.0]),
        _cell("NCI1", "doscond", 1, 1, [54.0, 56.0]),
        _cell("ogbg-molbace", "doscond", 10, 0, [0.7, 0.71]),
    ]
    for record in cells:
        name = "{dataset}__{method}__gpc{gpc}__seed{seed}.json".format(**record)
        (tmp_path / name).write_text(json.dumps(record))
    table = tables.build_table(tmp_path, tmp_path / "missing")

    row = table_row(table, "NCI1", 1)
    # mean of all 4 scores, std of the seed means 51 and 55
    assert row[7] == "53.00 ± 2.00 (n=2) (below paper)"
    assert row[2] == "1"  # 2 of 200 graphs, percent
    # No whole-dataset result here: only the paper's share, 56.58 / 71.70.
    assert row[11] == "– / 78.9"
    assert row[12] == "15.0" and row[13] == "0, 1"
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "NCI1.json").write_text(
        json.dumps(
            {"dataset": "NCI1", "scores": [70.0, 72.0], "mean": 71.0,
             "std": 1.0, "runs": 2, "metric": "accuracy"}
        )
    )  # fmt: skip
    row = table_row(tables.build_table(tmp_path, whole), "NCI1", 1)
    assert row[9] == "71.00 ± 1.00 (2 runs)"
    assert row[11] == "74.6 / 78.9"  # 53 / 71
    row = table_row(table, "ogbg-molbace", 10)
    assert row[7] == "0.705 ± 0.000 (n=1*)"  # above the paper's 0.674
    assert row[8] == "0.674 ± 0.035" and row[10] == "0.714"
    assert "2024-01-01 to 2024-01-02" in table


def test_build_table_empty(tmp_path, tables):
    table = tables.build_table(tmp_path, tmp_path)
    row = table_row(table, "MUTAG", 20)
    assert row[7] == "–" and row[8] == "83.26 ± 2.34"
    assert table_row(table, "PROTEINS", 10)[8] == "–"


def test_build_table_limited_to_a_family(tmp_path, tables):
    record = _cell("NCI1", "doscond", 1, 0, [50.0, 52.0])
    (tmp_path / "NCI1__doscond__gpc1__seed0.json").write_text(
        json.dumps(record)
    )
    table = tables.build_table(
        tmp_path, tmp_path, datasets=["ogbg-molhiv", "ogbg-molbace"]
    )
    rows = [line for line in table.splitlines() if line.startswith("| ogbg")]
    assert len(rows) == 6
    assert "| NCI1 |" not in table and "| MUTAG |" not in table
    # The notes describe the rows shown only: no NCI1 figure in them.
    assert "evaluation epochs: –" in table and "Machine: –." in table


def test_dcgraph_cost_table(tmp_path, tables):
    assert tables.build_costs(tmp_path) is None  # no DC-Graph cell
    cells = [
        _cell("NCI1", "doscond", 10, 0, [50.0]),  # 10 s
        _cell("NCI1", "doscond", 10, 1, [50.0]),  # 20 s
        _cell("NCI1", "dcgraph", 10, 1, [50.0]),  # 20 s
        _cell("NCI1", "doscond", 50, 0, [50.0]),  # 10 s
    ]
    cells[2]["condensation_seconds"] = 300.0
    cells[3]["condensation_seconds"] = 100.0
    for record in cells:
        name = "{dataset}__{method}__gpc{gpc}__seed{seed}.json".format(**record)
        (tmp_path / name).write_text(json.dumps(record))
    table = tables.build_costs(tmp_path, datasets=["NCI1"])

    # Measured: DC-Graph's seed 1 against DosCond's seed 1 only.
    assert table_row(table, "NCI1", 10)[2:] == [
        "(10, 50)", "15.0", "150", "300", "15.0×"
    ]  # fmt: skip
    # Not run: the lower bound outer × DosCond's time, 50 × 100 s.
    assert table_row(table, "NCI1", 50)[2:] == [
        "(50, 10)", "100.0", "5000 (1.4 h)", "not run", "–"
    ]  # fmt: skip
    assert table_row(table, "NCI1", 1)[3:] == ["–", "–", "–", "–"]
    assert "| MUTAG |" not in table

    # A DC-Graph cell run with other thread counts than DosCond's says so.
    for record in cells:
        record["machine"]["torch_threads"] = 1
    cells[2]["machine"]["torch_threads"] = 2
    for record in cells:
        name = "{dataset}__{method}__gpc{gpc}__seed{seed}.json".format(**record)
        (tmp_path / name).write_text(json.dumps(record))
    table = tables.build_costs(tmp_path, datasets=["NCI1"])
    assert table_row(table, "NCI1", 10)[5] == "300 (2 thr.)"
    assert "only the last run's threads are recorded" in table
    assert table.endswith(", 1 or 2 threads.")
    # A row not shown (MUTAG) adds nothing to the notes.
    mutag = _cell("MUTAG", "dcgraph", 10, 0, [80.0])
    mutag["machine"]["torch_threads"] = 4
    (tmp_path / "MUTAG__dcgraph__gpc10__seed0.json").write_text(
        json.dumps(mutag)
    )
    table = tables.build_costs(tmp_path, datasets=["NCI1"])
    assert "4 threads" not in table and "| MUTAG |" not in table
    cells[2]["machine"]["torch_threads"] = 1
    (tmp_path / "NCI1__dcgraph__gpc10__seed1.json").write_text(
        json.dumps(cells[2])
    )
    table = tables.build_costs(tmp_path, datasets=["NCI1"])
    assert table_row(table, "NCI1", 10)[5] == "300"
    assert "thr." not in table and table.endswith(", 1 thread.")


def test_benchmark_config_file_applies_over_the_shipped_one(
    tmp_path, examples_module
):
    extra = tmp_path / "probe.yaml"
    extra.write_text("condense:\n  valid_every: 50\n  keep: best_valid\n")
    args = examples_module.parse_args(["--config", str(extra)])
    config = examples_module.cell_config("ogbg-molbace", "doscond", 10, args)
    assert config.condense.keep == "best_valid"
    assert config.condense.valid_every == 50
    assert config.condense.matching == "mixed"  # the shipped file's
    assert config.condense.gpc == 10
    plain = examples_module.parse_args([])
    shipped = examples_module.cell_config("ogbg-molbace", "doscond", 10, plain)
    assert shipped.condense.keep == "last"


def test_keep_best_comparison_pairs_seeds(tmp_path, examples_module):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import compare_keep_best
    finally:
        sys.path.remove(str(EXAMPLES))
    last, best = tmp_path / "last", tmp_path / "best"
    last.mkdir(), best.mkdir()
    pairs = [
        (last, _cell("ogbg-molbace", "doscond", 1, 0, [0.60, 0.62])),
        (last, _cell("ogbg-molbace", "doscond", 1, 1, [0.50])),
        (last, _cell("ogbg-molbace", "doscond", 1, 2, [0.55])),  # unpaired
        (best, _cell("ogbg-molbace", "doscond", 1, 0, [0.64, 0.66])),
        (best, _cell("ogbg-molbace", "doscond", 1, 1, [0.48])),
    ]
    for folder, record in pairs:
        if folder is best:
            record["kept_iteration"] = 450
        name = "{dataset}__{method}__gpc{gpc}__seed{seed}.json".format(**record)
        (folder / name).write_text(json.dumps(record))
    table = compare_keep_best.build_comparison(last, best)

    rows = [r for r in table.splitlines() if r.startswith("| ogbg-molbace")]
    assert len(rows) == 3  # two seeds, one mean
    assert rows[0].split(" | ")[4:] == [
        "0.610 ± 0.000", "0.650 ± 0.000", "450", "+0.040 |"
    ]  # fmt: skip
    assert rows[1].endswith("| −0.020 |")
    # Mean of seeds 0 and 1 only: 0.555 against 0.565.
    assert rows[2] == (
        "| ogbg-molbace | 1 | doscond | 2 | 0.555 | 0.565 | +0.010 |"
    )


@pytest.mark.slow
def test_cross_architecture_rows(tmp_path, data_root, cache_dir):
    results, readme = tmp_path / "cross", tmp_path / "README.md"
    args = [
        "--dataset", "MUTAG", "--method", "random", "--method", "doscond",
        "--backbone", "gcn", "--backbone", "mlp", "--gpc", "2",
        "--epochs", "3", "--eval-epochs", "2", "--runs", "1",
        "--results", results, "--readme", readme,
        "--data-root", data_root, "--cache-dir", cache_dir,
    ]  # fmt: skip
    stdout = run_script("cross_architecture.py", *args)
    assert stdout.count("MUTAG__") == 2
    record = json.loads(
        (results / "MUTAG__doscond__gpc2__seed0.json").read_text()
    )
    assert record["matched_with"] == "gcn" and record["set_was"] == "condensed"
    assert sorted(record["scores"]) == ["gcn", "mlp"]
    assert record["scores"]["mlp"]["runs"] == 1
    row = table_row(readme, "doscond", 2)
    assert re.match(r"\d+\.\d\d ± \d+\.\d\d \(1\)", row[3])

    stdout = run_script("cross_architecture.py", *args)
    assert "MUTAG__" not in stdout  # rows with a JSON are skipped

    # A set whose manifest predates a config key (keep) is still reused.
    scratch = Path(cache_dir) / "benchmark_scratch"
    path = scratch / "MUTAG__doscond__gpc2__seed0.json"
    manifest = json.loads(path.read_text())
    del manifest["config"]["condense"]["keep"]
    path.write_text(json.dumps(manifest))
    again = tmp_path / "again"
    index = args.index("--results") + 1
    run_script(
        "cross_architecture.py",
        *args[:index], again, *args[index + 1:],
    )  # fmt: skip
    record = json.loads(
        (again / "MUTAG__doscond__gpc2__seed0.json").read_text()
    )
    assert record["set_was"] == "reused"


def test_split_difficulty_probe(tmp_path, data_root, cache_dir):
    results, readme = tmp_path / "split.json", tmp_path / "README.md"
    run_script(
        "split_difficulty.py", "--dataset", "MUTAG", "--split-seeds", "0", "1",
        "--results", results, "--readme", readme,
        "--data-root", data_root, "--cache-dir", cache_dir,
    )  # fmt: skip
    records = json.loads(results.read_text())
    assert [r["split"] for r in records] == [
        "permutation", "stratified 0", "stratified 1",
    ]  # fmt: skip
    assert len({r["split_hash"] for r in records}) == 3
    for r in records:
        acc = r["accuracy"]
        assert set(acc) == {"train", "valid", "test"}
        # MUTAG's majority class is 66.5 % of the graphs: the probe on the
        # mean atom types must do better than that on its own training set.
        assert 70.0 < acc["train"] <= 100.0
    text = readme.read_text()
    assert (
        "| MUTAG | permutation |" in text and "| MUTAG | stratified 1 |" in text
    )


def test_feat_encoding_option_and_table_note(tmp_path, examples_module, tables):
    bt = examples_module
    args = bt.parse_args(["--feat-encoding", "raw"])
    assert (
        bt.cell_config("ogbg-molbbbp", "doscond", 1, args).feat_encoding
        == "raw"
    )
    default = bt.parse_args([])
    assert bt.cell_config(
        "ogbg-molbbbp", "doscond", 1, default
    ).feat_encoding == ("onehot")
    for seed, encoding in [(0, "raw"), (1, "onehot")]:
        record = _cell("ogbg-molhiv", "doscond", 1, seed, [0.7, 0.72])
        record["feat_encoding"] = encoding
        name = f"ogbg-molhiv__doscond__gpc1__seed{seed}.json"
        (tmp_path / name).write_text(json.dumps(record))
    table = tables.build_table(tmp_path, tmp_path, datasets=["ogbg-molhiv"])
    assert "ogbg-molhiv onehot and raw." in table


def test_list_options_take_several_values_and_repeat(examples_module):
    bt = examples_module
    args = bt.parse_args(
        ["--gpc", "1", "10", "--gpc", "50", "--seeds", "2", "--seeds", "0", "2"]
    )
    assert args.gpc == [1, 10, 50]
    assert args.seeds == [2, 0]
    assert bt.dataset_gpcs("MUTAG", args.gpc) == [1, 10, 20]
    default = bt.parse_args(["--dataset", "MUTAG", "NCI1"])
    assert default.seeds == [0, 1, 2] and default.dataset == ["MUTAG", "NCI1"]


@pytest.mark.slow
@pytest.mark.parametrize("own_folder", [False, True])
def test_time_limit_stops_a_cell_and_the_next_run_resumes_it(
    tmp_path, data_root, cache_dir, examples_module, own_folder
):
    bt = examples_module
    config = tmp_path / "resume_every_10.yaml"
    config.write_text("condense:\n  checkpoint_every: 10\n")
    scratch = tmp_path / "cache"  # own scratch folder; loaders' caches too
    base = [
        "--dataset", "MUTAG", "--gpc", "1", "--seeds", "0",
        "--epochs", "100", "--eval-runs", "1", "--eval-epochs", "3",
        "--config", config, "--results", tmp_path / "results",
        "--readme", tmp_path / "README.md",
        "--data-root", data_root, "--cache-dir", scratch,
    ]  # fmt: skip
    name = "MUTAG__doscond__gpc1__seed0__resume_every_10.bin"
    out = scratch / "benchmark_scratch" / name
    result = tmp_path / "results" / "MUTAG__doscond__gpc1__seed0.json"
    checkpoint = Path(str(out) + ".ckpt")
    if own_folder:  # --checkpoint-dir: kept apart from the scratch folder
        base += ["--checkpoint-dir", tmp_path / "kept"]
        checkpoint = tmp_path / "kept" / (name + ".ckpt")

    # The limit passes long before 100 iterations: the cell stops with a
    # checkpoint and no result.
    counts = bt.run_grid(
        bt.parse_args([*map(str, base), "--limit-seconds", "0.3"])
    )
    assert counts == {"done": 0, "skipped": 0, "failed": 0, "left": 1}
    assert checkpoint.exists() and not result.exists()
    if own_folder:  # and none in the scratch folder
        assert not list(scratch.rglob("*.ckpt"))

    # The next run finishes it from the checkpoint ...
    counts = bt.run_grid(bt.parse_args(list(map(str, base))))
    assert counts["done"] == 1 and not checkpoint.exists()
    record = json.loads(result.read_text())
    assert record["resumed"] is True and "checkpoint" not in record
    resumed = json.loads(out.with_suffix(".json").read_text())
    assert [h["iteration"] for h in resumed["history"]][-1] == 99

    # ... to the set of an uninterrupted run (--force starts afresh).
    bt.run_grid(bt.parse_args([*map(str, base), "--force"]))
    assert json.loads(result.read_text())["resumed"] is False
    fresh = json.loads(out.with_suffix(".json").read_text())
    assert fresh["content_sha256"] == resumed["content_sha256"]


def test_shortfalls_lists_cells_below_the_paper_and_what_reached_it(
    tmp_path, examples_module
):
    import shortfalls

    folders = {n: tmp_path / n for n in ("main", "best", "ref", "whole")}
    for folder in folders.values():
        folder.mkdir()

    def put(folder, dataset, gpc, seed, scores):
        record = _cell(dataset, "doscond", gpc, seed, scores)
        name = f"{dataset}__doscond__gpc{gpc}__seed{seed}.json"
        (folders[folder] / name).write_text(json.dumps(record))

    put("main", "MUTAG", 1, 0, [70.0, 72.0])  # paper: 82.21
    put("main", "MUTAG", 1, 1, [74.0])
    put("main", "MUTAG", 10, 0, [75.0])  # paper: 82.76
    put("main", "NCI1", 1, 0, [60.0])  # above the paper's 56.58
    put("best", "MUTAG", 1, 0, [85.0])
    put("best", "MUTAG", 1, 1, [83.0])
    put("best", "MUTAG", 10, 0, [90.0])
    put("best", "MUTAG", 10, 1, [90.0])  # no main cell of seed 1
    put("ref", "MUTAG", 1, 0, [80.0])
    tried = {
        "best validation probe": (folders["best"], True),
        "reference split": (folders["ref"], False),
    }
    table = shortfalls.build_shortfalls(
        folders["main"], folders["whole"], tried
    )
    row = table_row(table, "MUTAG", 1)
    assert row[2] == "72.00 ± 1.50 (n=2)" and row[3] == "82.21"
    assert row[4] == "−10.21" and row[5] == "– / 92.8"
    assert row[6] == "84.00 (seeds 0, 1; last iteration 72.50)"
    assert row[7] == "80.00 ± 0.00 (n=1*)"
    assert row[8] == "best validation probe"
    assert table_row(table, "MUTAG", 10)[6].startswith("90.00 (seeds 0;")
    assert table_row(table, "MUTAG", 10)[8] == "best validation probe"
    with pytest.raises(AssertionError):
        table_row(table, "NCI1", 1)

    # A pairing that misses one of the main cell's seeds settles nothing.
    (folders["best"] / "MUTAG__doscond__gpc1__seed1.json").unlink()
    table = shortfalls.build_shortfalls(
        folders["main"], folders["whole"], tried
    )
    assert table_row(table, "MUTAG", 1)[8] == "none"


@pytest.mark.slow
def test_plain_dgl_trains_its_own_model_on_a_condensed_file(
    tmp_path, cache_dir
):
    out = tmp_path / "minigc.bin"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dgl_doscond",
            "-q",
            "condense",
            "--dataset",
            "minigc",
            "--gpc",
            "1",
            "--epochs",
            "20",
            "--out",
            str(out),
        ],  # fmt: skip
        check=True,
        env=dict(os.environ, OUTDATED_IGNORE="1", OMP_NUM_THREADS="1"),
        timeout=300,
        cwd=tmp_path,
    )
    args = (out, "--epochs", "30", "--cache-dir", cache_dir)
    stdout = run_script("plain_dgl.py", *args)
    match = re.search(
        r"8 condensed graphs of minigc, 30 epochs: test accuracy "
        r"(\d+\.\d\d) % on (\d+) real test graphs",
        stdout,
    )
    assert match and 0 <= float(match[1]) <= 100 and int(match[2]) > 0

    # A manifest whose split is not the dataset's is refused.
    meta = out.with_suffix(".json")
    manifest = json.loads(meta.read_text())
    meta.write_text(json.dumps(manifest | {"split_hash": "0" * 16}))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "plain_dgl.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OUTDATED_IGNORE="1"),
        timeout=120,
    )
    assert proc.returncode != 0 and "is not the set's" in proc.stderr


def test_committed_tables_are_current():
    """Every generated README table equals what the committed JSONs give:
    a result committed without its tables rebuilt fails here."""
    out = run_script("rebuild_tables.py", "--check")
    assert "out of date" not in out
    assert out.count("up to date") == 6, out


def test_rebuild_tables_finds_and_fixes_a_stale_table(tmp_path):
    root = tmp_path / "examples"
    for readme in EXAMPLES.rglob("README.md"):
        if "results" not in readme.relative_to(EXAMPLES).parts:
            dest = root / readme.relative_to(EXAMPLES)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(readme.read_text(encoding="utf-8"))
    for path in (EXAMPLES / "results").rglob("*.json"):
        dest = root / path.relative_to(EXAMPLES)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
    cell = "ogbg-molhiv__dcgraph__gpc10__seed0.json"
    assert table_row(root / "ogb" / "README.md", "ogbg-molhiv", 10)[6] != "–"
    (root / "results" / "table" / cell).unlink()

    check = [sys.executable, str(EXAMPLES / "rebuild_tables.py"), "--check"]
    env = dict(os.environ, OUTDATED_IGNORE="1")
    proc = subprocess.run(
        [*check, "--root", root], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "examples/ogb/README.md: out of date" in proc.stdout
    assert "examples/README.md: out of date" in proc.stdout
    assert "examples/tu/README.md: up to date" in proc.stdout
    assert table_row(root / "ogb" / "README.md", "ogbg-molhiv", 10)[6] != "–"

    run_script("rebuild_tables.py", "--root", root)
    assert table_row(root / "ogb" / "README.md", "ogbg-molhiv", 10)[6] == "–"
    run_script("rebuild_tables.py", "--check", "--root", root)
