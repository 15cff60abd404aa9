"""The upper reference: a GCN trained on the whole training split.

For each dataset, trains ``--runs`` fresh classifiers on all training
graphs with the dataset's shipped configuration (e.g. sum pooling and 100
epochs for ogbg-molhiv) and writes ``RESULTS/NAME.json``. Datasets whose
JSON exists are skipped, so an interrupted run resumes where it stopped.
Then the table between ``<!-- whole:begin -->`` and ``<!-- whole:end -->``
in the README is rebuilt from all JSONs found.

    python examples/whole_dataset.py --dataset MUTAG --runs 10
    python examples/whole_dataset.py --table-only
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import _shared as sh

logger = logging.getLogger("whole_dataset")

# GCN on the whole training set, from Jin et al., "Condensing Graph Data
# via One-Step Gradient Matching", KDD 2022, Table 2, as cited in
# /work/shared/METHOD.md (accuracy in percent for TU, ROC-AUC for OGB).
# The paper has no PROTEINS figure.
PAPER_WHOLE = {
    "MUTAG": 88.63,
    "NCI1": 71.70,
    "DD": 78.92,
    "ogbg-molhiv": 0.757,
    "ogbg-molbace": 0.714,
    "ogbg-molbbbp": 0.646,
}

RESULTS = sh.EXAMPLES / "results" / "whole"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Whole-dataset GCN scores (the upper reference).",
    )
    parser.add_argument(
        "--dataset",
        action="extend",
        nargs="+",
        help="Dataset names, one or more, repeatable (default: "
        + " ".join(sh.DATASETS)
        + ").",
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--epochs", type=int, help="Epochs per run (default: the config's)."
    )
    parser.add_argument("--data-root", default=sh.default_data_root())
    parser.add_argument("--cache-dir", default=sh.default_cache_dir())
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=sh.README)
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument(
        "--table-only", action="store_true", help="Only rebuild the table."
    )
    parser.add_argument(
        "--force", action="store_true", help="Rerun datasets with a JSON."
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: torch's choice); 1 avoids "
        "oversubscription when other jobs share the cores.",
    )
    sh.add_split_option(parser)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    args.dataset = [sh.canonical_name(n) for n in args.dataset or sh.DATASETS]
    return args


def run_dataset(name, args):
    """Evaluate the whole training split of ``name``; return the record."""
    import dgl_doscond

    overrides = {"evaluate": {"runs": args.runs}}
    if args.epochs is not None:
        overrides["evaluate"]["epochs"] = args.epochs
    if args.split:
        overrides["split"] = args.split
    config = dgl_doscond.load_config(name, overrides=overrides)
    dataset = dgl_doscond.load_dataset(
        name,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        split_seed=config.split_seed,
        feat_encoding=config.feat_encoding,
        split=config.split,
    )
    result = dgl_doscond.evaluate(
        dataset, config, runs=args.runs, seed=0, device=args.device
    )
    print(f"{name}: {result.summary()} ({result.seconds:.0f} s)", flush=True)

    record = result.to_dict()
    record.update(
        split_method=dataset.split_method,
        config=config.to_dict(),
        machine=sh.machine_info(args.device),
        date=sh.now_utc(),
        command=sh.command_line(),
    )
    return record


def load_results(results_dir):
    """``{dataset: record}`` of every ``NAME.json`` in ``results_dir``."""
    records = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        record = sh.read_json(path)
        if isinstance(record, dict) and "scores" in record:
            records[record.get("dataset", path.stem)] = record
    return records


def ours_cell(record):
    """``mean ± std (R runs)`` of a whole-dataset record."""
    return sh.DASH if record is None else sh.summary(record)


def build_table(results_dir):
    """The Markdown table of all whole-dataset results in ``results_dir``."""
    records = load_results(results_dir)
    names = list(sh.DATASETS) + sorted(set(records) - set(sh.DATASETS))
    lines = [
        "| dataset | metric | ours: mean ± std (runs) | paper | "
        "split (seed, hash) | feature encoding | machine | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        record = records.get(name)
        metric = record.get("metric") if record else None
        accuracy = sh.is_accuracy(metric, name)
        cells = [
            name,
            sh.metric_label(metric, name),
            ours_cell(record),
            sh.fmt(PAPER_WHOLE.get(name), accuracy),
        ]
        if record:
            cells += [
                sh.fmt_split(
                    record.get("split_seed"), record.get("split_hash")
                ),
                record.get("feat_encoding") or sh.DASH,
                sh.machine_label(record.get("machine")),
                (record.get("date") or sh.DASH)[:10],
            ]
        else:
            cells += [sh.DASH] * 4
        lines.append("| " + " | ".join(cells) + " |")

    epochs = ", ".join(
        f"{name} {record['epochs']}" for name, record in records.items()
    )
    lines += [
        "",
        "GCN (3 layers, 128 hidden) trained on the whole training split; "
        "mean ± std (population) of the test score over the runs, each "
        "run with the weights of its best validation epoch. Accuracy in "
        "percent (TU), ROC-AUC (OGB). Paper: Jin et al., KDD 2022, Table 2, "
        "as cited in METHOD.md. – : not run (or no paper figure).",
        "",
        f"Epochs per run: {epochs or sh.DASH}. Dates (UTC): "
        f"{sh.date_range(r.get('date') for r in records.values())}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    sh.setup_logging(args.verbose)
    failed = 0
    if not args.table_only:
        sh.set_threads(args.threads)
        for name in args.dataset:
            path = args.results / f"{name}.json"
            if path.exists() and not args.force:
                print(f"{name}: skipped, {path} exists (--force reruns)")
                continue
            tic = time.perf_counter()
            try:
                record = run_dataset(name, args)
            except Exception:
                logger.exception("%s failed; no result written", name)
                failed += 1
                continue
            record["wall_seconds"] = time.perf_counter() - tic
            sh.write_json(path, record)
            print(f"{name}: wrote {path}", flush=True)

    sh.replace_block(args.readme, "whole", build_table(args.results))
    print(f"table rebuilt in {args.readme}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
