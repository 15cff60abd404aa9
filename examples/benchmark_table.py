"""The results table of condensed sets, in the layout of the paper's Table 2.

A cell is (dataset, method, gpc, seed): condense (or pick a coreset) with
that seed, evaluate the set ``--eval-runs`` times, and write
``RESULTS/DATASET__METHOD__gpcK__seedS.json``. Cells whose JSON exists are
skipped, so the grid can be filled in chunks (``--limit-seconds``) and
resumed after a stop. A matching cell (doscond, dcgraph) checkpoints its
condensation in the scratch folder and resumes from it, so a cell longer
than one chunk is stopped at the limit and finished by the next run.
Then the table between ``<!-- table:begin -->`` and ``<!-- table:end -->``
in the README is rebuilt from all cells found.

    python examples/benchmark_table.py --dataset MUTAG --gpc 1 --seeds 0
    python examples/benchmark_table.py --limit-seconds 3000   # one chunk
    python examples/benchmark_table.py --table-only
"""

import argparse
import itertools
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

import _shared as sh
import whole_dataset

logger = logging.getLogger("benchmark_table")

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


def cell_name(dataset, method, gpc, seed):
    return f"{dataset}__{method}__gpc{gpc}__seed{seed}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Resumable table of condensed-set scores.",
    )
    parser.add_argument(
        "--dataset",
        action="extend",
        nargs="+",
        help="One or more, repeatable (default: "
        + " ".join(sh.DATASETS)
        + ").",
    )
    parser.add_argument(
        "--method",
        action="extend",
        nargs="+",
        choices=METHODS,
        help="One or more, repeatable (default: doscond).",
    )
    parser.add_argument(
        "--gpc",
        action="extend",
        nargs="+",
        type=int,
        help="Graphs per class, one or more, repeatable (default: 1 10 50; "
        "50 means 20 for MUTAG).",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        action="extend",
        nargs="+",
        help="Condensation seeds, one or more, repeatable (default: 0 1 2).",
    )
    parser.add_argument("--eval-runs", type=int, default=10)
    parser.add_argument(
        "--epochs", type=int, help="Outer iterations (default: config's)."
    )
    parser.add_argument(
        "--eval-epochs", type=int, help="Epochs per evaluation run."
    )
    parser.add_argument("--data-root", default=sh.default_data_root())
    parser.add_argument("--cache-dir", default=sh.default_cache_dir())
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--whole-results",
        type=Path,
        default=whole_dataset.RESULTS,
        help="Results of whole_dataset.py, for the whole (ours) column.",
    )
    parser.add_argument("--readme", type=Path, default=sh.README)
    parser.add_argument("--device", default="cpu", help="cpu or cuda.")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument(
        "--limit-seconds",
        type=float,
        help="Start no new cell after this many seconds, and stop the "
        "condensation in progress there (a matching cell keeps its "
        "checkpoint; the next run resumes it).",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: torch's choice); 1 avoids "
        "oversubscription when other jobs share the cores.",
    )
    sh.add_split_option(parser)
    parser.add_argument(
        "--feat-encoding",
        choices=["onehot", "raw"],
        default=None,
        help="Atom features of the OGB sets (default: the config's); raw "
        "is the published code's encoding. Use other --results and "
        "--readme.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML applied over each dataset's shipped config (e.g. "
        "examples/keep_best/keep_best.yaml). Use other --results and "
        "--readme.",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--table-datasets",
        nargs="+",
        default=None,
        help="Rows of the rebuilt table (default: every benchmark dataset).",
    )
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    for option in ("eval_runs", "epochs", "eval_epochs"):
        value = getattr(args, option)
        if value is not None and value < 1:
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag} must be >= 1, got {value}")
    if args.gpc and min(args.gpc) < 1:
        parser.error(f"--gpc must be >= 1, got {min(args.gpc)}")
    args.dataset = [sh.canonical_name(n) for n in args.dataset or sh.DATASETS]
    args.method = list(dict.fromkeys(args.method or ["doscond"]))
    args.gpc = args.gpc or list(GPCS)
    args.seeds = list(dict.fromkeys(args.seeds or [0, 1, 2]))
    return args


def cell_config(dataset, method, gpc, args):
    """The resolved configuration of one cell."""
    import dgl_doscond

    condense = {"method": method, "gpc": gpc}
    if args.epochs is not None:
        condense["epochs"] = args.epochs
    if method == "dcgraph":
        condense["outer"], condense["inner"] = dcgraph_steps(gpc)
    evaluate = {"runs": args.eval_runs}
    if args.eval_epochs is not None:
        evaluate["epochs"] = args.eval_epochs
    overrides = {"condense": condense, "evaluate": evaluate}
    overrides.update(_data_overrides(args))
    return dgl_doscond.load_config(
        dataset, path=getattr(args, "config", None), overrides=overrides
    )


def _data_overrides(args):
    """The split and feature encoding asked for on the command line."""
    overrides = {}
    for key in ("split", "feat_encoding"):
        if getattr(args, key, None):
            overrides[key] = getattr(args, key)
    return overrides


def scratch_suffix(dataset):
    """What tells a cell's scratch set apart from the default one."""
    suffix = "__permutation" if dataset.split_method == "permutation" else ""
    if dataset.feat_encoding == "raw":
        suffix += "__raw"
    return suffix


MATCHING = ("doscond", "dcgraph")  # the methods with a resumable loop


def run_cell(dataset, method, gpc, seed, args, stop=None):
    """Condense and evaluate one cell; return its record.

    A matching method checkpoints to ``OUT.ckpt`` in the scratch folder
    and resumes from it unless ``--force`` is given; ``stop`` (a
    :class:`dgl_doscond.StopRequest`) stops its loop after a checkpoint,
    raising :class:`dgl_doscond.CondensationInterrupted`.
    """
    import dgl_doscond

    config = cell_config(dataset.name, method, gpc, args)
    scratch = Path(args.cache_dir).expanduser() / "benchmark_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / (
        cell_name(dataset.name, method, gpc, seed)
        + scratch_suffix(dataset)
        + (f"__{args.config.stem}" if getattr(args, "config", None) else "")
        + ".bin"
    )
    resumable = {}
    if method in MATCHING:
        checkpoint = Path(str(out) + ".ckpt")
        resumable = {
            "checkpoint_path": str(checkpoint),
            "resume": not args.force,
            "stop": stop,
        }
        resumed = checkpoint.exists() and not args.force
    manifest, evaluation = dgl_doscond.condense_to_file(
        dataset,
        config,
        str(out),
        seed=seed,
        eval_runs=args.eval_runs,
        device=args.device,
        progress=False,
        force=True,
        **resumable,
    )
    record = {
        "dataset": dataset.name,
        "method": method,
        "gpc": gpc,
        "seed": seed,
        "evaluation": evaluation.to_dict(),
        "condensation_seconds": manifest["condensation_seconds"],
        "num_graphs": manifest["num_graphs"],
        "num_train_graphs": manifest["num_train_graphs"],
        "split_hash": manifest["split_hash"],
        "split_seed": manifest["split_seed"],
        "split_method": manifest["split_method"],
        "feat_encoding": manifest["feat_encoding"],
        "config": config.to_dict(),
        "condensed_set": str(out),
        "machine": sh.machine_info(args.device),
        "date": sh.now_utc(),
        "command": sh.command_line(),
    }
    if "embedder_reused" in manifest:  # herding and k-center
        record["embedder_reused"] = manifest["embedder_reused"]
    if "kept_iteration" in manifest:  # doscond and dcgraph
        record["kept_iteration"] = manifest["kept_iteration"]
        record["validation_seconds"] = manifest["validation_seconds"]
    if method in MATCHING:
        # A resumed cell's wall_seconds covers its last run only; its
        # condensation_seconds (from the checkpoint) the whole loop.
        record["resumed"] = resumed
    return record


def _stop_at(deadline):
    """A StopRequest set at ``deadline`` (perf_counter), and its timer."""
    import dgl_doscond

    stop = dgl_doscond.StopRequest()
    if deadline is None:
        return stop, None
    timer = threading.Timer(
        max(0.0, deadline - time.perf_counter()), stop.set, ["time limit"]
    )
    timer.daemon = True
    timer.start()
    return stop, timer


def load(name, args):
    """Load ``name`` with the split seed and encoding of its config."""
    import dgl_doscond

    base = dgl_doscond.load_config(
        name,
        path=getattr(args, "config", None),
        overrides=_data_overrides(args),
    )
    return dgl_doscond.load_dataset(
        name,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        split_seed=base.split_seed,
        feat_encoding=base.feat_encoding,
        split=base.split,
    )


def run_grid(args):
    """Run every missing cell; return the counts of done, skipped,
    failed and left (by the time limit) cells."""
    import dgl_doscond

    start = time.perf_counter()
    deadline = None
    if args.limit_seconds is not None:
        deadline = start + args.limit_seconds
    counts = {"done": 0, "skipped": 0, "failed": 0, "left": 0}
    for name in args.dataset:
        pending = []
        for gpc, method, seed in itertools.product(
            dataset_gpcs(name, args.gpc), args.method, args.seeds
        ):
            path = args.results / f"{cell_name(name, method, gpc, seed)}.json"
            if path.exists() and not args.force:
                print(f"{path.stem}: skipped (exists)")
                counts["skipped"] += 1
            else:
                pending.append((method, gpc, seed, path))
        if not pending:
            continue

        dataset = None
        for method, gpc, seed, path in pending:
            elapsed = time.perf_counter() - start
            if args.limit_seconds is not None and elapsed > args.limit_seconds:
                counts["left"] += 1
                continue
            if dataset is None:  # load once, for all cells of this dataset
                try:
                    dataset = load(name, args)
                except Exception:
                    logger.exception("%s: loading failed", name)
                    counts["failed"] += len(pending)
                    break
            tic = time.perf_counter()
            stop, timer = _stop_at(deadline)
            try:
                record = run_cell(dataset, method, gpc, seed, args, stop)
            except dgl_doscond.CondensationInterrupted as err:
                print(
                    f"{path.stem}: stopped by the time limit at iteration "
                    f"{err.iteration}; the next run resumes it from "
                    f"{err.checkpoint_path}",
                    flush=True,
                )
                counts["left"] += 1
                continue
            except Exception:
                logger.exception("%s failed; no result written", path.stem)
                counts["failed"] += 1
                continue
            finally:
                if timer is not None:
                    timer.cancel()
            record["wall_seconds"] = time.perf_counter() - tic
            sh.write_json(path, record)
            # Its checkpoint is done with once the result is kept.
            Path(record["condensed_set"] + ".ckpt").unlink(missing_ok=True)
            counts["done"] += 1
            print(
                f"{path.stem}: {sh.summary(record['evaluation'])}, "
                f"condensed in {record['condensation_seconds']:.1f} s",
                flush=True,
            )
    return counts


# -- the table ----------------------------------------------------------


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
    for name, gpc in row_keys(cells, datasets):
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

    lines += ["", *_notes(cells)]
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
    for name, gpc in row_keys(cells, datasets):
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
    records = [r for ms in cells.values() for rs in ms.values() for r in rs]
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
        "Machine: "
        f"{sh.machines_label(records)}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    sh.setup_logging(args.verbose)
    counts = {"failed": 0}
    if not args.table_only:
        sh.set_threads(args.threads)
        counts = run_grid(args)
        print(
            f"{counts['done']} cells run, {counts['skipped']} skipped, "
            f"{counts['failed']} failed, {counts['left']} left for a later "
            "run (time limit)"
        )
    table = build_table(args.results, args.whole_results, args.table_datasets)
    sh.replace_block(args.readme, "table", table)
    costs = build_costs(args.results, args.table_datasets)
    if costs:
        sh.replace_block(args.readme, "dcgraph-cost", costs)
    print(f"table rebuilt in {args.readme}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
