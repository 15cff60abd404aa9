"""Cross-architecture table: condensed sets trained on with other backbones.

For each dataset (default MUTAG, NCI1, ogbg-molbace) and each method
(default random, herding, kcenter, dcgraph, doscond) at one budget
(default 10 graphs per class, seed 0), the set is condensed with the GCN
of the dataset's config (or taken from the benchmark table's scratch
folder when that cell was already run) and then evaluated with every
backbone (default gcn, gin, sage, mlp). Rows: methods; columns: the
evaluation backbone.

Resumable like benchmark_table.py: one JSON per (dataset, method, gpc,
seed) in ``examples/results/cross/``, written when its row is done and
skipped when it exists; the table in examples/README.md is rebuilt from
all of them.

    python examples/cross_architecture.py --threads 1
    python examples/cross_architecture.py --dataset MUTAG --method doscond
    python examples/cross_architecture.py --table-only
"""

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _shared as sh  # noqa: E402

logger = logging.getLogger("cross_architecture")

RESULTS = sh.EXAMPLES / "results" / "cross"
DATASETS = ("MUTAG", "NCI1", "ogbg-molbace")
METHODS = ("random", "herding", "kcenter", "dcgraph", "doscond")
BACKBONES = ("gcn", "gin", "sage", "mlp")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="extend", nargs="+")
    parser.add_argument("--method", action="extend", nargs="+", choices=METHODS)
    parser.add_argument(
        "--backbone", action="extend", nargs="+", choices=BACKBONES
    )
    parser.add_argument("--gpc", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="Runs per cell.")
    parser.add_argument(
        "--epochs", type=int, default=None, help="Outer iterations."
    )
    parser.add_argument(
        "--eval-epochs", type=int, default=None, help="Epochs per run."
    )
    parser.add_argument("--data-root", default=sh.default_data_root())
    parser.add_argument("--cache-dir", default=sh.default_cache_dir())
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=sh.README)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.dataset = [sh.canonical_name(n) for n in args.dataset or DATASETS]
    args.method = args.method or list(METHODS)
    args.backbone = args.backbone or list(BACKBONES)
    return args


def row_name(dataset, method, gpc, seed):
    return f"{dataset}__{method}__gpc{gpc}__seed{seed}"


def condensed_set(dataset, method, args):
    """The .bin of the cell: the benchmark table's when it exists and was
    made with the same settings, else a new one there."""
    import benchmark_table as bt

    import dgl_doscond
    from dgl_doscond.config import CondenseConfig

    table_args = argparse.Namespace(
        epochs=args.epochs, eval_runs=0, eval_epochs=None
    )
    config = bt.cell_config(dataset.name, method, args.gpc, table_args)
    scratch = Path(args.cache_dir).expanduser() / "benchmark_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    name = bt.cell_name(dataset.name, method, args.gpc, args.seed)
    path = scratch / f"{name}{bt.scratch_suffix(dataset)}.bin"
    if path.exists():
        try:
            _, _, manifest = dgl_doscond.load_condensed(path)
        except Exception:  # a stale or broken file: make it again
            manifest = {}
        made_with = (manifest.get("config") or {}).get("condense")
        if made_with is not None:
            # A key newer than the manifest had its default's behaviour.
            defaults = dataclasses.asdict(CondenseConfig())
            made_with = {**defaults, **made_with}
        same_data = (
            manifest.get("split_hash") == dataset.split_hash
            and manifest.get("feat_encoding") == dataset.feat_encoding
        )
        if same_data and made_with == config.to_dict()["condense"]:
            return path, "reused"
    dgl_doscond.condense_to_file(
        dataset,
        config,
        str(path),
        seed=args.seed,
        device=args.device,
        force=True,
    )
    return path, "condensed"


def run_row(dataset, method, args):
    import dgl_doscond
    from dgl_doscond.report import cross_architecture

    path, how = condensed_set(dataset, method, args)
    overrides = {}
    if args.eval_epochs is not None:
        overrides["evaluate"] = {"epochs": args.eval_epochs}
    config = dgl_doscond.load_config(dataset.name, overrides=overrides)
    matrix = cross_architecture(
        dataset,
        config,
        [str(path)],
        args.backbone,
        runs=args.runs,
        seed=args.seed,
        device=args.device,
    )
    row = matrix["rows"][0]
    return {
        "dataset": dataset.name,
        "method": method,
        "gpc": args.gpc,
        "seed": args.seed,
        "metric": matrix["metric"],
        "matched_with": row["matched_with"],
        "scores": row["scores"],
        "condensed_set": str(path),
        "set_was": how,
        "machine": sh.machine_info(args.device),
        "date": sh.now_utc(),
        "command": sh.command_line(),
    }


def run(args):
    import benchmark_table as bt

    for name in args.dataset:
        pending = [
            m
            for m in args.method
            if args.force
            or not (
                args.results / f"{row_name(name, m, args.gpc, args.seed)}.json"
            ).exists()
        ]
        if not pending:
            continue
        dataset = bt.load(name, args)
        for method in pending:
            tic = time.perf_counter()
            try:
                record = run_row(dataset, method, args)
            except Exception:
                logger.exception("%s %s failed", name, method)
                continue
            record["wall_seconds"] = time.perf_counter() - tic
            out = (
                args.results
                / f"{row_name(name, method, args.gpc, args.seed)}.json"
            )
            sh.write_json(out, record)
            cells = ", ".join(
                f"{b} {sh.fmt(r['mean'], sh.is_accuracy(r['metric']))}"
                for b, r in record["scores"].items()
            )
            print(f"{out.stem}: {cells}", flush=True)


def build_table(results_dir):
    records = [
        sh.read_json(p) for p in sorted(Path(results_dir).glob("*.json"))
    ]
    if not records:
        return "(not run yet)"
    backbones = [b for b in BACKBONES if any(b in r["scores"] for r in records)]
    lines = []
    order = {m: i for i, m in enumerate(METHODS)}
    for name in [
        d for d in DATASETS if any(r["dataset"] == d for r in records)
    ] + sorted({r["dataset"] for r in records} - set(DATASETS)):
        rows = sorted(
            (r for r in records if r["dataset"] == name),
            key=lambda r: (r["gpc"], order.get(r["method"], 99), r["seed"]),
        )
        accuracy = sh.is_accuracy(rows[0]["metric"], name)
        lines += [
            f"**{name}**, {sh.metric_label(rows[0]['metric'], name)}",
            "",
            "| method | gpc | seed | " + " | ".join(backbones) + " |",
            "|---|---|---|" + "---|" * len(backbones),
        ]
        for r in rows:
            cells = []
            for b in backbones:
                s = r["scores"].get(b)
                cells.append(
                    sh.DASH
                    if s is None
                    else sh.fmt_mean_std(s["mean"], s["std"], accuracy)
                    + f" ({s['runs']})"
                )
            lines.append(
                f"| {r['method']} | {r['gpc']} | {r['seed']} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    lines += [
        "Rows: the set (coresets of real graphs, or sets matched with the "
        "config's GCN); columns: the backbone trained on it (mean ± std "
        "of the test score over the runs in brackets, each run picked at "
        "its best validation epoch, the dataset's evaluation protocol). "
        "mlp: a per-node MLP with the same pooling, no message passing.",
        "",
        f"Machine: {sh.machines_label(records)}. Dates (UTC): "
        f"{sh.date_range([r.get('date') for r in records])}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    sh.setup_logging(args.verbose)
    if not args.table_only:
        sh.set_threads(args.threads)
        run(args)
    sh.replace_block(args.readme, "cross", build_table(args.results))


if __name__ == "__main__":
    main()
