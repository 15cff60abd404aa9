"""The ``dgl-doscond`` command line.

This module alone reads the environment (``DGL_DOSCOND_DATA``,
``DGL_DOSCOND_CACHE``, ``DGL_DOSCOND_MALLOC_TUNING``), configures logging
and tunes the allocator (:func:`dgl_doscond.runtime.tune_allocator`); the
library takes arguments.
"""

import contextlib
import json
import logging
import os
import signal
import threading

import click
from tqdm.auto import tqdm

__all__ = ["main"]

logger = logging.getLogger("dgl_doscond")

_DEFAULT_CACHE = os.path.join("~", ".cache", "dgl_doscond")


class _TqdmHandler(logging.Handler):
    """Log records through ``tqdm.write`` so that bars stay intact."""

    def emit(self, record):
        try:
            tqdm.write(
                self.format(record), file=click.get_text_stream("stderr")
            )
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _setup_logging(verbosity):
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[verbosity]
    root = logging.getLogger("dgl_doscond")
    root.handlers.clear()
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def _fail(err):
    """Turn a library error into one clean CLI message, exit code 1."""
    raise click.ClickException(str(err)) from err


class _Aborted(BaseException):
    """A signal arrived where no loop can stop cleanly.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class _Interrupted(click.ClickException):
    """Exit 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum


@contextlib.contextmanager
def _stop_on_signals(stop):
    """Route SIGINT and SIGTERM to ``stop`` while the block runs.

    The first signal during the condensation loop asks it to stop after
    the current iteration (it checkpoints); a second one, or one outside
    the loop, raises :class:`_Aborted` at once. The previous handlers are
    restored on exit.
    """

    def handle(signum, frame):
        if stop.listening and not stop.is_set():
            stop.set(signum)
            logger.warning(
                "%s: stopping after this iteration (send it again to stop "
                "at once)",
                signal.Signals(signum).name,
            )
            return
        raise _Aborted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {
        signum: signal.signal(signum, handle)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _joined(distributed):
    """Yield ``join(device, split) -> (ranks, device)``: joins the
    torchrun job with --distributed (and leaves it on exit), else returns
    ``(None, device)``."""
    from . import distributed as dist_

    joined = []

    def join(device, split):
        if not distributed:
            return None, device
        try:
            ranks, device = dist_.init_from_env(device, split=split)
        except RuntimeError as err:
            raise click.ClickException(str(err)) from None
        joined.append(ranks)
        return ranks, device

    try:
        yield join
    finally:
        if joined:
            dist_.shutdown()


def _split_of(manifest):
    """The split method a manifest's set was made with."""
    method = manifest.get("split_method")
    if method in ("stratified", "permutation"):
        return method
    return (manifest.get("config") or {}).get("split", "stratified")


def _expected_errors():
    from .condense import NonFiniteLossError
    from .config import ConfigError
    from .data import DatasetNotFoundError
    from .io import CondensedSetError

    return (
        ConfigError,
        CondensedSetError,
        DatasetNotFoundError,
        NonFiniteLossError,
        NotImplementedError,
        ValueError,
        TypeError,
        FileNotFoundError,
    )


def _config(dataset, config_path, overrides):
    """Load the config; an error from the user's file names the file."""
    from .config import ConfigError, load_config

    try:
        load_config(dataset, config_path)
    except ConfigError as err:
        if config_path is None or str(config_path) in str(err):
            raise
        message = str(err).rstrip(".")
        raise ConfigError(
            f"{message} (in config file '{config_path}')."
        ) from None
    return load_config(dataset, config_path, overrides)


def _load(name, ctx_obj, config):
    from .data import load_dataset

    return load_dataset(
        name,
        data_root=ctx_obj["data_root"],
        cache_dir=ctx_obj["cache_dir"],
        split_seed=config.split_seed,
        feat_encoding=config.feat_encoding,
        split=config.split,
    )


def _data_options(func):
    func = click.option(
        "--cache-dir",
        envvar="DGL_DOSCOND_CACHE",
        type=click.Path(file_okay=False),
        default=_DEFAULT_CACHE,
        show_default=True,
        help="Writable folder for loader caches (env DGL_DOSCOND_CACHE).",
    )(func)
    func = click.option(
        "--data-root",
        envvar="DGL_DOSCOND_DATA",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder with ogb/NAME/ and tu/NAME/ (env DGL_DOSCOND_DATA); "
        "may be read-only.",
    )(func)
    return func


def _split_options(func):
    func = click.option(
        "--split",
        type=click.Choice(["stratified", "permutation"]),
        default=None,
        help="TU/MiniGC split: stratified (default) or permutation (the "
        "reference code's).",
    )(func)
    return click.option("--split-seed", type=int, default=None)(func)


def _context(data_root, cache_dir):
    return {
        "data_root": data_root,
        "cache_dir": os.path.expanduser(cache_dir),
    }


def _device(device):
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.ClickException(
                "--device cuda was asked for, but torch sees no CUDA device "
                "here; use --device cpu."
            )
        import dgl

        try:
            dgl.graph(([0], [0])).to("cuda")
        except Exception:  # DGL raises its own error types
            raise click.ClickException(
                f"--device cuda was asked for, but the installed dgl "
                f"{dgl.__version__} has no CUDA support (PyPI's dgl is a "
                "CPU build); install a CUDA build of dgl or use --device "
                "cpu."
            ) from None
    return device


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or logs.")
@click.version_option(package_name="dgl-doscond")
@click.pass_context
def main(ctx, verbose, quiet):
    """Condense a graph-classification dataset into a few synthetic graphs
    (DosCond, KDD 2022) and evaluate GNNs trained on them."""
    _setup_logging(-1 if quiet else (1 if verbose else 0))
    if os.environ.get("DGL_DOSCOND_MALLOC_TUNING", "1") != "0":
        from .runtime import tune_allocator

        logger.debug("allocator tuned: %s", tune_allocator())
    ctx.obj = {"progress": not quiet}


def _overrides(**sections):
    out = {}
    for section, values in sections.items():
        kept = {k: v for k, v in values.items() if v is not None}
        if kept:
            out[section] = kept
    return out


@main.command()
@click.option(
    "--dataset",
    required=True,
    help="Dataset name, e.g. MUTAG, or a .bin file of dgl.save_graphs "
    "with a 'label' tensor.",
)
@click.option(
    "--method",
    default=None,
    help="doscond (default), dcgraph, random, herding or kcenter.",
)
@click.option("--gpc", type=int, default=None, help="Graphs per class.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML file applied over the shipped config of the dataset.",
)
@click.option("--epochs", type=int, default=None, help="Outer iterations.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Output .bin (default: DATASET-METHOD-gpcK-seedS.bin here).",
)
@click.option(
    "--eval-runs",
    type=int,
    default=0,
    show_default=True,
    help="Evaluate the set with this many runs (0: no evaluation).",
)
@click.option(
    "--eval-epochs",
    type=int,
    default=None,
    help="Epochs of each evaluation run.",
)
@click.option("--backbone", default=None, help="Matching backbone.")
@_split_options
@click.option(
    "--valid-every",
    type=int,
    default=None,
    help="Iterations between validation probes recorded in the curves "
    "(a quick classifier on the current set; 0: none).",
)
@click.option(
    "--keep",
    type=click.Choice(["last", "best_valid"]),
    default=None,
    help="Write the set of the last iteration, or of the validation probe "
    "that scored best (needs --valid-every).",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
)
@click.option("--force", is_flag=True, help="Replace an existing output.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from the checkpoint OUT.ckpt (from scratch without one).",
)
@click.option(
    "--checkpoint-every",
    type=int,
    default=None,
    help="Iterations between checkpoints to OUT.ckpt (0: only on "
    "SIGINT/SIGTERM).",
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Data-parallel run on torch.distributed: launch under torchrun "
    "(gloo on cpu, NCCL on cuda); rank 0 writes the outputs.",
)
@click.option(
    "--distributed-split",
    type=click.Choice(["auto", "classes", "batch"]),
    default="auto",
    show_default=True,
    help="How ranks share an iteration: classes, shares of each real "
    "batch, or auto (classes when they divide evenly over the ranks).",
)
@_data_options
@click.pass_obj
def condense(
    obj,
    dataset,
    method,
    gpc,
    config_path,
    epochs,
    seed,
    out,
    eval_runs,
    eval_epochs,
    backbone,
    split_seed,
    split,
    valid_every,
    keep,
    device,
    force,
    resume,
    checkpoint_every,
    distributed,
    distributed_split,
    data_root,
    cache_dir,
):
    """Condense DATASET and write the set (.bin + .json manifest).

    SIGINT (Ctrl-C) or SIGTERM during the condensation loop stops it after
    the current iteration with a checkpoint; the same command with
    --resume then continues to the same result.

    With --distributed, under torchrun, the processes share every
    iteration and end with the same set (see docs/distributed.md).
    """
    from .condense import CondensationInterrupted, StopRequest
    from .distributed import main_first
    from .io import check_output_path
    from .pipeline import condense_to_file

    if eval_runs < 0:
        raise click.BadParameter(
            f"must be >= 0, got {eval_runs}.", param_hint="--eval-runs"
        )
    stop = StopRequest()
    try:
        config = _config(
            dataset,
            config_path,
            _overrides(
                condense={
                    "method": method,
                    "gpc": gpc,
                    "epochs": epochs,
                    "checkpoint_every": checkpoint_every,
                    "valid_every": valid_every,
                    "keep": keep,
                },
                evaluate={"epochs": eval_epochs},
                model={"backbone": backbone},
            )
            | ({"split_seed": split_seed} if split_seed is not None else {})
            | ({"split": split} if split is not None else {}),
        )
        cfg = config.condense
        out = out or f"{dataset}-{cfg.method}-gpc{cfg.gpc}-seed{seed}.bin"
        checkpoint = out + ".ckpt"
        check_output_path(out, force=force)
        device = _device(device)
        with _stop_on_signals(stop), _joined(distributed) as join:
            ranks, device = join(device, distributed_split)
            if ranks is not None and not ranks.is_main:
                _setup_logging(-1)  # rank 0 speaks for the job
                obj["progress"] = False
            with main_first(ranks):  # rank 0 alone writes the caches
                data = _load(dataset, _context(data_root, cache_dir), config)
            manifest, evaluation = condense_to_file(
                data,
                config,
                out,
                seed=seed,
                eval_runs=eval_runs,
                device=device,
                progress=obj["progress"],
                force=force,
                checkpoint_path=checkpoint,
                resume=resume,
                stop=stop,
                ranks=ranks,
            )
    except _expected_errors() as err:
        _fail(err)
    except CondensationInterrupted as err:
        raise _Interrupted(
            f"interrupted at iteration {err.iteration}; checkpoint at "
            f"'{err.checkpoint_path}'; rerun the same command with --resume "
            "to continue.",
            stop.reason or signal.SIGINT,
        ) from None
    except _Aborted as err:
        kept = (
            f"the checkpoint '{checkpoint}' is kept: rerun the same command "
            "with --resume to continue from it"
            if os.path.exists(checkpoint)
            else "nothing was written"
        )
        raise _Interrupted(
            f"interrupted by {signal.Signals(err.signum).name} before "
            f"'{out}' was written; {kept}.",
            err.signum,
        ) from None

    if manifest is None:  # a rank other than 0 of a distributed run
        return
    if os.path.exists(checkpoint):
        os.remove(checkpoint)
    click.echo(
        f"{cfg.method} on {data.name}: {manifest['num_graphs']} graphs "
        f"({manifest['num_graphs'] / manifest['num_train_graphs']:.2%} of "
        f"the training split) in {manifest['condensation_seconds']:.1f} s "
        f"-> {out}"
    )
    if evaluation is not None:
        click.echo(f"test {evaluation.summary()} ({config.model.backbone})")


@main.command()
@click.option(
    "--dataset", required=True, help="Dataset name or .bin graph file."
)
@click.option(
    "--train",
    "train",
    default="whole",
    show_default=True,
    help="'whole' (the training split) or a condensed-set .bin file.",
)
@click.option("--backbone", default=None, help="gcn, gin, sage or mlp.")
@click.option("--pooling", type=click.Choice(["mean", "sum"]), default=None)
@click.option("--runs", type=int, default=None, help="Evaluation runs.")
@click.option("--epochs", type=int, default=None, help="Epochs per run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML config file.",
)
@_split_options
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the result as JSON here.",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
)
@_data_options
@click.pass_obj
def evaluate(
    obj,
    dataset,
    train,
    backbone,
    pooling,
    runs,
    epochs,
    seed,
    config_path,
    split_seed,
    split,
    json_out,
    device,
    data_root,
    cache_dir,
):
    """Train fresh classifiers on TRAIN and report the test score."""
    from .evaluate import evaluate as run_evaluation
    from .io import atomic_write
    from .pipeline import load_training_set

    if runs is not None and runs < 1:
        raise click.BadParameter(
            f"must be >= 1, got {runs}.", param_hint="--runs"
        )
    try:
        config = _config(
            dataset,
            config_path,
            _overrides(
                model={"backbone": backbone, "pooling": pooling},
                evaluate={"epochs": epochs},
            )
            | ({"split_seed": split_seed} if split_seed is not None else {})
            | ({"split": split} if split is not None else {}),
        )
        if json_out and not os.path.isdir(
            os.path.dirname(os.path.abspath(json_out))
        ):
            raise ValueError(
                f"The folder of --json '{json_out}' does not exist; create "
                "it first."
            )
        device = _device(device)
        data = _load(dataset, _context(data_root, cache_dir), config)
        graphs = labels = None
        if train != "whole":
            graphs, labels, _ = load_training_set(train, data)
        result = run_evaluation(
            data,
            config,
            train_graphs=graphs,
            train_labels=labels,
            train_name=train,
            runs=runs,
            seed=seed,
            device=device,
            progress=obj["progress"],
        )
    except _expected_errors() as err:
        _fail(err)

    click.echo(
        f"{data.name}, trained on {train} ({result.num_train_graphs} graphs),"
        f" {result.backbone}: test {result.summary()}"
    )
    if json_out:
        text = json.dumps(result.to_dict(), indent=2) + "\n"

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)

        atomic_write(json_out, write, suffix=".json")


@main.command()
@_data_options
def datasets(data_root, cache_dir):
    """List the datasets found under the data root, with statistics."""
    from .data import available_datasets, load_dataset

    try:
        names = available_datasets(data_root)
    except _expected_errors() as err:
        _fail(err)
    header = (
        f"{'dataset':<14} {'graphs':>7} {'classes':>7} {'tasks':>5} "
        f"{'nodes':>7} {'edges':>7} {'feat':>5}  split"
    )
    click.echo(header)
    for name in names:
        try:
            data = load_dataset(
                name,
                data_root=data_root,
                cache_dir=os.path.expanduser(cache_dir),
                download=False,
            )
        except _expected_errors() as err:
            click.echo(f"{name:<14} not loadable: {err}")
            continue
        s = data.stats()
        click.echo(
            f"{name:<14} {s['num_graphs']:>7} {s['num_classes']:>7} "
            f"{s['num_tasks']:>5} {s['mean_num_nodes']:>7.2f} "
            f"{s['mean_num_edges']:>7.2f} {s['feat_dim']:>5}  "
            f"{s['num_train']}/{s['num_valid']}/{s['num_test']}"
        )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def info(path):
    """Show what a condensed-set file holds."""
    from .io import load_condensed

    try:
        graphs, labels, manifest = load_condensed(path)
    except _expected_errors() as err:
        _fail(err)
    evaluation = manifest.get("evaluation") or {}
    lines = [
        f"file:        {path}",
        f"dataset:     {manifest.get('dataset')} (split seed "
        f"{manifest.get('split_seed')}, hash {manifest.get('split_hash')})",
        f"method:      {manifest.get('method')}, gpc {manifest.get('gpc')}, "
        f"seed {manifest.get('seed')}",
        f"graphs:      {len(graphs)}, {manifest.get('num_nodes')} nodes, "
        f"{manifest.get('num_edges')} edges, feature size "
        f"{manifest.get('feat_dim')}",
        f"labels:      {labels.tolist()}",
        f"time:        {manifest.get('condensation_seconds', 0):.1f} s",
    ]
    keep = (manifest.get("config") or {}).get("condense", {}).get("keep")
    if keep == "best_valid" and "kept_iteration" in manifest:
        lines.append(
            f"kept:        iteration {manifest['kept_iteration']} (the best "
            "validation probe)"
        )
    if evaluation:
        lines.append(
            f"evaluation:  {evaluation['metric']} {evaluation['mean']:.4f} ± "
            f"{evaluation['std']:.4f} over {evaluation['runs']} runs"
        )
    click.echo("\n".join(lines))


@main.command()
@click.option(
    "--dataset",
    required=True,
    help="Dataset of the sets (name or .bin graph file).",
)
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(dir_okay=False)
)
@click.option(
    "--backbone",
    "backbones",
    multiple=True,
    default=("gcn", "gin", "sage", "mlp"),
    show_default=True,
    help="Evaluation backbone (repeatable).",
)
@click.option("--runs", type=int, default=None, help="Runs per cell.")
@click.option("--epochs", type=int, default=None, help="Epochs per run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output prefix: writes PREFIX.md and PREFIX.json.",
)
@click.option("--force", is_flag=True, help="Replace existing outputs.")
@_data_options
@click.pass_obj
def report(
    obj,
    dataset,
    paths,
    backbones,
    runs,
    epochs,
    seed,
    out,
    force,
    data_root,
    cache_dir,
):
    """Cross-architecture matrix: every set in PATHS with every backbone."""
    from .config import BACKBONES
    from .io import atomic_write
    from .report import cross_architecture, to_markdown

    try:
        for name in backbones:
            if name not in BACKBONES:
                raise ValueError(
                    f"Unknown backbone {name!r}. Valid backbones: "
                    f"{', '.join(BACKBONES)}."
                )
        targets = [out + ".md", out + ".json"]
        folder = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(folder):
            raise ValueError(
                f"The output folder '{folder}' does not exist; create it."
            )
        for target in targets:
            if os.path.exists(target) and not force:
                raise ValueError(
                    f"'{target}' exists already; pass --force to replace it."
                )
        config = _config(dataset, None, _overrides(evaluate={"epochs": epochs}))
        data = _load(dataset, _context(data_root, cache_dir), config)
        matrix = cross_architecture(
            data, config, list(paths), list(backbones), runs=runs, seed=seed
        )
    except _expected_errors() as err:
        _fail(err)

    table = to_markdown(matrix)
    texts = [table + "\n", json.dumps(matrix, indent=2) + "\n"]
    for target, text in zip(targets, texts):

        def write(tmp, text=text):
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)

        atomic_write(target, write, suffix=os.path.splitext(target)[1])
    click.echo(table)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False), required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the PNGs (created; default: PATH without .bin, "
    "plus '-plots').",
)
@click.option(
    "--per-class",
    type=int,
    default=2,
    show_default=True,
    help="Graphs drawn per class.",
)
@click.option(
    "--results",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Instead of PATH: a folder of results-table JSONs; draws score "
    "against graphs per class for --dataset.",
)
@click.option("--dataset", default=None, help="Dataset of the --results chart.")
@click.option(
    "--whole",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="JSON of a whole-dataset evaluation, drawn as a line.",
)
@_data_options
def plot(
    path, out_dir, per_class, results, dataset, whole, data_root, cache_dir
):
    """Draw a condensed set (curves, graphs, distributions) or a results
    chart."""
    from . import plots
    from .data import load_dataset
    from .io import load_condensed

    if (path is None) == (results is None):
        raise click.UsageError("Give either PATH or --results DIR.")
    try:
        if results is not None:
            if not dataset:
                raise click.UsageError("--results needs --dataset NAME.")
            out_dir = out_dir or results
            os.makedirs(out_dir, exist_ok=True)
            line = None
            if whole:
                with open(whole, encoding="utf-8") as handle:
                    record = json.load(handle)
                line = (record["mean"], record["std"])
            written = [
                plots.plot_scores(
                    plots.results_rows(results, dataset),
                    os.path.join(out_dir, f"scores-{dataset}.png"),
                    whole=line,
                )
            ]
        else:
            _, _, manifest = load_condensed(path)
            out_dir = out_dir or os.path.splitext(path)[0] + "-plots"
            os.makedirs(out_dir, exist_ok=True)
            data = load_dataset(
                manifest["dataset"],
                data_root=data_root,
                cache_dir=os.path.expanduser(cache_dir),
                split_seed=manifest.get("split_seed") or 0,
                feat_encoding=manifest.get("feat_encoding", "onehot"),
                split=_split_of(manifest),
            )
            written = plots.plot_condensed(
                path, data, out_dir, per_class=per_class
            )
    except _expected_errors() as err:
        _fail(err)
    for item in written:
        click.echo(item)


if __name__ == "__main__":
    main()
