"""Seed-by-seed comparison: the last iteration's set against the set of the
best validation probe (``condense.keep: best_valid``).

Reads the main table's cells (``examples/results/table``, made with the
shipped configs, which keep the last iteration) and the cells that
``benchmark_table.py --config examples/keep_best/keep_best.yaml`` wrote to
``examples/results/keep_best``, pairs them by dataset, method, gpc and
seed, and writes the comparison between the ``compare`` markers of
``examples/keep_best/README.md``. A pair is the same run (same seed, same
iterations, same curve): only the set written out differs.

    python examples/compare_keep_best.py
"""

import argparse
import statistics
import sys
from pathlib import Path

import _shared as sh
import results_table as rt

KEEP_BEST = sh.EXAMPLES / "results" / "keep_best"
README = sh.EXAMPLES / "keep_best" / "README.md"


def _records(results_dir):
    cells = rt.load_cells(results_dir)
    return {
        (name, method, gpc, r["seed"]): r
        for (name, gpc), methods in cells.items()
        for method, records in methods.items()
        for r in records
    }


def build_comparison(last_dir, best_dir):
    """The Markdown rows of every cell found in both folders."""
    last, best = _records(last_dir), _records(best_dir)
    header = [
        "dataset",
        "gpc",
        "method",
        "seed",
        "last iteration",
        "best validation probe",
        "kept iteration",
        "difference",
    ]
    lines = sh.md_head(header)
    groups = {}
    for key in sorted(set(last) & set(best), key=_order):
        name, method, gpc, seed = key
        a, b = last[key]["evaluation"], best[key]["evaluation"]
        accuracy = sh.is_accuracy(a["metric"], name)
        groups.setdefault((name, method, gpc, accuracy), []).append(
            (a["mean"], b["mean"])
        )
        lines.append(
            sh.md_row(
                [
                    name,
                    str(gpc),
                    method,
                    str(seed),
                    sh.fmt_mean_std(a["mean"], a["std"], accuracy),
                    sh.fmt_mean_std(b["mean"], b["std"], accuracy),
                    str(best[key].get("kept_iteration", sh.DASH)),
                    _signed(b["mean"] - a["mean"], accuracy),
                ]
            )
        )
    lines += ["", "Mean over the seeds of each cell:", ""]
    lines += [
        "| dataset | gpc | method | seeds | last iteration | best "
        "validation probe | difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for (name, method, gpc, accuracy), pairs in groups.items():
        a = statistics.fmean(p[0] for p in pairs)
        b = statistics.fmean(p[1] for p in pairs)
        lines.append(
            f"| {name} | {gpc} | {method} | {len(pairs)} | "
            f"{sh.fmt(a, accuracy)} | {sh.fmt(b, accuracy)} | "
            f"{_signed(b - a, accuracy)} |"
        )
    records = [best[k] for k in set(last) & set(best)]
    lines += [
        "",
        "Each score: mean ± std (population) over the evaluation runs of "
        "one condensation seed. Accuracy in percent (TU), ROC-AUC (OGB). "
        "Kept iteration: the probe whose set the file holds (the last "
        f"iteration is {_last_iteration(records)}). Machine: "
        f"{sh.machines_label(records)}. Dates (UTC): "
        f"{sh.date_range(r.get('date') for r in records)}.",
    ]
    return "\n".join(lines)


def _order(key):
    name, method, gpc, seed = key
    rank = {n: i for i, n in enumerate(sh.DATASETS)}
    return (rank.get(name, len(rank)), name, gpc, method, seed)


def _signed(value, accuracy):
    return ("+" if value >= 0 else "−") + sh.fmt(abs(value), accuracy)


def _last_iteration(records):
    ends = sorted({r["config"]["condense"]["epochs"] - 1 for r in records})
    return ", ".join(map(str, ends)) or sh.DASH


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=Path, default=rt.RESULTS)
    parser.add_argument("--best", type=Path, default=KEEP_BEST)
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    sh.replace_block(
        args.readme, "compare", build_comparison(args.last, args.best)
    )
    print(f"comparison rebuilt in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
