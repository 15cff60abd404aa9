import json
import os

import dgl
import pytest
import torch

from dgl_doscond.io import (
    CondensedSetError,
    atomic_write,
    check_compatible,
    load_condensed,
    manifest_path,
    save_condensed,
)


@pytest.fixture
def tiny_set():
    graphs = []
    for num_nodes in (3, 4):
        src = torch.arange(num_nodes - 1)
        graph = dgl.graph(
            (torch.cat([src, src + 1]), torch.cat([src + 1, src])),
            num_nodes=num_nodes,
        )
        graph.ndata["feat"] = torch.randn(num_nodes, 5)
        graphs.append(graph)
    return graphs, torch.tensor([0, 1])


def test_round_trip_through_plain_dgl(tmp_path, tiny_set):
    graphs, labels = tiny_set
    path = str(tmp_path / "set.bin")
    manifest = save_condensed(path, graphs, labels, {"dataset": "toy"})

    loaded, extra = dgl.load_graphs(path)
    assert torch.equal(extra["label"], labels)
    for a, b in zip(graphs, loaded):
        assert torch.equal(a.edges()[0], b.edges()[0])
        assert torch.equal(a.ndata["feat"], b.ndata["feat"])

    graphs2, labels2, manifest2 = load_condensed(path)
    assert len(graphs2) == 2 and torch.equal(labels2, labels)
    assert manifest2 == manifest
    assert manifest["num_graphs"] == 2 and manifest["num_nodes"] == 7
    assert manifest["num_edges"] == 5 and manifest["feat_dim"] == 5
    assert {"dgl", "torch", "dgl_doscond"} <= set(manifest["versions"])
    assert manifest_path(path) == str(tmp_path / "set.json")


def test_existing_output_is_refused_unless_forced(tmp_path, tiny_set):
    graphs, labels = tiny_set
    path = str(tmp_path / "set.bin")
    save_condensed(path, graphs, labels, {"dataset": "a"})
    before = open(path, "rb").read()
    with pytest.raises(CondensedSetError, match="exists already.*--force"):
        save_condensed(path, graphs[:1], labels[:1], {"dataset": "b"})
    assert open(path, "rb").read() == before
    save_condensed(path, graphs[:1], labels[:1], {"dataset": "b"}, force=True)
    assert load_condensed(path)[2]["dataset"] == "b"


def test_output_folder_must_exist(tmp_path, tiny_set):
    with pytest.raises(CondensedSetError, match="does not exist"):
        save_condensed(str(tmp_path / "no" / "set.bin"), *tiny_set, {})
    with pytest.raises(CondensedSetError, match="must end in '.bin'"):
        save_condensed(str(tmp_path / "set.pt"), *tiny_set, {})


def test_truncated_file_is_detected(tmp_path, tiny_set):
    path = str(tmp_path / "set.bin")
    save_condensed(path, *tiny_set, {"dataset": "toy"})
    data = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])
    with pytest.raises(CondensedSetError, match="truncated"):
        load_condensed(path)


def test_missing_and_foreign_files(tmp_path, tiny_set):
    with pytest.raises(CondensedSetError, match="does not exist"):
        load_condensed(str(tmp_path / "none.bin"))
    path = tmp_path / "junk.bin"
    path.write_bytes(b"not a dgl file")
    with pytest.raises(CondensedSetError, match="manifest.*is missing"):
        load_condensed(str(path))
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(CondensedSetError, match="not valid JSON"):
        load_condensed(str(path))


def test_failed_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "out.txt")
    with open(path, "w") as handle:
        handle.write("old")

    def broken(tmp):
        with open(tmp, "w") as handle:
            handle.write("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, broken)
    assert open(path).read() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


class _Data:
    name = "MUTAG"
    split_hash = "abc"
    feat_encoding = "onehot"


def test_check_compatible_names_the_difference():
    check_compatible(
        {"dataset": "MUTAG", "split_hash": "abc", "feat_encoding": "onehot"},
        _Data(),
    )
    with pytest.raises(CondensedSetError, match="split_hash='zzz'"):
        check_compatible(
            {
                "dataset": "MUTAG",
                "split_hash": "zzz",
                "feat_encoding": "onehot",
            },
            _Data(),
        )
    with pytest.raises(CondensedSetError, match="dataset='NCI1'"):
        check_compatible({"dataset": "NCI1"}, _Data())


def test_manifest_is_json(tmp_path, tiny_set):
    path = str(tmp_path / "set.bin")
    save_condensed(path, *tiny_set, {"dataset": "toy", "gpc": 1})
    with open(tmp_path / "set.json") as handle:
        assert json.load(handle)["gpc"] == 1
