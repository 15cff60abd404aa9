"""Train your own DGL model on a condensed set, with nothing but DGL.

A condensed-set file is a plain DGL graph file. This script reads one with
``dgl.load_graphs``, trains a small GNN written here with ``dgl.nn``
layers and a ``GraphDataLoader`` (not the package's backbones or
harness), and scores it on the real test split of the dataset the set was
made from (the split is rebuilt from the manifest and its hash checked).

    dgl-doscond condense --dataset minigc --gpc 1 --epochs 200 --out syn.bin
    python examples/plain_dgl.py syn.bin [--epochs 200] [--data-root DIR]

Sets of the registry's multi-class datasets (TU, MiniGC); the OGB sets
are scored by ROC-AUC instead.
"""

import argparse
import sys

import _shared as sh
import dgl
import torch
import torch.nn.functional as F
from dgl.dataloading import GraphDataLoader
from dgl.nn import GraphConv

import dgl_doscond


class SmallGNN(torch.nn.Module):
    """Two GraphConv layers, mean readout, a linear classifier. Its
    graphs need self-loops (GraphConv's normalisation counts them)."""

    def __init__(self, in_feats, hidden_feats, num_classes):
        super().__init__()
        self.conv1 = GraphConv(in_feats, hidden_feats)
        self.conv2 = GraphConv(hidden_feats, hidden_feats)
        self.out = torch.nn.Linear(hidden_feats, num_classes)

    def forward(self, graph, feat):
        hidden = F.relu(self.conv1(graph, feat))
        hidden = F.relu(self.conv2(graph, hidden))
        with graph.local_scope():
            graph.ndata["h"] = hidden
            return self.out(dgl.mean_nodes(graph, "h"))


def real_test_split(manifest, data_root, cache_dir):
    """The test graphs and labels of the set's dataset and split."""
    if manifest["feat_encoding"] == "custom":
        raise SystemExit(
            f"{manifest['dataset']} is a set of your own graphs; score the "
            "model on your own test graphs."
        )
    data = dgl_doscond.load_dataset(
        manifest["dataset"],
        data_root=data_root,
        cache_dir=cache_dir,
        split_seed=manifest["split_seed"] or 0,
        feat_encoding=manifest["feat_encoding"],
        split=manifest["split_method"],
    )
    if data.split_hash != manifest["split_hash"]:
        raise SystemExit(
            f"{manifest['dataset']}'s split here ({data.split_hash}) is not "
            f"the set's ({manifest['split_hash']}): load it as it was made."
        )
    graphs, labels = data.subset(data.split["test"])
    return [dgl.add_self_loop(g) for g in graphs], labels


def accuracy(model, graphs, labels):
    model.eval()
    with torch.no_grad():
        batch = dgl.batch(graphs)
        pred = model(batch, batch.ndata["feat"]).argmax(1)
    return 100.0 * (pred == labels).float().mean().item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("condensed", help="A .bin made by dgl-doscond.")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=sh.default_data_root())
    parser.add_argument("--cache-dir", default=sh.default_cache_dir())
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    # The file, as plain DGL reads it; the manifest beside it names the
    # dataset and split it was made from.
    graphs, extra = dgl.load_graphs(args.condensed)
    graphs = [dgl.add_self_loop(g) for g in graphs]
    labels = extra["label"]
    _, _, manifest = dgl_doscond.load_condensed(args.condensed)
    if manifest["task"] != "multiclass":
        raise SystemExit(
            f"{manifest['dataset']} is a {manifest['task']} set; this "
            "example trains multi-class classifiers only."
        )
    test_graphs, test_labels = real_test_split(
        manifest, args.data_root, args.cache_dir
    )

    model = SmallGNN(
        graphs[0].ndata["feat"].shape[1], 64, manifest["num_classes"]
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = GraphDataLoader(
        list(zip(graphs, labels)), batch_size=32, shuffle=True
    )
    for _ in range(args.epochs):
        model.train()
        for batch, batch_labels in loader:
            loss = F.cross_entropy(
                model(batch, batch.ndata["feat"]), batch_labels
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    print(
        f"{len(graphs)} condensed graphs of {manifest['dataset']}, "
        f"{args.epochs} epochs: test accuracy "
        f"{accuracy(model, test_graphs, test_labels):.2f} % on "
        f"{len(test_graphs)} real test graphs (one run, seed {args.seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
