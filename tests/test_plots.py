import math
import os

import dgl
import matplotlib
import pytest
import torch
from PIL import Image

from dgl_doscond import GraphDataset, condense, load_config, save_condensed
from dgl_doscond.plots import (
    plot_condensed,
    plot_curves,
    plot_distributions,
    plot_graphs,
    plot_scores,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert 150 <= width <= 4000 and 150 <= height <= 4000
    # Only the figure itself is left in the folder, no temporary file.
    assert not [n for n in os.listdir(os.path.dirname(path)) if n[0] == "."]


def _graph(num_nodes, edges, feat_dim=3):
    src = torch.tensor([u for u, _ in edges], dtype=torch.int64)
    dst = torch.tensor([v for _, v in edges], dtype=torch.int64)
    graph = dgl.graph(
        (torch.cat([src, dst]), torch.cat([dst, src])), num_nodes=num_nodes
    )
    torch.manual_seed(num_nodes)
    graph.ndata["feat"] = torch.rand(num_nodes, feat_dim)
    return graph


@pytest.fixture
def tiny():
    """Synthetic and real 4-node-ish graphs of two classes; the synthetic
    ones have isolated nodes, one has no edge at all."""
    graphs = [
        _graph(4, [(0, 1), (1, 2)]),  # node 3 isolated
        _graph(4, []),
        _graph(4, [(0, 1), (1, 2), (2, 0), (2, 3)]),
        _graph(4, [(0, 3)]),
    ]
    real_graphs = [
        _graph(3, [(0, 1), (1, 2)]),
        _graph(5, [(0, 1), (1, 2), (2, 3), (3, 4)]),
        _graph(4, [(0, 1), (0, 2), (0, 3)]),
        _graph(6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)]),
        _graph(1, []),
    ]
    labels = torch.tensor([0, 0, 1, 1])
    real_labels = torch.tensor([0, 1, 0, 1, 1])
    return graphs, labels, real_graphs, real_labels


def _history(valid=False):
    points = []
    for i, iteration in enumerate((0, 10, 20, 29)):
        point = {
            "iteration": iteration,
            "loss": 2.0 / (i + 1),
            "match": 1.5 / (i + 1),
            "density": 0.3 - 0.05 * i,
            "tau": 1.0 - 0.2 * i,
        }
        if valid:
            point["valid"] = 0.6 + 0.05 * i
        points.append(point)
    return points


@pytest.mark.parametrize("valid", [False, True])
def test_plot_curves(tmp_path, valid):
    manifest = {"dataset": "MUTAG", "method": "doscond", "gpc": 1}
    manifest["history"] = _history(valid)
    out = tmp_path / "curves.png"
    assert plot_curves(manifest, out) == str(out)
    _check_png(out)


def test_plot_curves_refuses_an_empty_history(tmp_path):
    manifest = {"dataset": "MUTAG", "method": "herding", "history": []}
    with pytest.raises(ValueError, match="coreset method.*records none"):
        plot_curves(manifest, tmp_path / "curves.png")
    with pytest.raises(ValueError, match="needs a manifest dict"):
        plot_curves([], tmp_path / "curves.png")
    with pytest.raises(ValueError, match="'iteration' key"):
        plot_curves({"history": [{"loss": 1.0}]}, tmp_path / "curves.png")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("per_class", [1, 2, 3])
def test_plot_graphs_leaves_graphs_unchanged(tmp_path, tiny, per_class):
    graphs, labels, real_graphs, real_labels = tiny
    edges_before = [g.edges() for g in graphs + real_graphs]
    out = tmp_path / "graphs.png"
    plot_graphs(graphs, labels, real_graphs, real_labels, out, per_class)
    _check_png(out)
    for graph, (src, dst) in zip(graphs + real_graphs, edges_before):
        assert torch.equal(graph.edges()[0], src)
        assert torch.equal(graph.edges()[1], dst)
        assert list(graph.ndata.keys()) == ["feat"]


def test_plot_graphs_binary_labels(tmp_path, tiny):
    graphs, _, real_graphs, _ = tiny
    nan = math.nan
    labels = torch.tensor([[0.0, 1.0], [1.0, nan], [nan, 0.0], [1.0, 1.0]])
    real_labels = torch.tensor([[0.0], [1.0], [nan], [1.0], [0.0]])
    out = tmp_path / "binary.png"
    plot_graphs(graphs, labels, real_graphs, real_labels, out, per_class=2)
    _check_png(out)


def test_plot_graphs_bad_input(tmp_path, tiny):
    graphs, labels, real_graphs, real_labels = tiny
    out = tmp_path / "graphs.png"
    with pytest.raises(ValueError, match="per_class must be >= 1, got 0"):
        plot_graphs(graphs, labels, real_graphs, real_labels, out, 0)
    with pytest.raises(ValueError, match="labels must be .* G=4, got"):
        plot_graphs(graphs, labels[:3], real_graphs, real_labels, out)
    with pytest.raises(ValueError, match="real_graphs is empty"):
        plot_graphs(graphs, labels, [], real_labels[:0], out)
    with pytest.raises(ValueError, match="no known class"):
        nan_labels = torch.full((4, 1), math.nan)
        plot_graphs(graphs, nan_labels, real_graphs, real_labels, out)
    with pytest.raises(ValueError, match="not a DGL graph"):
        plot_graphs([1, 2, 3, 4], labels, real_graphs, real_labels, out)
    assert os.listdir(tmp_path) == []


def test_plot_distributions(tmp_path, tiny):
    graphs, _, real_graphs, _ = tiny
    out = tmp_path / "distributions.png"
    assert plot_distributions(graphs, real_graphs, out) == str(out)
    _check_png(out)
    with pytest.raises(ValueError, match="graphs is empty"):
        plot_distributions([], real_graphs, out)


@pytest.mark.parametrize("whole", [None, 80.5, (80.5, 2.0)])
def test_plot_scores(tmp_path, whole):
    rows = [
        {"method": "doscond", "gpc": gpc, "mean": 70 + gpc / 5, "std": 1.5}
        for gpc in (1, 10, 20)
    ]
    rows += [
        {"method": "random", "gpc": 10, "mean": 65.0, "std": None},
        {"method": "random", "gpc": 1, "mean": 60.0, "std": 3.0},
    ]
    out = tmp_path / "scores.png"
    assert plot_scores(rows, out, whole=whole) == str(out)
    _check_png(out)


@pytest.mark.parametrize(
    "rows, match",
    [
        ([], "at least one row"),
        ([{"method": "doscond", "gpc": 1}], r"rows\[0\] must be a dict"),
        ([{"method": "x", "gpc": 0, "mean": 1.0}], "int >= 1"),
        ([{"method": "x", "gpc": 1, "mean": math.nan}], "finite number"),
        ([{"method": "x", "gpc": 1, "mean": 1, "std": -1}], ">= 0"),
    ],
)
def test_plot_scores_bad_rows(tmp_path, rows, match):
    with pytest.raises(ValueError, match=match):
        plot_scores(rows, tmp_path / "scores.png")


def test_bad_output_path(tmp_path, tiny):
    graphs, _, real_graphs, _ = tiny
    missing = tmp_path / "missing" / "plot.png"
    with pytest.raises(ValueError, match="missing' does not exist"):
        plot_distributions(graphs, real_graphs, missing)
    with pytest.raises(ValueError, match="must end in '.png'"):
        plot_distributions(graphs, real_graphs, tmp_path / "plot.pdf")


def test_backend_untouched(tmp_path, tiny):
    backend = matplotlib.get_backend()
    graphs, _, real_graphs, _ = tiny
    plot_distributions(graphs, real_graphs, tmp_path / "plot.png")
    assert matplotlib.get_backend() == backend


@pytest.fixture(scope="module")
def condensed_bin(mutag, tmp_path_factory):
    config = load_config(
        "MUTAG",
        overrides={"condense": {"epochs": 3, "batch_real": 16, "gpc": 2}},
    )
    result = condense(mutag, config, seed=0)
    path = tmp_path_factory.mktemp("condensed") / "mutag.bin"
    manifest = {
        "dataset": mutag.name,
        "method": config.condense.method,
        "gpc": config.condense.gpc,
        "history": result.history,
    }
    save_condensed(path, result.graphs(), result.labels, manifest)
    return path


def test_plot_condensed(tmp_path, mutag, condensed_bin):
    written = plot_condensed(condensed_bin, mutag, tmp_path)
    names = ["curves.png", "graphs.png", "distributions.png"]
    assert written == [str(tmp_path / name) for name in names]
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    for path in written:
        _check_png(path)


def test_plot_condensed_coreset_has_no_curves(tmp_path, mutag):
    train = mutag.split["train"][:4]
    graphs = [mutag.graphs[i] for i in train.tolist()]
    manifest = {"dataset": "MUTAG", "method": "random", "history": []}
    save_condensed(tmp_path / "set.bin", graphs, mutag.labels[train], manifest)
    out = tmp_path / "figures"
    out.mkdir()
    written = plot_condensed(tmp_path / "set.bin", mutag, out)
    assert [os.path.basename(p) for p in written] == [
        "graphs.png",
        "distributions.png",
    ]


def test_plot_condensed_bad_input(tmp_path, tiny, mutag, condensed_bin):
    missing = tmp_path / "figures"
    with pytest.raises(ValueError, match="'.*figures' does not exist"):
        plot_condensed(condensed_bin, mutag, missing)
    assert not missing.exists()
    with pytest.raises(ValueError, match="does not exist; make one"):
        plot_condensed(tmp_path / "none.bin", mutag, tmp_path)
    graphs, labels, _, _ = tiny
    other = GraphDataset.from_graphs(graphs, labels, name="custom")
    with pytest.raises(ValueError, match="condensed from 'MUTAG', not 'cus"):
        plot_condensed(condensed_bin, other, tmp_path)
    assert os.listdir(tmp_path) == []
