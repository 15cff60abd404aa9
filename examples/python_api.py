"""DosCond from Python, on your own list of DGL graphs.

Condenses 200 MiniGC graphs (8 shape classes, one-hot degree features)
into 2 synthetic graphs per class, saves them, and trains fresh GCNs on
them. A few seconds on a laptop CPU.

    python examples/python_api.py [OUT.bin]
"""

import os
import sys
import tempfile

import dgl
import torch
from dgl.data import MiniGCDataset

import dgl_doscond

out = sys.argv[1] if len(sys.argv) > 1 else None
out = out or os.path.join(tempfile.gettempdir(), "minigc_syn.bin")

# Any graphs work: both directions of every edge, no self-loops, float
# node features of one width D in ndata["feat"].
mini = MiniGCDataset(200, 10, 20, seed=0)
graphs = [dgl.remove_self_loop(dgl.to_bidirected(g)) for g, _ in mini]
max_degree = max(int(g.in_degrees().max()) for g in graphs)
for g in graphs:
    onehot = torch.nn.functional.one_hot(g.in_degrees(), max_degree + 1)
    g.ndata["feat"] = onehot.float()  # (num_nodes, D)
labels = torch.as_tensor(mini.labels, dtype=torch.int64)  # (G,)

ds = dgl_doscond.GraphDataset.from_graphs(graphs, labels, name="minigc200")
cfg = dgl_doscond.load_config(
    overrides={
        "condense": {"gpc": 2, "epochs": 50},
        "evaluate": {"epochs": 50, "runs": 2},
    }
)

result = dgl_doscond.condense(ds, cfg, seed=0)
graphs_syn = result.graphs()
labels_syn = result.labels
print(
    f"{len(graphs_syn)} synthetic graphs of {result.num_nodes} nodes from "
    f"{len(ds.split['train'])} training graphs in {result.seconds:.1f} s"
)

manifest = {"dataset": ds.name, "method": "doscond", "seed": 0}
dgl_doscond.save_condensed(out, graphs_syn, labels_syn, manifest, force=True)
print(f"saved to {out} (read back with dgl.load_graphs)")

syn = dgl_doscond.evaluate(
    ds, cfg, train_graphs=graphs_syn, train_labels=labels_syn
)
print(f"GCN on the synthetic set: test {syn.summary()}")
whole = dgl_doscond.evaluate(ds, cfg)  # all training graphs, for scale
print(f"GCN on all {whole.num_train_graphs} graphs: test {whole.summary()}")
