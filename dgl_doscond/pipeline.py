"""One call from a dataset to a saved, evaluated condensed set.

:func:`run_method` condenses (or picks a coreset) with any method of the
package; :func:`condense_to_file` also writes the set and its manifest and,
when asked, evaluates it. The CLI and the example scripts use these.
"""

import logging

from . import coresets
from .condense import condense
from .evaluate import evaluate
from .io import check_output_path, load_condensed, save_condensed

__all__ = ["CondensedSet", "condense_to_file", "run_method"]

logger = logging.getLogger(__name__)


class CondensedSet:
    """Graphs, labels and manifest fields of any method's output.

    Attributes
    ----------
    graphs : list of dgl.DGLGraph
    labels : torch.Tensor
    info : dict
        Method-specific manifest fields (timing, history, kept indices).
    """

    def __init__(self, graphs, labels, info):
        self.graphs = graphs
        self.labels = labels
        self.info = info


def run_method(
    dataset,
    config,
    seed=0,
    device="cpu",
    progress=False,
    checkpoint_path=None,
    resume=False,
    stop=None,
    ranks=None,
):
    """Build a condensed set with ``config.condense.method``.

    Parameters
    ----------
    dataset : dgl_doscond.data.GraphDataset
    config : dgl_doscond.config.Config
    seed : int
    device : str
    progress : bool
    checkpoint_path : str, optional
        Checkpoint file of the matching methods.
    resume : bool
        Continue from ``checkpoint_path``.
    stop : dgl_doscond.condense.StopRequest, optional
        Lets the caller stop a matching method cleanly (see
        :func:`dgl_doscond.condense.condense`); coresets ignore it.
    ranks : dgl_doscond.distributed.Ranks, optional
        Condense with the other processes of a ``torch.distributed``
        group (matching methods only).

    Returns
    -------
    CondensedSet
    """
    method = config.condense.method
    if method in coresets.CORESETS and ranks and ranks.world_size > 1:
        raise ValueError(
            f"'{method}' picks real graphs in one process; distributed "
            "runs are for the matching methods doscond and dcgraph."
        )
    if method in coresets.CORESETS:
        picked = coresets.select(
            dataset, config, seed=seed, device=device, progress=progress
        )
        graphs = [dataset.graphs[i] for i in picked.indices.tolist()]
        info = {
            "seconds": picked.seconds,
            "kept_indices": picked.indices.tolist(),
            "history": [],
        }
        if method != "random":  # trained its embedding GCN, or reused it
            info["embedder_reused"] = picked.embedder_reused
        return CondensedSet(
            [_real_copy(g) for g in graphs],
            dataset.labels[picked.indices],
            info,
        )

    result = condense(
        dataset,
        config,
        seed=seed,
        device=device,
        progress=progress,
        checkpoint_path=checkpoint_path,
        resume=resume,
        stop=stop,
        ranks=ranks,
    )
    return CondensedSet(
        result.graphs(),
        result.labels,
        {
            "seconds": result.seconds,
            "nodes_per_synthetic_graph": result.num_nodes,
            "validation_seconds": result.probe_seconds,
            "kept_iteration": result.kept_iteration,
            "history": result.history,
        },
    )


def _real_copy(graph):
    import dgl

    copy = dgl.graph(graph.edges(), num_nodes=graph.num_nodes())
    copy.ndata["feat"] = graph.ndata["feat"].clone()
    return copy


def condense_to_file(
    dataset,
    config,
    out,
    seed=0,
    eval_runs=0,
    device="cpu",
    progress=False,
    force=False,
    checkpoint_path=None,
    resume=False,
    stop=None,
    ranks=None,
):
    """Condense, save to ``out`` (``.bin`` and ``.json``), and evaluate.

    The arguments are those of :func:`run_method`, plus ``out``, the
    ``.bin`` path, ``eval_runs``, the evaluation runs (0: none), and
    ``force``, which lets an existing output be replaced. The output is
    checked before any work, so that a bad path fails at once. With
    ``ranks``, rank 0 alone writes and evaluates; the other ranks return
    ``(None, None)`` once the condensation is done.

    Returns
    -------
    (dict, EvaluationResult or None)
        The manifest as written and the evaluation, when ``eval_runs > 0``.
    """
    check_output_path(out, force=force)
    condensed = run_method(
        dataset,
        config,
        seed=seed,
        device=device,
        progress=progress,
        checkpoint_path=checkpoint_path,
        resume=resume,
        stop=stop,
        ranks=ranks,
    )
    if ranks is not None and ranks.world_size > 1:
        # The group is not needed to save or evaluate: every rank leaves
        # it now, so that no rank waits on rank 0's evaluation.
        from .distributed import shutdown

        shutdown()
        if not ranks.is_main:
            return None, None
    evaluation = None
    if eval_runs > 0:
        evaluation = evaluate(
            dataset,
            config,
            train_graphs=condensed.graphs,
            train_labels=condensed.labels,
            train_name=str(out),
            runs=eval_runs,
            seed=seed,
            device=device,
            progress=progress,
        )
    manifest = {
        "dataset": dataset.name,
        "task": dataset.task,
        "num_classes": dataset.num_classes,
        "num_tasks": dataset.num_tasks,
        "feat_encoding": dataset.feat_encoding,
        "split_seed": dataset.split_seed,
        "split_method": dataset.split_method,
        "split_hash": dataset.split_hash,
        "num_train_graphs": len(dataset.split["train"]),
        "method": config.condense.method,
        "gpc": config.condense.gpc,
        "seed": seed,
        "config": config.to_dict(),
        "condensation_seconds": condensed.info["seconds"],
        "processes": ranks.world_size if ranks else 1,
        "evaluation": evaluation.to_dict() if evaluation else None,
    }
    manifest.update({k: v for k, v in condensed.info.items() if k != "seconds"})
    written = save_condensed(
        out, condensed.graphs, condensed.labels, manifest, force=force
    )
    return written, evaluation


def load_training_set(path, dataset):
    """Load a saved set and check that it belongs to ``dataset``."""
    from .io import check_compatible

    graphs, labels, manifest = load_condensed(path)
    check_compatible(manifest, dataset)
    return graphs, labels, manifest
