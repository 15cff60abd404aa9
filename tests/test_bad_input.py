"""Bad input: one clear message and a non-zero exit, never a traceback,
and no output created or changed.

Cases already in test_cli.py (unknown dataset, unknown config key,
``--gpc 0``, missing output folder, existing output) are not repeated.
"""

import hashlib
import json
import os
import shutil
import socket

import dgl
import pytest
import torch
from click.testing import CliRunner

import dgl_doscond.cli as cli
from dgl_doscond.data import GraphDataset


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def run(data_root, cache_dir):
    def invoke(*args):
        return CliRunner().invoke(
            cli.main,
            ["-q", *args],
            env={
                "DGL_DOSCOND_DATA": str(data_root),
                "DGL_DOSCOND_CACHE": str(cache_dir),
            },
            catch_exceptions=False,
        )

    return invoke


@pytest.fixture
def no_load(monkeypatch):
    """Fail the test if the command gets as far as loading the dataset."""

    def load(*args):
        pytest.fail("the dataset was loaded before the bad input was seen")

    monkeypatch.setattr(cli, "_load", load)


def _refused(result, *names):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("Error:") == 1
    for name in names:
        assert name in result.output, result.output


def _condense(run, out, *extra):
    return run(
        "condense",
        "--dataset",
        "MUTAG",
        "--epochs",
        "2",
        "--out",
        str(out),
        *extra,
    )


# -- names, numbers and config files: refused before loading ------------


def test_unknown_method_lists_the_methods(run, tmp_path, no_load):
    result = _condense(run, tmp_path / "x.bin", "--method", "foo")
    _refused(result, "'foo'", "condense.method", "doscond, dcgraph, random")
    assert os.listdir(tmp_path) == []


def test_unknown_backbone_lists_the_backbones(run, tmp_path, no_load):
    result = _condense(run, tmp_path / "x.bin", "--backbone", "foo")
    _refused(result, "'foo'", "model.backbone", "gcn, gin, sage, mlp")
    assert os.listdir(tmp_path) == []


def test_negative_gpc(run, tmp_path, no_load):
    result = _condense(run, tmp_path / "x.bin", "--gpc", "-1")
    _refused(result, "'condense.gpc' must be >= 1; got -1")
    assert os.listdir(tmp_path) == []


def test_negative_checkpoint_every(run, tmp_path, no_load):
    result = _condense(run, tmp_path / "x.bin", "--checkpoint-every", "-5")
    _refused(result, "'condense.checkpoint_every' must be >= 0; got -5")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "does not exist"),
        ("condense: [1, 2\n", "is not valid YAML"),
        ("condense:\n  epochs: many\n", "expects an integer, got 'many'"),
        ("condense:\n  lr_feat: -0.5\n", "'condense.lr_feat' must be > 0"),
        ("model:\n  pooling: max\n", "must be one of mean, sum; got 'max'"),
    ],
)
def test_bad_config_file(run, tmp_path, no_load, text, message):
    config = tmp_path / "config.yaml"
    if text is not None:
        config.write_text(text)
    out = tmp_path / "x.bin"
    result = _condense(run, out, "--config", str(config))
    _refused(result, message, str(config))
    assert not out.exists()


def test_resume_does_not_replace_an_existing_output(run, tmp_path, no_load):
    out = tmp_path / "x.bin"
    out.write_bytes(b"old")
    result = _condense(run, out, "--resume")
    _refused(result, str(out), "--force")
    assert out.read_bytes() == b"old"


# -- data roots ---------------------------------------------------------


def test_data_root_that_does_not_exist(run, tmp_path):
    missing = tmp_path / "nowhere"
    result = _condense(run, tmp_path / "x.bin", "--data-root", str(missing))
    _refused(result, str(missing), "tu/ and ogb/", "--data-root")
    assert os.listdir(tmp_path) == []


def test_data_root_without_the_dataset(run, tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    root = tmp_path / "root"
    (root / "tu").mkdir(parents=True)
    out = tmp_path / "x.bin"
    result = _condense(
        run,
        out,
        "--data-root",
        str(root),
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    _refused(result, "'MUTAG' not found", str(root), "--data-root")
    assert not out.exists()


@pytest.mark.parametrize("method", ["random", "herding", "kcenter"])
def test_coreset_gpc_larger_than_smallest_class(run, tmp_path, method):
    out = tmp_path / "x.bin"
    result = _condense(run, out, "--method", method, "--gpc", "1000")
    _refused(result, "--gpc 1000", "smallest class", "gpc <=")
    assert os.listdir(tmp_path) == []


# -- condensed-set files ------------------------------------------------


@pytest.fixture(scope="module")
def good_set(tmp_path_factory, data_root, cache_dir):
    """A MUTAG set made once for this module."""
    folder = tmp_path_factory.mktemp("good")
    result = CliRunner().invoke(
        cli.main,
        ["-q", "condense", "--dataset", "MUTAG", "--epochs", "1"]
        + ["--out", str(folder / "set.bin")],
        env={
            "DGL_DOSCOND_DATA": str(data_root),
            "DGL_DOSCOND_CACHE": str(cache_dir),
        },
    )
    assert result.exit_code == 0, result.output
    return folder


def _copy(good_set, tmp_path):
    for name in ("set.bin", "set.json"):
        shutil.copy(good_set / name, tmp_path / name)
    return tmp_path / "set.bin"


def _evaluate(run, train, tmp_path):
    return run(
        "evaluate",
        "--dataset",
        "MUTAG",
        "--train",
        str(train),
        "--runs",
        "1",
        "--epochs",
        "1",
        "--json",
        str(tmp_path / "result.json"),
    )


def test_condensed_set_missing(run, tmp_path):
    train = tmp_path / "none.bin"
    _refused(_evaluate(run, train, tmp_path), str(train), "does not exist")
    _refused(run("info", str(train)), str(train), "does not exist")
    assert os.listdir(tmp_path) == []


def test_condensed_set_truncated(run, tmp_path, good_set):
    train = _copy(good_set, tmp_path)
    data = train.read_bytes()
    train.write_bytes(data[: len(data) // 2])
    result = _evaluate(run, train, tmp_path)
    _refused(result, str(train), "truncated", "Condense it again")
    assert sorted(os.listdir(tmp_path)) == ["set.bin", "set.json"]


def test_condensed_set_not_a_dgl_file(run, tmp_path, good_set):
    train = _copy(good_set, tmp_path)
    train.write_bytes(b"this is not a DGL file")
    manifest = json.loads((tmp_path / "set.json").read_text())
    manifest["sha256"] = hashlib.sha256(train.read_bytes()).hexdigest()
    (tmp_path / "set.json").write_text(json.dumps(manifest))
    result = _evaluate(run, train, tmp_path)
    _refused(result, str(train), "not a DGL graph file")
    assert "Stack trace" not in result.output  # DGL's C++ trace stays out
    assert sorted(os.listdir(tmp_path)) == ["set.bin", "set.json"]


def test_condensed_set_of_another_dataset(run, tmp_path, good_set):
    train = _copy(good_set, tmp_path)
    manifest = json.loads((tmp_path / "set.json").read_text())
    manifest["dataset"] = "NCI1"
    (tmp_path / "set.json").write_text(json.dumps(manifest))
    result = _evaluate(run, train, tmp_path)
    _refused(result, "dataset='NCI1'", "dataset='MUTAG'")
    assert sorted(os.listdir(tmp_path)) == ["set.bin", "set.json"]


# -- user graphs (library) ----------------------------------------------


def _path_graph(num_nodes, feat_dim):
    src = torch.arange(max(num_nodes - 1, 0))
    graph = dgl.graph(
        (torch.cat([src, src + 1]), torch.cat([src + 1, src])),
        num_nodes=num_nodes,
    )
    graph.ndata["feat"] = torch.ones(num_nodes, feat_dim)
    return graph


def test_graph_without_nodes_is_refused():
    graphs = [_path_graph(3, 4), _path_graph(0, 4)]
    with pytest.raises(ValueError, match="Graph 1 has no nodes; drop it"):
        GraphDataset.from_graphs(graphs, torch.tensor([0, 1]))


def test_features_of_different_widths_are_refused():
    graphs = [_path_graph(3, 4), _path_graph(3, 5)]
    with pytest.raises(
        ValueError, match="Graph 1 has 5 node features but graph 0 has 4"
    ):
        GraphDataset.from_graphs(graphs, torch.tensor([0, 1]))
