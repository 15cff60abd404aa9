import json
import os

import dgl
import pytest
from click.testing import CliRunner

from dgl_doscond.cli import main


@pytest.fixture
def run(data_root, cache_dir):
    def invoke(*args, quiet=True):
        runner = CliRunner()
        base = ["-q"] if quiet else []
        return runner.invoke(
            main,
            [*base, *args],
            env={
                "DGL_DOSCOND_DATA": str(data_root),
                "DGL_DOSCOND_CACHE": str(cache_dir),
            },
            catch_exceptions=False,
        )

    return invoke


def _tiny_condense(run, out, *extra):
    return run(
        "condense",
        "--dataset",
        "MUTAG",
        "--gpc",
        "1",
        "--epochs",
        "3",
        "--out",
        str(out),
        *extra,
    )


def test_evaluate_whole_writes_json(run, tmp_path):
    out = tmp_path / "whole.json"
    result = run(
        "evaluate",
        "--dataset",
        "MUTAG",
        "--train",
        "whole",
        "--runs",
        "2",
        "--epochs",
        "2",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "over 2 runs" in result.output and " ± " in result.output
    record = json.loads(out.read_text())
    for key in (
        "dataset",
        "train",
        "backbone",
        "metric",
        "scores",
        "mean",
        "std",
    ):
        assert key in record
    assert record["dataset"] == "MUTAG" and len(record["scores"]) == 2


def test_condense_info_and_evaluate_saved_set(run, tmp_path):
    out = tmp_path / "mutag.bin"
    result = _tiny_condense(run, out, "--eval-runs", "2", "--eval-epochs", "2")
    assert result.exit_code == 0, result.output
    assert "over 2 runs" in result.output
    graphs, extra = dgl.load_graphs(str(out))
    assert len(graphs) == 2 and extra["label"].tolist() == [0, 1]
    manifest = json.loads((tmp_path / "mutag.json").read_text())
    assert manifest["method"] == "doscond" and manifest["gpc"] == 1
    assert manifest["evaluation"]["runs"] == 2
    assert manifest["config"]["condense"]["epochs"] == 3
    assert not os.path.exists(str(out) + ".ckpt")

    info = run("info", str(out))
    assert info.exit_code == 0 and "MUTAG" in info.output
    assert "doscond, gpc 1" in info.output

    evaluated = run(
        "evaluate",
        "--dataset",
        "MUTAG",
        "--train",
        str(out),
        "--runs",
        "1",
        "--epochs",
        "2",
        "--backbone",
        "gin",
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "gin" in evaluated.output


def test_keep_best_valid_option(run, tmp_path):
    out = tmp_path / "best.bin"
    refused = _tiny_condense(run, out, "--keep", "best_valid")
    assert refused.exit_code == 1 and "--valid-every" in refused.output
    assert not out.exists()
    result = _tiny_condense(
        run, out, "--keep", "best_valid", "--valid-every", "1"
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "best.json").read_text())
    assert manifest["config"]["condense"]["keep"] == "best_valid"
    scores = [p["valid"] for p in manifest["history"]]
    assert scores[manifest["kept_iteration"]] == max(scores)
    info = run("info", str(out))
    kept = manifest["kept_iteration"]
    assert f"kept:        iteration {kept} (the best" in info.output


def test_saved_set_of_another_split_is_refused(run, tmp_path):
    out = tmp_path / "mutag.bin"
    assert _tiny_condense(run, out).exit_code == 0
    result = run(
        "evaluate",
        "--dataset",
        "MUTAG",
        "--train",
        str(out),
        "--runs",
        "1",
        "--split-seed",
        "7",
    )
    assert result.exit_code == 1
    assert "split_hash" in result.output and "Traceback" not in result.output


def test_existing_output_needs_force(run, tmp_path):
    out = tmp_path / "mutag.bin"
    assert _tiny_condense(run, out).exit_code == 0
    before = out.read_bytes()
    refused = _tiny_condense(run, out, "--seed", "1")
    assert refused.exit_code == 1 and "--force" in refused.output
    assert out.read_bytes() == before
    assert _tiny_condense(run, out, "--seed", "1", "--force").exit_code == 0
    assert out.read_bytes() != before


def test_unknown_dataset_lists_valid_names(run, tmp_path):
    result = run(
        "condense", "--dataset", "MUTAGG", "--out", str(tmp_path / "x.bin")
    )
    assert result.exit_code == 1
    assert "MUTAGG" in result.output and "MUTAG" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.bin").exists()


def test_missing_dataset_names_the_data_root_option(tmp_path, cache_dir):
    empty = tmp_path / "empty"
    (empty / "tu").mkdir(parents=True)
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "evaluate",
            "--dataset",
            "NCI109",
            "--data-root",
            str(empty),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        env={"DGL_DOSCOND_DATA": None},
    )
    assert result.exit_code == 1
    assert "--data-root" in result.output
    assert str(empty) in result.output
    assert "Traceback" not in result.output


def test_bad_config_file(run, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("condense:\n  gpcc: 2\n")
    result = run(
        "condense",
        "--dataset",
        "MUTAG",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "x.bin"),
    )
    assert result.exit_code == 1
    assert "Unknown config key 'condense.gpcc'" in result.output


def test_zero_gpc_is_refused(run, tmp_path):
    result = run(
        "condense",
        "--dataset",
        "MUTAG",
        "--gpc",
        "0",
        "--out",
        str(tmp_path / "x.bin"),
    )
    assert result.exit_code == 1
    assert "'condense.gpc' must be >= 1; got 0" in result.output


def test_output_folder_must_exist(run, tmp_path):
    result = run(
        "condense",
        "--dataset",
        "MUTAG",
        "--out",
        str(tmp_path / "missing" / "x.bin"),
    )
    assert result.exit_code == 1 and "does not exist" in result.output


@pytest.mark.slow
def test_datasets_lists_statistics(run):
    result = run("datasets")
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line
        for line in result.stdout.splitlines()
        if line.strip()
    }
    assert "188" in lines["MUTAG"] and "17.93" in lines["MUTAG"]
    assert "1210/151/152" in lines["ogbg-molbace"]


def test_plot_writes_pngs_of_a_saved_set(run, tmp_path):
    out = tmp_path / "mutag.bin"
    assert _tiny_condense(run, out).exit_code == 0
    result = run("plot", str(out))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "mutag-plots"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["curves.png", "distributions.png", "graphs.png"]
    for name in names:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_scores_from_results_folder(run, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for seed, scores in ((0, [70.0, 80.0]), (1, [90.0, 80.0])):
        cell = {
            "dataset": "MUTAG",
            "method": "doscond",
            "gpc": 1,
            "seed": seed,
            "evaluation": {"scores": scores},
        }
        (results / f"c{seed}.json").write_text(json.dumps(cell))
    result = run("plot", "--results", str(results), "--dataset", "MUTAG")
    assert result.exit_code == 0, result.output
    png = results / "scores-MUTAG.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    missing = run("plot", "--results", str(results), "--dataset", "NCI1")
    assert missing.exit_code == 1 and "No result for dataset" in missing.output


def test_report_cross_architecture_matrix(run, tmp_path):
    sets = []
    for method in ("doscond", "random"):
        out = tmp_path / f"{method}.bin"
        made = run(
            "condense",
            "--dataset",
            "MUTAG",
            "--method",
            method,
            "--gpc",
            "1",
            "--epochs",
            "2",
            "--out",
            str(out),
        )
        assert made.exit_code == 0, made.output
        sets.append(str(out))
    prefix = tmp_path / "matrix"
    result = run(
        "report",
        "--dataset",
        "MUTAG",
        *sets,
        "--backbone",
        "gcn",
        "--backbone",
        "mlp",
        "--runs",
        "1",
        "--epochs",
        "2",
        "--out",
        str(prefix),
    )
    assert result.exit_code == 0, result.output
    matrix = json.loads((tmp_path / "matrix.json").read_text())
    assert matrix["backbones"] == ["gcn", "mlp"]
    assert [r["method"] for r in matrix["rows"]] == ["doscond", "random"]
    assert set(matrix["rows"][0]["scores"]) == {"gcn", "mlp"}
    table = (tmp_path / "matrix.md").read_text()
    assert "| doscond.bin | doscond | 1 | gcn |" in table

    again = run("report", "--dataset", "MUTAG", *sets, "--out", str(prefix))
    assert again.exit_code == 1 and "--force" in again.output
    bad = run(
        "report",
        "--dataset",
        "MUTAG",
        *sets,
        "--backbone",
        "gat7",
        "--out",
        str(tmp_path / "other"),
    )
    assert bad.exit_code == 1 and "Valid backbones" in bad.output


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="needs a CPU-only host"
)
def test_cuda_without_a_device_is_a_clear_error(run, tmp_path):
    out = tmp_path / "x.bin"
    result = run(
        "condense", "--dataset", "MUTAG", "--device", "cuda", "--out", str(out)
    )
    assert result.exit_code == 1
    assert "--device cuda" in result.output and "--device cpu" in result.output
    assert not out.exists()


def test_set_made_on_the_permutation_split_names_it(run, tmp_path):
    out = tmp_path / "perm.bin"
    result = _tiny_condense(run, out, "--split", "permutation")
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["split_method"] == "permutation"
    assert manifest["config"]["split"] == "permutation"

    args = ["evaluate", "--dataset", "MUTAG", "--train", str(out)]
    refused = run(*args, "--runs", "1", "--epochs", "1")
    assert refused.exit_code == 1
    assert "--split permutation" in refused.output
    accepted = run(
        *args, "--runs", "1", "--epochs", "1", "--split", "permutation"
    )
    assert accepted.exit_code == 0, accepted.output


def test_condense_and_evaluate_a_dgl_graph_file(run, tmp_path, mutag):
    path = tmp_path / "mutag_copy.bin"
    dgl.save_graphs(
        str(path),
        mutag.graphs,
        {
            "label": mutag.labels,
            **{f"{k}_idx": mutag.split[k] for k in ("train", "valid", "test")},
        },
    )
    out = tmp_path / "syn.bin"
    result = run(
        "condense", "--dataset", str(path), "--gpc", "1", "--epochs", "3",
        "--out", str(out), "--eval-runs", "1", "--eval-epochs", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["dataset"] == "mutag_copy"
    assert manifest["split_hash"] == mutag.split_hash
    graphs, extra = dgl.load_graphs(str(out))
    assert len(graphs) == 2 and extra["label"].tolist() == [0, 1]

    result = run(
        "evaluate", "--dataset", str(path), "--train", str(out),
        "--runs", "1", "--epochs", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run(
        "evaluate", "--dataset", "MUTAG", "--train", str(out),
        "--runs", "1", "--epochs", "2",
    )  # fmt: skip
    assert result.exit_code != 0 and "dataset='mutag_copy'" in result.output
