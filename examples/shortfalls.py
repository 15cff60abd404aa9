"""The DosCond cells below the paper's figure, and what was tried on each.

Reads the main table's cells (``examples/results/table``) and, for every
DosCond cell whose mean is below the paper's, puts beside it what the
other result folders hold for the same dataset and gpc:

- the set of the best validation probe (``examples/results/keep_best``,
  made with ``--config examples/keep_best/keep_best.yaml``), paired seed
  by seed with the main cells;
- the reference code's permutation split
  (``examples/results/reference_split/table``);
- the other atom encoding of the molecule sets (``examples/results/onehot``);
- the DosCond / whole-split share, ours against the paper's.

It writes the table between the ``shortfall`` markers of
``examples/README.md``. Nothing is run; rerun it after the other scripts.

    python examples/shortfalls.py
"""

import argparse
import statistics
import sys
from pathlib import Path

import _shared as sh
import results_table as rt
import whole_dataset

RESULTS = sh.EXAMPLES / "results"
TRIED = {  # column: (folder, pair the main cell's seeds)
    "best validation probe": (RESULTS / "keep_best", True),
    "reference split": (RESULTS / "reference_split" / "table", False),
    "other atom encoding": (RESULTS / "onehot", False),
}


def _doscond(cells, name, gpc):
    return cells.get((name, gpc), {}).get("doscond", [])


def _paired(main, other):
    """Means over the seeds in both lists: (other's, main's, seeds)."""
    by_seed = {r["seed"]: r["evaluation"]["mean"] for r in other}
    seeds = sorted(s for s in by_seed if s in {r["seed"] for r in main})
    if not seeds:
        return None
    mine = {r["seed"]: r["evaluation"]["mean"] for r in main}
    return (
        statistics.fmean(by_seed[s] for s in seeds),
        statistics.fmean(mine[s] for s in seeds),
        seeds,
    )


def _tried_cell(main, other, paired, paper, accuracy):
    """The cell text of one alternative, and whether it reaches the paper
    (a paired one only when it pairs every seed of the main cell)."""
    if paired:
        found = _paired(main, other)
        if found is None:
            return sh.DASH, False
        mean, last, seeds = found
        text = (
            f"{sh.fmt(mean, accuracy)} (seeds {', '.join(map(str, seeds))}; "
            f"last iteration {sh.fmt(last, accuracy)})"
        )
        # Only a pairing of all the main cell's seeds can settle the cell.
        return text, mean >= paper and len(seeds) == len(main)
    if not other:
        return sh.DASH, False
    encodings = sorted({r.get("feat_encoding", sh.DASH) for r in other})
    text, mean = rt.method_cell(other, accuracy)
    if {r.get("feat_encoding") for r in main} != set(encodings):
        text += f" ({', '.join(encodings)})"
    return text, mean >= paper


def build_shortfalls(results_dir, whole_dir, tried=None):
    """The Markdown table of the DosCond cells below the paper's figure.

    ``tried`` maps a column name to ``(folder, paired)``: the cells of that
    folder for the same dataset and gpc (with ``paired``, only the seeds
    the main cell has too, compared seed by seed). Default: :data:`TRIED`.
    """
    tried = TRIED if tried is None else tried
    cells = rt.load_cells(results_dir)
    others = {column: rt.load_cells(f) for column, (f, _) in tried.items()}
    wholes = whole_dataset.load_results(whole_dir)
    header = [
        "dataset",
        "gpc",
        "DosCond (ours)",
        "paper",
        "ours − paper",
        "DosCond / whole, ours / paper (%)",
        *tried,
        "at or above the paper",
    ]
    lines = sh.md_head(header)
    below = 0
    for name, gpc in rt.row_keys(cells):
        main = _doscond(cells, name, gpc)
        paper = rt.PAPER_DOSCOND.get(name, {}).get(gpc)
        if not main or not paper:
            continue
        accuracy = sh.is_accuracy(main[0]["evaluation"]["metric"], name)
        text, mean = rt.method_cell(main, accuracy)
        if mean >= paper[0]:
            continue
        below += 1
        gap = mean - paper[0]
        whole = wholes.get(name)
        paper_whole = whole_dataset.PAPER_WHOLE.get(name)
        shares = [None, None]
        if whole and whole["mean"]:
            shares[0] = 100 * mean / whole["mean"]
        if paper_whole:
            shares[1] = 100 * paper[0] / paper_whole
        row = [
            name,
            str(gpc),
            text,
            sh.fmt(paper[0], accuracy),
            ("−" if gap < 0 else "+") + sh.fmt(abs(gap), accuracy),
            " / ".join(sh.DASH if s is None else f"{s:.1f}" for s in shares),
        ]
        reached = []
        if None not in shares and shares[0] >= shares[1]:
            reached.append("share of whole")
        for column, (_, paired) in tried.items():
            other = _doscond(others[column], name, gpc)
            cell, ok = _tried_cell(main, other, paired, paper[0], accuracy)
            row.append(cell)
            if ok:
                reached.append(column)
        row.append(", ".join(reached) or "none")
        lines.append(sh.md_row(row))
    if not below:
        lines.append(sh.md_row(["(none)"] + [sh.DASH] * (len(header) - 1)))
    lines += [
        "",
        "Every DosCond cell of the table above whose mean is below the "
        "paper's figure. Scores as in that table (mean over seeds × runs; "
        "accuracy in percent for TU, ROC-AUC for OGB). Best validation "
        "probe: the same runs writing the set of their best validation "
        "probe instead of the last iteration's "
        "([keep_best/README.md](keep_best/README.md)), mean over the seeds "
        "both have, beside the main cell's mean over the same seeds. "
        "Reference split: the published code's permutation split "
        "([reference_split/README.md](reference_split/README.md)). Other "
        "atom encoding: the molecule sets with the encoding the shipped "
        "config does not use ([onehot/README.md](onehot/README.md)). "
        "DosCond / whole: the score as a share of the whole-split score "
        'of the same split; "share of whole" in the last column means '
        "ours is at least the paper's share. – : not run. Written by "
        "`python examples/shortfalls.py` from the result JSONs.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=rt.RESULTS)
    parser.add_argument(
        "--whole-results", type=Path, default=whole_dataset.RESULTS
    )
    parser.add_argument("--readme", type=Path, default=sh.README)
    args = parser.parse_args(argv)
    table = build_shortfalls(args.results, args.whole_results)
    sh.replace_block(args.readme, "shortfall", table)
    print(f"shortfall table rebuilt in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
