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
import sys
import threading
import time
from pathlib import Path

import _shared as sh
import whole_dataset
from results_table import (
    GPCS,
    METHODS,
    RESULTS,
    build_costs,
    build_table,
    dataset_gpcs,
    dcgraph_steps,
)

logger = logging.getLogger("benchmark_table")


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
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="Folder of the matching cells' checkpoints (default: the "
        "scratch folder in --cache-dir). A cell condensed in chunks "
        "across machines resumes from here, so put it where it is kept "
        "(examples/results/checkpoints/ is committed).",
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
    (or in ``--checkpoint-dir``) and resumes from it unless ``--force`` is
    given; ``stop`` (a
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
    checkpoint = checkpoint_path(out, args)
    resumed = method in MATCHING and checkpoint.exists() and not args.force
    resumable = {}
    if method in MATCHING:
        resumable = {
            "checkpoint_path": str(checkpoint),
            "resume": not args.force,
            "stop": stop,
        }
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
        record["checkpoint"] = str(checkpoint)
    return record


def checkpoint_path(out, args):
    """Where the cell condensed to ``out`` keeps its checkpoint."""
    folder = getattr(args, "checkpoint_dir", None)
    if folder is None:
        return Path(str(out) + ".ckpt")
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (out.name + ".ckpt")


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
            checkpoint = record.pop("checkpoint", None)
            sh.write_json(path, record)
            # Its checkpoint is done with once the result is kept.
            if checkpoint is not None:
                Path(checkpoint).unlink(missing_ok=True)
            counts["done"] += 1
            print(
                f"{path.stem}: {sh.summary(record['evaluation'])}, "
                f"condensed in {record['condensation_seconds']:.1f} s",
                flush=True,
            )
    return counts


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
