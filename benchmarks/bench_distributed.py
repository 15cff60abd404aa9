"""Time per outer iteration of data-parallel condensation, 1 vs P processes.

For every (dataset, gpc) it runs the same condensation (same seed, same
iterations) three ways, each as a fresh command:

- one process with one torch thread;
- one process with ``--procs`` threads (the usual single-process run);
- ``--procs`` processes of one thread each under ``torchrun`` (gloo over
  loopback), ``dgl-doscond condense --distributed``.

The time per iteration is the manifest's condensation time (the loop
alone, without start-up and data loading) over the iterations; the wall
time of the whole command is recorded too. It writes the figures as JSON
(``--json``) and a Markdown table between markers in ``--readme``, with
the machine and the date.

Example::

    python benchmarks/bench_distributed.py --dataset MUTAG --dataset NCI1 \
        --dataset ogbg-molbace --gpc 10
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    add_output_options,
    write_readme,
    write_records,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def one_run(name, gpc, epochs, procs, threads, args, workdir):
    """Run one condensation; seconds per iteration and of the command."""
    out = os.path.join(workdir, f"{name}-{gpc}-{procs}x{threads}.bin")
    command = [
        "-m",
        "dgl_doscond",
        "-q",
        "condense",
        "--dataset",
        name,
        "--gpc",
        str(gpc),
        "--epochs",
        str(epochs),
        "--seed",
        "0",
        "--out",
        out,
        "--force",
        "--cache-dir",
        args.cache_dir,
    ]
    if args.data_root:
        command += ["--data-root", args.data_root]
    if procs > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            str(procs),
            *command,
            "--distributed",
        ]
    else:
        command = [sys.executable, *command]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OUTDATED_IGNORE="1")
    tic = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - tic
    with open(out[: -len(".bin")] + ".json") as handle:
        manifest = json.load(handle)
    return {
        "processes": procs,
        "threads_per_process": threads,
        "iteration_ms": 1000 * manifest["condensation_seconds"] / epochs,
        "command_seconds": wall,
    }


def machine():
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def markdown(records, procs):
    lines = [
        f"| dataset | gpc | 1 proc x 1 thread (ms) | 1 proc x {procs} "
        f"threads (ms) | {procs} procs x 1 thread (ms) | speed-up vs 1 "
        f"thread | speed-up vs {procs} threads |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        one, threaded, dist = (x["iteration_ms"] for x in r["runs"])
        lines.append(
            f"| {r['dataset']} | {r['gpc']} | {one:.1f} | {threaded:.1f} | "
            f"{dist:.1f} | {one / dist:.2f} | {threaded / dist:.2f} |"
        )
    first = records[0]
    lines += [
        "",
        f"Machine: {first['machine']['processor']}, "
        f"{first['machine']['cpu_count']} cores; date {first['date']}. "
        f"Milliseconds per outer iteration over {first['epochs']} "
        "iterations (the condensation loop only).",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="extend", nargs="+")
    parser.add_argument("--gpc", action="extend", nargs="+", type=int)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2)
    add_output_options(parser, "distributed.json")
    args = parser.parse_args(argv)

    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    records = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.dataset or ["MUTAG"]:
            for gpc in args.gpc or [10]:
                runs = [
                    one_run(name, gpc, args.epochs, p, t, args, workdir)
                    for p, t in ((1, 1), (1, args.procs), (args.procs, 1))
                ]
                record = {
                    "dataset": name,
                    "gpc": gpc,
                    "epochs": args.epochs,
                    "runs": runs,
                    "machine": machine(),
                    "date": date,
                    "command": " ".join(sys.argv),
                }
                records.append(record)
                one, threaded, dist = (r["iteration_ms"] for r in runs)
                print(
                    f"{name} gpc {gpc}: {one:.1f} ms (1x1), {threaded:.1f} "
                    f"ms (1x{args.procs}), {dist:.1f} ms ({args.procs}x1): "
                    f"speed-up {one / dist:.2f} vs one thread, "
                    f"{threaded / dist:.2f} vs {args.procs} threads",
                    flush=True,
                )
    write_records(args.json, records, indent=2)
    table = markdown(records, args.procs)
    write_readme(args.readme, table, "dist")
    print(table)


if __name__ == "__main__":
    main()
