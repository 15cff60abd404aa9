import math
import os
import shutil
import socket
import stat
import time
import zipfile

import dgl
import numpy as np
import pytest
import torch

from dgl_doscond import data
from dgl_doscond.data import (
    DatasetNotFoundError,
    GraphDataset,
    available_datasets,
    load_dataset,
    stratified_split,
)


def assert_simple_symmetric(graph):
    src, dst = graph.edges()
    assert not torch.any(src == dst), "self-loop found"
    keys = src * graph.num_nodes() + dst
    assert len(torch.unique(keys)) == len(keys), "duplicate edge found"
    reverse = torch.sort(dst * graph.num_nodes() + src).values
    assert torch.equal(torch.sort(keys).values, reverse), "not symmetric"


def assert_clean_features(dataset):
    for g in dataset.graphs:
        assert list(g.ndata.keys()) == ["feat"]
        assert list(g.edata.keys()) == []
        assert g.ndata["feat"].dtype == torch.float32
        assert g.ndata["feat"].shape == (g.num_nodes(), dataset.feat_dim)


def snapshot(folder):
    """(size, mtime) of everything under ``folder``, keyed by path."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for entry in dirnames + filenames:
            path = os.path.join(dirpath, entry)
            info = os.lstat(path)
            result[os.path.relpath(path, folder)] = (
                info.st_size,
                info.st_mtime_ns,
            )
    return result


@pytest.fixture
def block_network(monkeypatch):
    """Make every host name lookup fail, as on a machine with no network."""

    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "network blocked by test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# -- each family loads --------------------------------------------------


def test_mutag(data_root, cache_dir):
    ds = load_dataset("MUTAG", data_root, cache_dir)
    assert (ds.name, ds.num_graphs, ds.num_classes) == ("MUTAG", 188, 2)
    assert (ds.task, ds.metric, ds.num_tasks) == ("multiclass", "accuracy", 1)
    assert ds.feat_dim == 7
    assert round(ds.mean_num_nodes, 2) == 17.93
    assert round(ds.stats()["mean_num_edges"], 2) == 19.79
    assert ds.labels.dtype == torch.int64 and ds.labels.shape == (188,)
    assert torch.bincount(ds.labels).tolist() == [63, 125]
    assert_clean_features(ds)
    feat = torch.cat([g.ndata["feat"] for g in ds.graphs])
    assert torch.equal(feat.sum(1), torch.ones(len(feat)))


def test_name_is_case_insensitive(data_root, cache_dir):
    assert load_dataset("mutag", data_root, cache_dir).name == "MUTAG"


def test_enzymes_labels_and_attributes(data_root, cache_dir):
    ds = load_dataset("ENZYMES", data_root, cache_dir)
    assert (ds.num_graphs, ds.num_classes, ds.feat_dim) == (600, 6, 21)
    assert torch.bincount(ds.labels).tolist() == [100] * 6
    feat = torch.cat([g.ndata["feat"] for g in ds.graphs])
    # 3 one-hot node labels, then the 18 attributes, standardised
    assert torch.equal(feat[:, :3].sum(1), torch.ones(len(feat)))
    assert not torch.all(feat[:, 3:].eq(0) | feat[:, 3:].eq(1))
    attrs = feat[:, 3:]
    torch.testing.assert_close(
        attrs.mean(0), torch.zeros(18), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(attrs.std(0), torch.ones(18), atol=1e-4, rtol=0)


def test_proteins_attribute_is_standardised(data_root, cache_dir):
    ds = load_dataset("PROTEINS", data_root, cache_dir)
    feat = torch.cat([g.ndata["feat"] for g in ds.graphs])
    assert ds.feat_dim == 4
    assert abs(feat[:, 3].mean().item()) < 1e-4
    assert abs(feat[:, 3].std().item() - 1) < 1e-4


def test_imdb_binary_degree_features(data_root, cache_dir):
    ds = load_dataset("IMDB-BINARY", data_root, cache_dir)
    assert (ds.num_graphs, ds.num_classes) == (1000, 2)
    assert round(ds.stats()["mean_num_edges"], 2) == 96.53
    assert_clean_features(ds)
    for g in ds.graphs[:50]:
        assert torch.equal(g.ndata["feat"].argmax(1), g.in_degrees())


@pytest.mark.parametrize("name", ["MUTAG", "IMDB-BINARY", "minigc"])
def test_graphs_are_simple_and_symmetric(data_root, cache_dir, name):
    ds = load_dataset(name, data_root, cache_dir)
    for g in ds.graphs:
        assert_simple_symmetric(g)


def test_minigc_is_deterministic(cache_dir):
    state = np.random.get_state()[1].copy()
    first = load_dataset("minigc", cache_dir=cache_dir)
    second = load_dataset("MiniGC", cache_dir=cache_dir)
    assert np.array_equal(np.random.get_state()[1], state)
    assert (first.num_graphs, first.num_classes, first.task) == (
        600,
        8,
        "multiclass",
    )
    assert_clean_features(first)
    assert torch.equal(first.labels, second.labels)
    for g1, g2 in zip(first.graphs[::50], second.graphs[::50]):
        assert torch.equal(torch.stack(g1.edges()), torch.stack(g2.edges()))


@pytest.mark.parametrize("encoding, dim", [("onehot", 174), ("raw", 9)])
def test_ogbg_molbace(data_root, cache_dir, encoding, dim):
    ds = load_dataset("ogbg-molbace", data_root, cache_dir, 7, encoding)
    assert (ds.num_graphs, ds.num_tasks, ds.num_classes) == (1513, 1, 2)
    assert (ds.task, ds.metric, ds.feat_dim) == ("binary", "rocauc", dim)
    sizes = [len(ds.split[k]) for k in ("train", "valid", "test")]
    assert sizes == [1210, 151, 152]
    assert ds.split_seed is None and ds.feat_encoding == encoding
    assert ds.labels.dtype == torch.float32 and ds.labels.shape == (1513, 1)
    assert set(ds.graph_classes().tolist()) == {0, 1}
    assert_clean_features(ds)
    feat = ds.graphs[0].ndata["feat"]
    if encoding == "onehot":
        assert torch.equal(feat.sum(1), torch.full((len(feat),), 9.0))
    else:
        assert torch.equal(feat, feat.round())
    assert not (data_root / "ogb" / "ogbg_molbace" / "processed").exists()


@pytest.mark.slow
def test_ogbg_molhiv(data_root, cache_dir):
    ds = load_dataset("ogbg-molhiv", data_root, cache_dir)
    assert (ds.num_graphs, ds.feat_dim, ds.metric) == (41127, 174, "rocauc")
    sizes = [len(ds.split[k]) for k in ("train", "valid", "test")]
    assert sizes == [32901, 4113, 4113]
    assert round(ds.mean_num_nodes, 2) == 25.51


# -- split ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["MUTAG", "ENZYMES"])
def test_split_is_stratified_and_seeded(data_root, cache_dir, name):
    ds = load_dataset(name, data_root, cache_dir, split_seed=0)
    train, valid, test = (ds.split[k] for k in ("train", "valid", "test"))
    everything = torch.sort(torch.cat([train, valid, test])).values
    assert torch.equal(everything, torch.arange(ds.num_graphs))
    for part in (train, valid, test):
        assert part.dtype == torch.int64
        assert torch.equal(part, torch.sort(part).values)
    for cls, count in enumerate(torch.bincount(ds.labels).tolist()):
        size = math.ceil(count / 10)
        assert int((ds.labels[test] == cls).sum()) == size
        assert int((ds.labels[valid] == cls).sum()) == size

    again = load_dataset(name, data_root, cache_dir, split_seed=0)
    other = load_dataset(name, data_root, cache_dir, split_seed=1)
    assert again.split_hash == ds.split_hash
    assert other.split_hash != ds.split_hash
    assert not torch.equal(other.split["test"], test)
    assert (ds.split_seed, other.split_seed) == (0, 1)


def test_stratified_split_small_classes():
    classes = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    split = stratified_split(classes, seed=3)
    assert [len(split[k]) for k in ("train", "valid", "test")] == [8, 3, 4]
    assert torch.equal(
        torch.sort(torch.cat(list(split.values()))).values, torch.arange(15)
    )


# -- dataset object --------------------------------------------------------


def test_subset_and_stats(data_root, cache_dir):
    ds = load_dataset("MUTAG", data_root, cache_dir)
    graphs, labels = ds.subset(torch.tensor([5, 0, 187]))
    assert graphs[0] is ds.graphs[5] and graphs[2] is ds.graphs[187]
    assert torch.equal(labels, ds.labels[[5, 0, 187]])
    with pytest.raises(IndexError, match="188"):
        ds.subset([188])
    stats = ds.stats()
    assert stats["num_graphs"] == 188 and stats["feat_dim"] == 7
    assert stats["num_train"] + stats["num_valid"] + stats["num_test"] == 188
    assert len(ds.split_hash) == 16 and "MUTAG" in repr(ds)


def test_graph_classes_multitask_not_implemented():
    graph = dgl.graph(([0, 1], [1, 0]))
    graph.ndata["feat"] = torch.ones(2, 3)
    labels = torch.tensor([[1.0, float("nan")]])
    ds = GraphDataset(
        name="toy", graphs=[graph], labels=labels, num_classes=2,
        num_tasks=2, task="binary", metric="rocauc",
        split={k: torch.tensor([0]) for k in ("train", "valid", "test")},
        split_seed=None, feat_encoding="raw",
    )  # fmt: skip
    with pytest.raises(NotImplementedError, match="2 tasks"):
        ds.graph_classes()
    ds.labels, ds.num_tasks = labels[:, 1:], 1
    assert ds.graph_classes().tolist() == [-1]


def test_available_datasets(data_root, tmp_path):
    names = available_datasets(data_root)
    for name in ["MUTAG", "ENZYMES", "IMDB-BINARY", "ogbg-molhiv", "minigc"]:
        assert name in names
    assert available_datasets(tmp_path) == ["minigc"]
    assert available_datasets() == ["minigc"]


# -- data root handling ----------------------------------------------------


def test_read_only_data_root(data_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(data_root / "tu" / "MUTAG", root / "tu" / "MUTAG")
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), stat.S_IRUSR)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)
    before = snapshot(root)
    try:
        ds = load_dataset("MUTAG", root, tmp_path / "cache", download=False)
        assert ds.num_graphs == 188
        assert snapshot(root) == before
    finally:
        for dirpath, _, _ in os.walk(root):
            os.chmod(dirpath, stat.S_IRWXU)


def test_any_tu_folder_is_accepted(data_root, tmp_path):
    root = tmp_path / "root"
    source = data_root / "tu" / "MUTAG"
    (root / "tu" / "MYSET").mkdir(parents=True)
    for f in source.iterdir():
        if f.name.startswith("MUTAG_"):
            target = f.name.replace("MUTAG_", "MYSET_")
            shutil.copy(f, root / "tu" / "MYSET" / target)
    ds = load_dataset("MYSET", root, tmp_path / "cache", download=False)
    assert (ds.name, ds.num_graphs, ds.feat_dim) == ("MYSET", 188, 7)
    assert "MYSET" in available_datasets(root)


def test_unknown_name_lists_valid_names(data_root):
    with pytest.raises(ValueError, match=r"ogbg-mol.*MUTAG.*tu/NAME"):
        load_dataset("NOT_A_SET", data_root)
    with pytest.raises(ValueError, match="ogbg-molhiv"):
        load_dataset("ogbg-molfoo", data_root)
    with pytest.raises(NotImplementedError, match="regression"):
        load_dataset("ogbg-molesol", data_root)


def test_bad_arguments(data_root, tmp_path):
    with pytest.raises(ValueError, match="does_not_exist"):
        load_dataset("MUTAG", tmp_path / "does_not_exist")
    with pytest.raises(ValueError, match="'one-hot'"):
        load_dataset("MUTAG", data_root, feat_encoding="one-hot")


@pytest.mark.parametrize("name", ["MUTAG", "ogbg-molbbbp"])
def test_missing_dataset_offline(tmp_path, name):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError, match="--data-root") as err:
        load_dataset(name, empty, tmp_path / "cache", download=False)
    assert str(empty) in str(err.value) and "download=False" in str(err.value)


@pytest.mark.parametrize("name", ["MUTAG", "ogbg-molbbbp"])
def test_failed_download_is_fast(tmp_path, block_network, name):
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError, match="download from") as err:
        load_dataset(name, None, tmp_path / "cache", download=True)
    assert time.perf_counter() - start < 10
    assert "DGL_DOSCOND_DATA" in str(err.value)
    assert str(tmp_path / "cache" / "downloads") in str(err.value)


def test_download_goes_into_cache(data_root, cache_dir, tmp_path, monkeypatch):
    archive = tmp_path / "MUTAG.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (data_root / "tu" / "MUTAG").iterdir():
            zf.write(f, f"MUTAG/{f.name}")
    monkeypatch.setattr(data, "TU_URL", f"file://{tmp_path}/{{name}}.zip")

    cache = tmp_path / "cache"
    ds = load_dataset("MUTAG", None, cache, download=True)
    assert (cache / "downloads" / "tu" / "MUTAG" / "MUTAG_A.txt").is_file()
    reference = load_dataset("MUTAG", data_root, cache_dir)
    assert ds.split_hash == reference.split_hash
    assert torch.equal(ds.labels, reference.labels)

    archive.unlink()  # the second load must not download again
    assert load_dataset("MUTAG", None, cache).num_graphs == 188


def test_permutation_split_is_the_reference_split(data_root, cache_dir):
    from dgl_doscond import load_dataset

    data = load_dataset(
        "MUTAG",
        data_root=data_root,
        cache_dir=cache_dir,
        split="permutation",
    )
    assert data.split_method == "permutation"
    sizes = {k: len(v) for k, v in data.split.items()}
    assert sizes == {"train": 150, "valid": 19, "test": 19}  # METHOD.md
    order = torch.randperm(188, generator=torch.Generator().manual_seed(0))
    n = math.ceil(188 / 10)
    assert data.split["test"].tolist() == sorted(order[:n].tolist())
    assert data.split["valid"].tolist() == sorted(order[n : 2 * n].tolist())
    every = torch.cat(list(data.split.values())).sort().values
    assert torch.equal(every, torch.arange(188))


def test_permutation_split_is_refused_for_ogb(data_root, cache_dir):
    from dgl_doscond import load_dataset

    with pytest.raises(ValueError, match="scaffold split"):
        load_dataset(
            "ogbg-molbace",
            data_root=data_root,
            cache_dir=cache_dir,
            split="permutation",
        )


# -- a user's file of dgl.save_graphs ------------------------------------


def _save_tiny_file(path, **tensors):
    """Ten copies of two hand-made graphs: one with a self-loop and
    one-way edges (class 0), one path (class 1)."""
    first = dgl.graph(([0, 1, 1, 2], [1, 2, 1, 0]), num_nodes=3)
    first.ndata["feat"] = torch.arange(6.0).view(3, 2)
    second = dgl.graph(([0, 1], [1, 0]), num_nodes=2)
    second.ndata["feat"] = torch.ones(2, 2)
    labels = torch.tensor([0, 1] * 10)
    dgl.save_graphs(
        str(path), [first, second] * 10, {"label": labels, **tensors}
    )
    return labels


def test_graph_file_is_loaded_simple_with_a_stratified_split(tmp_path):
    path = tmp_path / "my_graphs.bin"
    labels = _save_tiny_file(path)
    ds = load_dataset(path, split_seed=3)
    assert ds.name == "my_graphs" and ds.num_graphs == 20
    assert ds.task == "multiclass" and ds.num_classes == 2
    assert torch.equal(ds.labels, labels)
    for g in ds.graphs:
        assert_simple_symmetric(g)
    src, dst = ds.graphs[0].edges()
    assert sorted(zip(src.tolist(), dst.tolist())) == [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
    ]  # fmt: skip
    assert torch.equal(ds.graphs[0].ndata["feat"], torch.arange(6.0).view(3, 2))
    assert ds.split_method == "stratified" and ds.split_seed == 3
    expected = stratified_split(labels, 3)
    assert all(torch.equal(ds.split[k], expected[k]) for k in expected)
    # The same string path, and the reference code's split.
    same = load_dataset(str(path), split_seed=3)
    assert same.split_hash == ds.split_hash
    permuted = load_dataset(path, split="permutation")
    assert permuted.split_method == "permutation"
    assert permuted.split_hash != load_dataset(path).split_hash


def test_graph_file_with_its_own_split(tmp_path):
    path = tmp_path / "given.bin"
    split = {
        "train_idx": torch.arange(0, 16),
        "valid_idx": torch.tensor([16, 17]),
        "test_idx": torch.tensor([18, 19]),
    }
    _save_tiny_file(path, **split)
    ds = load_dataset(path)
    assert ds.split_method == "given"
    assert torch.equal(ds.split["valid"], split["valid_idx"])
    assert torch.equal(ds.split["test"], split["test_idx"])
    with pytest.raises(ValueError, match="holds its own split"):
        load_dataset(path, split="permutation")


def test_graph_file_errors_say_how_to_write_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="dgl.save_graphs"):
        load_dataset(tmp_path / "missing.bin")
    junk = tmp_path / "junk.bin"
    junk.write_text("not a graph file")
    with pytest.raises(ValueError, match="is not a DGL graph file"):
        load_dataset(junk)
    no_labels = tmp_path / "no_labels.bin"
    graph = dgl.graph(([0], [1]), num_nodes=2)
    graph.ndata["feat"] = torch.ones(2, 1)
    dgl.save_graphs(str(no_labels), [graph], {"y": torch.tensor([0])})
    with pytest.raises(ValueError, match="no 'label' tensor .*found: y"):
        load_dataset(no_labels)
    partial = tmp_path / "partial.bin"
    _save_tiny_file(partial, train_idx=torch.arange(18))
    with pytest.raises(ValueError, match="without valid_idx, test_idx"):
        load_dataset(partial)
