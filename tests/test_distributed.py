"""Data-parallel condensation: two gloo processes on loopback give the set
of one process with the same seed."""

import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from dgl_doscond import load_condensed
from dgl_doscond.cli import main
from dgl_doscond.distributed import Ranks, init_from_env, work_split


def _env(data_root, cache_dir):
    env = dict(os.environ)
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        env.pop(name, None)
    env.update(
        DGL_DOSCOND_DATA=str(data_root),
        DGL_DOSCOND_CACHE=str(cache_dir),
        OMP_NUM_THREADS="1",
        OUTDATED_IGNORE="1",
    )
    return env


def _condense_args(dataset, out):
    return [
        "condense",
        "--dataset",
        dataset,
        "--gpc",
        "2",
        "--epochs",
        "6",
        "--seed",
        "3",
        "--out",
        str(out),
    ]


def _assert_same_sets(path_a, path_b):
    graphs_a, labels_a, _ = load_condensed(path_a)
    graphs_b, labels_b, _ = load_condensed(path_b)
    assert torch.equal(labels_a, labels_b)
    assert len(graphs_a) == len(graphs_b)
    for a, b in zip(graphs_a, graphs_b):
        src_a, dst_a = a.edges()
        src_b, dst_b = b.edges()
        assert torch.equal(src_a, src_b) and torch.equal(dst_a, dst_b)
        torch.testing.assert_close(
            a.ndata["feat"], b.ndata["feat"], atol=1e-5, rtol=1e-4
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset, split",
    [("MUTAG", "auto"), ("MUTAG", "batch"), ("ogbg-molbace", "auto")],
)
def test_two_processes_match_one(
    dataset, split, tmp_path, data_root, cache_dir
):
    env = _env(data_root, cache_dir)
    single = tmp_path / "single.bin"
    result = CliRunner().invoke(
        main,
        ["-q", *_condense_args(dataset, single)],
        env={k: env[k] for k in ("DGL_DOSCOND_DATA", "DGL_DOSCOND_CACHE")},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output

    out_dir = tmp_path / "dist"
    out_dir.mkdir()
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "dgl_doscond",
            "-q",
            *_condense_args(dataset, out_dir / "dist.bin"),
            "--distributed",
            "--distributed-split",
            split,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    # Rank 0 alone writes and reports.
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "dist.bin",
        "dist.json",
    ]
    assert launched.stdout.count("doscond on") == 1, launched.stdout
    _assert_same_sets(single, out_dir / "dist.bin")
    _, _, manifest = load_condensed(out_dir / "dist.bin")
    assert manifest["processes"] == 2


def test_distributed_outside_torchrun_is_a_clear_error(tmp_path, data_root):
    result = CliRunner().invoke(
        main,
        ["-q", *_condense_args("MUTAG", tmp_path / "x.bin"), "--distributed"],
        env={"RANK": None, "WORLD_SIZE": None, "MASTER_ADDR": None},
    )
    assert result.exit_code == 1
    assert "torchrun" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.bin").exists()


def test_init_from_env_names_missing_variables(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="RANK, WORLD_SIZE"):
        init_from_env()


def test_work_split_rules():
    assert work_split(2, None) is None
    assert work_split(2, Ranks(0, 1)) is None
    assert work_split(2, Ranks(1, 2)) == "classes"
    assert work_split(4, Ranks(0, 2)) == "classes"
    assert work_split(3, Ranks(0, 2)) == "batch"  # 2:1 would not balance
    assert work_split(1, Ranks(0, 2)) == "batch"  # one mixed group
    assert work_split(2, Ranks(0, 2, "batch")) == "batch"
    with pytest.raises(ValueError, match="at least one matching group"):
        work_split(1, Ranks(0, 2, "classes"))
    with pytest.raises(ValueError):
        Ranks(2, 2)
    with pytest.raises(ValueError):
        Ranks(0, 2, "rows")
