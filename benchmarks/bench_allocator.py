"""What :func:`dgl_doscond.runtime.tune_allocator` saves.

For each dataset, two child processes run the same work, one with the
allocator left as glibc sets it and one tuned as the command line tunes it:

- ``step``: one forward and backward pass of the GCN (parameter gradients,
  as the real side of matching needs them) on a real batch of
  ``--batch-size`` training graphs, median over ``--repeats`` batches;
- ``iteration``: a DosCond condensation of ``--epochs`` outer iterations
  with the dataset's config, its loop time divided by the iterations;
- the peak resident memory of the child.

It writes ``results/allocator.json`` and a table between markers in
``README.md``, with the machine and the date.

Example::

    python benchmarks/bench_allocator.py --dataset DD --dataset NCI1 \\
        --threads 1
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    add_output_options,
    write_readme,
    write_records,
)

_CHILD = """
import json, resource, statistics, sys, time
args = json.loads(sys.argv[1])
if args["tuned"]:
    from dgl_doscond.runtime import tune_allocator
    assert tune_allocator(), "mallopt refused a setting"
import torch
from dgl_doscond import condense, load_config, load_dataset
from dgl_doscond.backbones import build_backbone
from dgl_doscond.packing import PackedGraphs
torch.set_num_threads(args["threads"])
data = load_dataset(args["dataset"], data_root=args["data_root"],
                    cache_dir=args["cache_dir"], download=False)
train = data.split["train"].tolist()
packed = PackedGraphs([data.graphs[i] for i in train])
out = data.num_classes if data.task == "multiclass" else data.num_tasks
gen = torch.Generator().manual_seed(0)
times = []
for it in range(2 + args["repeats"]):
    ids = torch.randperm(len(packed), generator=gen)[: args["batch_size"]]
    graph, feat = packed.batch(ids)
    model = build_backbone("gcn", data.feat_dim, out)
    tic = time.perf_counter()
    logits = model(graph, feat)
    torch.autograd.grad(logits.square().sum(), list(model.parameters()))
    if it >= 2:
        times.append(time.perf_counter() - tic)
config = load_config(args["dataset"],
                     overrides={"condense": {"epochs": args["epochs"]}})
run = condense(data, config, seed=0)
print(json.dumps({
    "step_seconds": statistics.median(times),
    "iteration_seconds": run.seconds / args["epochs"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def child(args, name, tuned):
    payload = {
        "dataset": name,
        "tuned": tuned,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "epochs": args.epochs,
        "data_root": args.data_root,
        "cache_dir": args.cache_dir,
    }
    env = dict(os.environ, OUTDATED_IGNORE="1")
    for key in list(env):  # the untuned child must see glibc's defaults
        if key.startswith("MALLOC_") or key.startswith("GLIBC_TUNABLES"):
            del env[key]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(payload)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(records):
    lines = [
        "| dataset | batch (graphs) | step, glibc (ms) | step, tuned (ms) "
        "| iteration, glibc (ms) | iteration, tuned (ms) | speed-up "
        "| peak RSS, glibc (MB) | peak RSS, tuned (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        g, t = r["glibc"], r["tuned"]
        lines.append(
            f"| {r['dataset']} | {r['batch_size']} "
            f"| {1000 * g['step_seconds']:.0f} "
            f"| {1000 * t['step_seconds']:.0f} "
            f"| {1000 * g['iteration_seconds']:.0f} "
            f"| {1000 * t['iteration_seconds']:.0f} "
            f"| {g['iteration_seconds'] / t['iteration_seconds']:.2f}x "
            f"| {g['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |"
        )
    machines = sorted({r["machine"] for r in records})
    dates = sorted({r["date"][:10] for r in records})
    lines += [
        "",
        f"Machine: {'; '.join(machines)}; dates (UTC) {', '.join(dates)}. "
        "Step: median forward + backward of the GCN on one real batch; "
        "iteration: a DosCond run of the dataset's config, loop time over "
        "its iterations (the speed-up column). Raw figures, with the "
        "command: `results/allocator.json`.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", action="extend", nargs="+")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    add_output_options(parser, "allocator.json")
    args = parser.parse_args(argv)

    import torch

    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    cpu = f"{platform.machine()}, {os.cpu_count()} cores, torch "
    cpu += f"{torch.__version__} with {args.threads} threads"
    records = []
    for name in args.dataset or ["DD"]:
        record = {
            "dataset": name,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "glibc": child(args, name, tuned=False),
            "tuned": child(args, name, tuned=True),
            "machine": cpu,
            "date": date,
            "command": " ".join(["python"] + sys.argv),
        }
        records.append(record)
        g, t = record["glibc"], record["tuned"]
        print(
            f"{name}: iteration {1000 * g['iteration_seconds']:.0f} ms -> "
            f"{1000 * t['iteration_seconds']:.0f} ms, step "
            f"{1000 * g['step_seconds']:.0f} ms -> "
            f"{1000 * t['step_seconds']:.0f} ms"
        )
    write_records(args.json, records)
    write_readme(args.readme, markdown(records), "alloc")


if __name__ == "__main__":
    main()
