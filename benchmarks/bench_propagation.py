"""Real-graph propagation: one sparse matrix per batch against DGL's
message passing.

The backbones propagate real graphs with one sparse adjacency per batch
(built once, used by every layer) and ``torch.sparse.mm``. This script
times, on the same real batch and the same weights, one forward and
backward pass (the gradients of the parameters, as the real side of
matching needs them) of:

- ``sparse``: the backbone's own ``forward`` (what condensation runs);
- ``dgl``: the same GCN through DGL's ``GraphConv`` message passing, with
  self-loops added by ``dgl.add_self_loop`` and the same normalisation:
  the plain path the sparse one replaced (both give the same numbers;
  ``tests/test_backbones.py`` checks outputs and gradients).

It writes ``results/propagation.json`` and a table between markers in
``README.md``, with the machine and the date.

Example::

    python benchmarks/bench_propagation.py --dataset MUTAG --dataset NCI1 \\
        --dataset ogbg-molbace --threads 1 --threads 2
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    add_output_options,
    write_readme,
    write_records,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def dgl_forward(model, graph, feat):
    """The GCN's logits by DGL's GraphConv message passing."""
    import dgl

    looped = dgl.add_self_loop(graph)
    deg_inv_sqrt = looped.in_degrees().float().rsqrt()
    src, dst = looped.edges()
    norm = deg_inv_sqrt[src] * deg_inv_sqrt[dst]
    hidden = feat
    for conv in model.convs:
        hidden = torch.relu(conv(looped, hidden, edge_weight=norm))
    with graph.local_scope():
        graph.ndata["h"] = hidden
        return model.head(dgl.mean_nodes(graph, "h"))


def time_paths(dataset, batch_size, repeats, seed=0):
    """Median seconds of forward + backward for each path, and the size
    of the batch."""
    from dgl_doscond.backbones import build_backbone
    from dgl_doscond.packing import PackedGraphs

    train = dataset.split["train"].tolist()
    packed = PackedGraphs([dataset.graphs[i] for i in train])
    gen = torch.Generator().manual_seed(seed)
    out_feats = (
        dataset.num_classes
        if dataset.task == "multiclass"
        else dataset.num_tasks
    )
    paths = {
        "sparse": lambda m, g, f: m(g, f),
        "dgl": dgl_forward,
    }
    times = {name: [] for name in paths}
    size = None
    for it in range(3 + repeats):
        ids = torch.randperm(len(packed), generator=gen)[:batch_size]
        graph, feat = packed.batch(ids)
        size = (graph.num_nodes(), graph.num_edges())
        model = build_backbone("gcn", dataset.feat_dim, out_feats)
        params = list(model.parameters())
        outs = {}
        for name, forward in paths.items():
            tic = time.perf_counter()
            out = forward(model, graph, feat)
            torch.autograd.grad(out.square().sum(), params)
            if it >= 3:
                times[name].append(time.perf_counter() - tic)
            outs[name] = out.detach()
        torch.testing.assert_close(outs["sparse"], outs["dgl"])
    medians = {name: statistics.median(t) for name, t in times.items()}
    return medians, size


def markdown(records):
    lines = [
        "| dataset | threads | batch nodes | batch edges | sparse (ms) | "
        "DGL message passing (ms) | DGL / sparse |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s, d = r["seconds"]["sparse"], r["seconds"]["dgl"]
        lines.append(
            f"| {r['dataset']} | {r['threads']} | {r['batch_nodes']} | "
            f"{r['batch_edges']} | {1000 * s:.1f} | {1000 * d:.1f} | "
            f"{d / s:.2f} |"
        )
    procs = sorted({r["machine"] for r in records})
    dates = sorted({r["date"][:10] for r in records})
    lines += [
        "",
        f"Machine: {'; '.join(procs)}; dates (UTC) {', '.join(dates)}. "
        "One forward and backward pass (parameter gradients) of a "
        "3-layer GCN, 128 wide, on a batch of "
        f"{records[0]['batch_size']} random training graphs; medians over "
        f"{records[0]['repeats']} batches, both paths on the same batch "
        "and weights. Raw figures: `results/propagation.json`.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="extend", nargs="+")
    parser.add_argument("--threads", action="extend", nargs="+", type=int)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    add_output_options(parser, "propagation.json")
    args = parser.parse_args(argv)

    from dgl_doscond import load_dataset

    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    cpu = f"{platform.machine()}, {os.cpu_count()} cores, torch "
    cpu += torch.__version__
    records = []
    for name in args.dataset or ["MUTAG"]:
        data = load_dataset(
            name, data_root=args.data_root, cache_dir=args.cache_dir
        )
        for threads in args.threads or [torch.get_num_threads()]:
            torch.set_num_threads(threads)
            seconds, (nodes, edges) = time_paths(
                data, args.batch_size, args.repeats
            )
            record = {
                "dataset": data.name,
                "threads": threads,
                "batch_size": args.batch_size,
                "repeats": args.repeats,
                "batch_nodes": nodes,
                "batch_edges": edges,
                "seconds": seconds,
                "machine": cpu,
                "date": date,
                "command": " ".join(sys.argv),
            }
            records.append(record)
            print(
                f"{data.name}, {threads} threads: sparse "
                f"{1000 * seconds['sparse']:.1f} ms, DGL "
                f"{1000 * seconds['dgl']:.1f} ms "
                f"({seconds['dgl'] / seconds['sparse']:.2f}x)"
            )
    write_records(args.json, records)
    write_readme(args.readme, markdown(records), "prop")


if __name__ == "__main__":
    main()
