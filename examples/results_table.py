"""The Markdown tables of the result cells: the paper's Table 2 layout
and what DC-Graph costs.

Builds the tables from the cell JSONs that ``benchmark_table.py`` writes
(``RESULTS/DATASET__METHOD__gpcK__seedS.json``); nothing is run here. Also
holds the grid's constants (methods, gpc values, DC-Graph's loop counts)
and the paper's DosCond figures, which the other example scripts share.
"""

import statistics
from pathlib import Path

import _shared as sh
import whole_dataset

METHODS = ("random", "herding", "kcenter", "dcgraph", "doscond")
COLUMNS = ("Random", "Herding", "K-Center", "DC-Graph", "DosCond (ours)")
GPCS = (1, 10, 50)
GPC_MUTAG = {50: 20}  # the paper's 50-gpc column is 20 gpc for MUTAG

# DC-Graph's (outer, inner) loop counts by gpc: Dataset Condensation's
# defaults for 1/10/50 per class (METHOD.md); the nearest one otherwise.
DCGRAPH_STEPS = {1: (1, 1), 10: (10, 50), 50: (50, 10)}

# DosCond with GCN, mean ± std: Jin et al., "Condensing Graph Data via
# One-Step Gradient Matching", KDD 2022, Table 2, as secondary sources cite
# it (METHOD.md; approximate). Accuracy in percent for TU, ROC-AUC for OGB.
# MUTAG's last column is 20 gpc. The paper has no PROTEINS figures.
PAPER_DOSCOND = {
    "MUTAG": {1: (82.21, 1.61), 10: (82.76, 2.31), 20: (83.26, 2.34)},
    "NCI1": {1: (56.58, 0.48), 10: (58.02, 1.05), 50: (60.07, 1.58)},
    "DD": {1: (70.42, 2.21), 10: (73.53, 1.13), 50: (77.04, 1.86)},
    "ogbg-molhiv": {1: (0.726, 0.003), 10: (0.728, 0.005), 50: (0.731, 0.004)},
    "ogbg-molbace": {
        1: (0.657, 0.034),
        10: (0.674, 0.035),
        50: (0.688, 0.012),
    },
    "ogbg-molbbbp": {
        1: (0.581, 0.005),
        10: (0.605, 0.008),
        50: (0.620, 0.007),
    },
}

RESULTS = sh.EXAMPLES / "results" / "table"


def dataset_gpcs(dataset, gpcs):
    """The gpc values of ``dataset``: 50 is 20 for MUTAG, no repeats."""
    mapping = GPC_MUTAG if dataset == "MUTAG" else {}
    return list(dict.fromkeys(mapping.get(gpc, gpc) for gpc in gpcs))


def dcgraph_steps(gpc):
    """DC-Graph's (outer, inner) counts at ``gpc``: the nearest table entry."""
    return DCGRAPH_STEPS[min(DCGRAPH_STEPS, key=lambda k: abs(k - gpc))]


def load_cells(results_dir):
    """``{(dataset, gpc): {method: [record, ...]}}`` of all cell JSONs."""
    table = {}
    for path in sorted(Path(results_dir).glob("*__*__gpc*__seed*.json")):
        record = sh.read_json(path)
        if not isinstance(record, dict) or "evaluation" not in record:
            continue
        key = (record["dataset"], int(record["gpc"]))
        table.setdefault(key, {}).setdefault(record["method"], []).append(
            record
        )
    return table


def method_cell(records, accuracy):
    """``mean ± std (n=seeds)``: mean over all seed × run scores, std of
    the per-seed means (of the runs when there is one seed, marked *)."""
    if not records:
        return sh.DASH, None
    scores = [s for r in records for s in r["evaluation"]["scores"]]
    seed_means = [r["evaluation"]["mean"] for r in records]
    mean = statistics.fmean(scores)
    if len(records) > 1:
        std, count = statistics.pstdev(seed_means), f"n={len(records)}"
    else:
        std, count = records[0]["evaluation"]["std"], "n=1*"
    return f"{sh.fmt_mean_std(mean, std, accuracy)} ({count})", mean


def row_keys(cells, datasets=None):
    names = sh.DATASETS if datasets is None else tuple(datasets)
    keys = {(name, gpc) for name in names for gpc in dataset_gpcs(name, GPCS)}
    keys |= {key for key in cells if key[0] in names}
    order = {name: i for i, name in enumerate(names)}
    return sorted(keys, key=lambda k: (order.get(k[0], len(order)), k))


def _share(part, whole):
    """``part`` as a percentage of ``whole``, or a dash."""
    if part is None or not whole:
        return sh.DASH
    return f"{100 * part / whole:.1f}"


def build_table(results_dir, whole_dir, datasets=None):
    """The Markdown table (with its notes) of all cells in ``results_dir``.

    ``whole_dir`` holds whole_dataset.py's JSONs for the whole (ours)
    column; either folder may be missing or empty. ``datasets`` limits the
    rows to those datasets (default: all of the benchmark).
    """
    cells = load_cells(results_dir)
    wholes = whole_dataset.load_results(whole_dir)
    header = [
        "dataset",
        "gpc",
        "ratio (%)",
        *COLUMNS,
        "DosCond (paper)",
        "whole (ours)",
        "whole (paper)",
        "DosCond / whole, ours / paper (%)",
        "DosCond time (s)",
        "DosCond seeds",
    ]
    lines = sh.md_head(header)
    rows = row_keys(cells, datasets)
    for name, gpc in rows:
        by_method = cells.get((name, gpc), {})
        records = [r for rs in by_method.values() for r in rs]
        metric = records[0]["evaluation"]["metric"] if records else None
        accuracy = sh.is_accuracy(metric, name)

        ratio = sh.DASH
        if records:
            ratio = records[0]["num_graphs"] / records[0]["num_train_graphs"]
            ratio = f"{100 * ratio:.3g}"
        row = [name, str(gpc), ratio]

        paper = PAPER_DOSCOND.get(name, {}).get(gpc)
        ours = None
        for method in METHODS:
            text, mean = method_cell(by_method.get(method, []), accuracy)
            if method == "doscond":
                ours = mean
                if paper and mean is not None and mean < paper[0]:
                    text += " (below paper)"
            row.append(text)
        row.append(sh.fmt_mean_std(*paper, accuracy) if paper else sh.DASH)
        whole = wholes.get(name)
        paper_whole = whole_dataset.PAPER_WHOLE.get(name)
        row.append(whole_dataset.ours_cell(whole))
        row.append(sh.fmt(paper_whole, accuracy))
        row.append(
            _share(ours, whole and whole["mean"])
            + " / "
            + _share(paper and paper[0], paper_whole)
        )

        doscond = by_method.get("doscond", [])
        seconds = [r["condensation_seconds"] for r in doscond]
        row.append(f"{statistics.fmean(seconds):.1f}" if seconds else sh.DASH)
        seeds = sorted(r["seed"] for r in doscond)
        row.append(", ".join(map(str, seeds)) if seeds else sh.DASH)
        lines.append(sh.md_row(row))

    lines += ["", *_notes({k: v for k, v in cells.items() if k in rows})]
    return "\n".join(lines)


def _notes(cells):
    records = [r for ms in cells.values() for rs in ms.values() for r in rs]
    iterations = sorted({r["config"]["condense"]["epochs"] for r in records})
    eval_epochs = sorted({r["config"]["evaluate"]["epochs"] for r in records})
    runs = sorted({r["evaluation"]["runs"] for r in records})

    def listed(values):
        return ", ".join(map(str, values)) or sh.DASH

    encodings = {}
    for r in records:
        if r["dataset"].startswith("ogbg-"):
            encodings.setdefault(r["dataset"], set()).add(
                r.get("feat_encoding", "onehot")
            )
    atoms = "; ".join(
        f"{name} {' and '.join(sorted(found))}"
        for name, found in sorted(encodings.items())
    )
    atom_note = [
        "Atom features of the OGB sets (onehot: the nine atom features "
        "one-hot, 174 columns; raw: the nine integer codes, as the "
        f"published code feeds them): {atoms}."
    ]

    return [
        "Each method cell: the mean test score over all condensation seeds "
        "× evaluation runs, ± the std (population) of the per-seed means, "
        "with n the number of seeds; `n=1*`: one seed, ± is the std over "
        "its runs. Accuracy in percent (TU), ROC-AUC (OGB). – : not run. "
        "Ratio: condensed graphs / training graphs. (below paper): our "
        "DosCond mean is below the paper's figure. DosCond / whole: the "
        "DosCond score as a share of the whole-dataset score, ours (on "
        "our split) and the paper's (on its split): it compares the "
        "condensation where the two splits differ in difficulty. "
        "DosCond time: "
        "condensation wall time, mean over seeds.",
        "",
        "Paper: DosCond with GCN from Jin et al., KDD 2022, Table 2, as "
        "secondary sources cite it (METHOD.md; approximate). MUTAG's last "
        "row is 20 gpc (the paper's 50-gpc column). DC-Graph's (outer, "
        "inner) steps: (1, 1), (10, 50), (50, 10) for 1, 10, 50 gpc. "
        "Herding and K-Center both start from the graph nearest the "
        "class mean of the embeddings, so at 1 gpc they keep the same "
        "graphs and their cells agree. DC-Graph at (1, 1) trains no inner "
        "step after its only matching, so at 1 gpc it makes DosCond's set "
        "of the same seed.",
        "",
        f"Outer iterations: {listed(iterations)}; evaluation epochs: "
        f"{listed(eval_epochs)}; evaluation runs per seed: {listed(runs)}.",
        *(atom_note if atoms else []),
        f"Machine: {sh.machines_label(records)}. Dates (UTC): "
        f"{sh.date_range(r.get('date') for r in records)}.",
    ]


def _threads(records):
    """The torch thread counts ``records`` ran with (those recorded)."""
    return {
        r["machine"]["torch_threads"]
        for r in records
        if r.get("machine", {}).get("torch_threads")
    }


def build_costs(results_dir, datasets=None):
    """The Markdown table of DC-Graph's condensation time next to DosCond's.

    A DC-Graph iteration runs ``outer`` matchings, each as costly as one
    DosCond iteration, plus its inner training steps; so ``outer`` times
    DosCond's time is a lower bound of DC-Graph's, given for the cells not
    run. Measured ratios pair the two methods' cells of the same seed.
    None when no DC-Graph cell has been run.
    """
    cells = load_cells(results_dir)
    if not any("dcgraph" in by_method for by_method in cells.values()):
        return None
    header = [
        "dataset",
        "gpc",
        "(outer, inner)",
        "DosCond time (s)",
        "outer × DosCond time (s)",
        "DC-Graph time (s)",
        "DC-Graph / DosCond, same seed",
    ]
    lines = sh.md_head(header)
    marked = False  # some DC-Graph cell ran with other threads than DosCond
    rows = row_keys(cells, datasets)
    for name, gpc in rows:
        by_method = cells.get((name, gpc), {})
        doscond = {
            r["seed"]: r["condensation_seconds"]
            for r in by_method.get("doscond", [])
        }
        dcgraph = {
            r["seed"]: r["condensation_seconds"]
            for r in by_method.get("dcgraph", [])
        }
        outer, inner = dcgraph_steps(gpc)
        mean = statistics.fmean(doscond.values()) if doscond else None
        bound = sh.DASH if mean is None else f"{outer * mean:.0f}"
        if mean is not None and not dcgraph and outer * mean >= 3600:
            bound += f" ({outer * mean / 3600:.1f} h)"
        measured = sh.DASH
        if dcgraph:
            measured = f"{statistics.fmean(dcgraph.values()):.0f}"
            threads = _threads(by_method.get("dcgraph", []))
            if threads - _threads(by_method.get("doscond", [])):
                measured += f" ({', '.join(map(str, sorted(threads)))} thr.)"
                marked = True
        elif mean is not None:
            measured = "not run"
        ratios = [dcgraph[s] / doscond[s] for s in dcgraph if s in doscond]
        ratio = f"{statistics.fmean(ratios):.1f}×" if ratios else sh.DASH
        lines.append(
            sh.md_row(
                [
                    name,
                    str(gpc),
                    f"({outer}, {inner})",
                    sh.DASH if mean is None else f"{mean:.1f}",
                    bound,
                    measured,
                    ratio,
                ]
            )
        )
    records = [r for k in rows for rs in cells.get(k, {}).values() for r in rs]
    lines += [
        "",
        "Condensation wall times of the table's cells (mean over seeds). "
        "Each DC-Graph iteration runs `outer` matchings, each as costly as "
        "a DosCond iteration, and `inner` training steps between them, so "
        "`outer` × DosCond's time is a lower bound of DC-Graph's time; "
        "for cells not run it is what the matchings alone would take. "
        "The cells ran two at a time on the two cores, so times are "
        "those of a busy machine, and how busy varied: at 1 gpc the two "
        "methods run the same computation (DC-Graph's (1, 1) is DosCond), "
        "so the spread of that row's ratio around 1× is the load's doing. "
        + (
            "(N thr.): the DC-Graph cell's last run used N torch threads, "
            "unlike the row's DosCond cells, so its ratio is not like for "
            "like; a cell resumed from a checkpoint sums the time of all "
            "its runs, and only the last run's threads are recorded. "
            if marked
            else ""
        )
        + f"Machine: {sh.machines_label(records)}.",
    ]
    return "\n".join(lines)
