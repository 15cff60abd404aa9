"""The condensation loop: one-step (DosCond) and multi-step (DC-Graph)
gradient matching.

Every outer iteration draws a freshly initialised backbone, computes its
gradient on a batch of real graphs and on the synthetic graphs of each
class (or of one mixed batch), and moves the synthetic features and edge
logits to make the two gradients match. DosCond never trains the backbone
(``outer=1, inner=0``); DC-Graph repeats the matching ``outer`` times per
iteration and trains the backbone ``inner`` steps on the synthetic set
between two matchings.

Letters: G synthetic graphs, N nodes per synthetic graph, D features.
"""

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from . import distributed
from .backbones import build_backbone
from .config import dcgraph_steps
from .evaluate import ValidationProbe
from .io import load_checkpoint, save_checkpoint
from .matching import (
    bound_regularizer,
    gradient_distance,
    output_axes,
    task_loss,
)
from .packing import PackedGraphs
from .synthetic import SyntheticGraphSet, temperature

__all__ = [
    "Condensation",
    "CondensationInterrupted",
    "NonFiniteLossError",
    "StopRequest",
    "condense",
]

logger = logging.getLogger(__name__)

# Offsets that keep the per-iteration seeds of the model, the real batches
# and the Gumbel noise apart.
_MODEL_STREAM, _DATA_STREAM, _PROBE_STREAM = 0, 1, 2


# Condense settings that may change between a run and its resumption; any
# other difference makes the checkpoint belong to another problem.
_RESUMABLE = {
    "epochs",
    "lr_feat",
    "lr_adj",
    "lr_drop_at",
    "checkpoint_every",
    "log_every",
    "valid_every",
    "valid_epochs",
    "coreset_epochs",
}


class NonFiniteLossError(FloatingPointError):
    """The matching loss or a synthetic parameter stopped being finite."""


class CondensationInterrupted(Exception):
    """A :class:`StopRequest` stopped the loop after a checkpoint.

    Attributes
    ----------
    iteration : int
        Iterations completed; the resumed run starts here.
    checkpoint_path : str or None
        The checkpoint written on stopping (None without a path).
    """

    def __init__(self, iteration, checkpoint_path):
        self.iteration = iteration
        self.checkpoint_path = checkpoint_path
        where = (
            f"the checkpoint is at '{checkpoint_path}'; call condense() "
            "again with resume=True to continue"
            if checkpoint_path
            else "no checkpoint_path was given, so the progress is lost"
        )
        super().__init__(
            f"Condensation stopped at iteration {iteration}; {where}."
        )


class StopRequest:
    """Ask a running :func:`condense` to stop after its current iteration.

    Setting it only flips a flag, so it is safe from a signal handler or
    another thread. The loop then writes its checkpoint and raises
    :class:`CondensationInterrupted`.

    Attributes
    ----------
    reason : object
        What :meth:`set` was given (e.g. the signal number).
    listening : bool
        True while a condensation loop polls this request; a caller can
        act at once instead when nothing is listening.
    """

    def __init__(self):
        self.reason = None
        self.listening = False
        self._set = False

    def set(self, reason=None):
        self.reason = reason
        self._set = True

    def is_set(self):
        return self._set

    def __repr__(self):
        return f"StopRequest(set={self._set}, reason={self.reason!r})"


@dataclass
class Condensation:
    """What a condensation run produced.

    Attributes
    ----------
    synthetic : SyntheticGraphSet
        The learnt set (continuous parameters).
    history : list of dict
        Curve points: iteration, loss, match, density, tau.
    seconds : float
        Wall time of the optimisation loop, validation probes excluded.
    probe_seconds : float
        Wall time of the validation probes (``condense.valid_every``).
    num_nodes : int
        N, nodes per synthetic graph.
    kept_iteration : int
        The iteration whose set this is: the last one, or with
        ``condense.keep: best_valid`` the probe with the best validation
        score.
    """

    synthetic: SyntheticGraphSet
    history: list = field(default_factory=list)
    seconds: float = 0.0
    num_nodes: int = 0
    probe_seconds: float = 0.0
    kept_iteration: int = -1

    def graphs(self):
        """The discretised DGL graphs (see :meth:`SyntheticGraphSet.to_dgl`)."""
        return self.synthetic.to_dgl()

    @property
    def labels(self):
        return self.synthetic.labels.detach().cpu()


def _seed(seed, iteration, stream):
    return (seed * 1_000_003 + iteration) * 4 + stream


def _fresh_model(model_config, in_feats, out_feats, seed, device):
    # The backbone's default init draws from the global RNG: fork it so
    # that the caller's random state is left alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_backbone(
            model_config.backbone,
            in_feats,
            out_feats,
            hidden_feats=model_config.hidden_feats,
            num_layers=model_config.num_layers,
            pooling=model_config.pooling,
        )
    return model.to(device)


def _matching_groups(classes_train, synthetic, matching):
    """Pairs (pool of real training positions, slice of synthetic graphs)."""
    if matching == "mixed":
        pool = (classes_train >= 0).nonzero().flatten()
        return [(pool, slice(0, synthetic.num_graphs))]
    groups = []
    for c, sl in synthetic.class_slices().items():
        groups.append(((classes_train == c).nonzero().flatten(), sl))
    return groups


def _training_classes(dataset, cfg):
    """Class of every graph; multi-task sets form one group (class 0) of
    the graphs with at least one label, matched in one mixed batch."""
    if dataset.num_tasks == 1:
        return dataset.graph_classes()
    if cfg.matching != "mixed" or cfg.init != "real":
        raise NotImplementedError(
            f"{dataset.name} has {dataset.num_tasks} tasks, so its graphs "
            "have no single class: set 'matching: mixed' and 'init: real' "
            "in the config (the synthetic graphs then take the labels of "
            "the real graphs they start from)."
        )
    labelled = ~torch.isnan(dataset.labels).all(dim=1)
    return torch.where(labelled, 0, -1).long()


def _real_gradient(model, params, packed, labels, ids, task, share=None):
    """Gradient of the task loss on the real graphs ``ids``.

    With ``share=(rank, world)``, this rank computes the gradient of its
    share of ``ids`` only, weighted by the share's part of the batch's
    labels, and the shares are summed over the ranks: the result is the
    gradient of the whole batch on every rank.
    """
    if share is None:
        graph, feat = packed.batch(ids)
        loss = task_loss(model(graph, feat), labels[ids], task)
        return [g.detach() for g in torch.autograd.grad(loss, params)]
    rank, world = share
    parts = ids.tensor_split(world)
    if task == "binary":  # the loss is a mean over the labelled entries
        counts = [(~torch.isnan(labels[p])).sum() for p in parts]
    else:
        counts = [torch.tensor(len(p)) for p in parts]
    total = sum(int(c) for c in counts)
    weight = int(counts[rank]) / max(total, 1)
    if weight > 0:
        graph, feat = packed.batch(parts[rank])
        loss = task_loss(model(graph, feat), labels[parts[rank]], task)
        grads = [weight * g for g in torch.autograd.grad(loss, params)]
    else:
        grads = [torch.zeros_like(p) for p in params]
    return distributed.all_reduce_sum([g.detach() for g in grads])


def _sum_over_ranks(synthetic, match, loss):
    """Sum the synthetic gradients and the loss parts over the ranks."""
    for p in synthetic.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    values = torch.stack([match.detach(), loss.detach()])
    distributed.all_reduce_sum(
        [p.grad for p in synthetic.parameters()] + [values]
    )
    return values[0], values[1]


def _init_synthetic(
    dataset,
    train_graphs,
    train_labels,
    classes_train,
    cfg,
    num_nodes,
    generator,
):
    if cfg.init == "real":
        return SyntheticGraphSet.from_real(
            train_graphs,
            train_labels,
            classes_train,
            cfg.gpc,
            num_nodes,
            generator=generator,
        )
    present = sorted(set(classes_train.tolist()) - {-1})
    classes = torch.tensor(present).repeat_interleave(cfg.gpc)
    if dataset.task == "multiclass":
        labels = classes.clone()
    else:
        labels = classes.float().unsqueeze(1).repeat(1, dataset.num_tasks)
    return SyntheticGraphSet.from_noise(
        labels, classes, num_nodes, dataset.feat_dim, generator=generator
    )


def _identity(dataset, config, seed):
    """What a checkpoint must share with the run that resumes it, as a
    flat mapping ``{"condense.gpc": 1, ...}``."""
    identity = {
        "dataset": dataset.name,
        "split_hash": dataset.split_hash,
        "seed": seed,
    }
    sections = config.to_dict()
    for section in ("model", "condense"):
        for key, value in sections[section].items():
            if section != "condense" or key not in _RESUMABLE:
                identity[f"{section}.{key}"] = value
    return identity


@contextlib.contextmanager
def _listening(stop):
    """Mark a StopRequest as polled while the loop runs."""
    if not isinstance(stop, StopRequest):
        yield
        return
    stop.listening = True
    try:
        yield
    finally:
        stop.listening = False


def _non_finite(what, iteration, cfg, checkpoint):
    kept = (
        f" The last good checkpoint ({checkpoint[1]} iterations done) is "
        f"kept at '{checkpoint[0]}'."
        if checkpoint
        else ""
    )
    return NonFiniteLossError(
        f"{what} at iteration {iteration}. The learning rates (lr_feat="
        f"{cfg.lr_feat}, lr_adj={cfg.lr_adj}) are likely too high for this "
        f"dataset; lower them in the config.{kept}"
    )


def condense(
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
    """Condense the training split of ``dataset`` into synthetic graphs.

    Parameters
    ----------
    dataset : dgl_doscond.data.GraphDataset
        The dataset; only its training split is read.
    config : dgl_doscond.config.Config
        ``config.condense.method`` must be ``"doscond"`` or ``"dcgraph"``.
    seed : int
        Seed of the initialisation, the backbones, the real batches and
        the Gumbel noise. Runs on the CPU are deterministic for a seed.
    device : str or torch.device
        Where to compute.
    progress : bool
        Show a tqdm bar.
    checkpoint_path : str, optional
        Where to write a checkpoint every ``condense.checkpoint_every``
        iterations (atomically).
    resume : bool
        Continue from ``checkpoint_path`` when it exists (from scratch,
        with an info log, when it does not).
    stop : StopRequest or threading.Event, optional
        Polled after every iteration; once set, the loop writes a
        checkpoint and raises :class:`CondensationInterrupted`. The
        library installs no signal handler: the caller sets it.
    ranks : dgl_doscond.distributed.Ranks, optional
        Share the work of every iteration with the other processes of an
        initialised ``torch.distributed`` group (see
        :mod:`dgl_doscond.distributed`). Every rank returns the same set;
        rank 0 alone shows progress and writes checkpoints.

    Returns
    -------
    Condensation

    Raises
    ------
    NonFiniteLossError
        When the loss or a synthetic parameter is NaN or infinite; the
        last checkpoint, written before, is kept.
    CondensationInterrupted
        When ``stop`` was set before the last iteration.
    ValueError
        On a checkpoint that cannot be read or was made for another
        dataset, seed or configuration.

    Notes
    -----
    A resumed run is bit-identical to an uninterrupted one on the CPU
    with the same seed and thread count: every iteration draws its
    backbone, real batches and noise from seeds of its own.
    """
    cfg = config.condense
    if cfg.method not in ("doscond", "dcgraph"):
        raise ValueError(
            f"condense() runs 'doscond' or 'dcgraph', got {cfg.method!r}; "
            "coresets are built by dgl_doscond.coresets."
        )
    outer, inner = 1, 0
    if cfg.method == "dcgraph":
        auto_outer, auto_inner = dcgraph_steps(cfg.gpc)
        outer = cfg.outer or auto_outer
        inner = auto_inner if cfg.inner < 0 else cfg.inner
    device = torch.device(device)

    # Real side: the training split, packed once.
    train_ids = dataset.split["train"]
    train_graphs = [dataset.graphs[i] for i in train_ids.tolist()]
    train_labels = dataset.labels[train_ids]
    classes_train = _training_classes(dataset, cfg)[train_ids]
    packed = PackedGraphs(train_graphs, device=device)
    labels_real = train_labels.to(device)

    # Synthetic side.
    num_nodes = cfg.num_nodes or max(1, round(dataset.mean_num_nodes))
    generator = torch.Generator().manual_seed(seed)
    synthetic = _init_synthetic(
        dataset,
        train_graphs,
        train_labels,
        classes_train,
        cfg,
        num_nodes,
        generator,
    ).to(device)
    density_init = synthetic.density().item()
    groups = _matching_groups(classes_train.to(device), synthetic, cfg.matching)
    split = distributed.work_split(len(groups), ranks)
    rank, world = (ranks.rank, ranks.world_size) if split else (0, 1)
    main = rank == 0
    mine = [split != "classes" or i % world == rank for i in range(len(groups))]
    out_feats = (
        dataset.num_classes
        if dataset.task == "multiclass"
        else dataset.num_tasks
    )

    opt_feat = torch.optim.Adam([synthetic.feat], lr=cfg.lr_feat)
    opt_adj = torch.optim.Adam([synthetic.adj_logits], lr=cfg.lr_adj)
    history, start, elapsed = [], 0, 0.0
    probe, probe_seconds = None, 0.0
    best = None  # keep == "best_valid": {"valid", "iteration", "synthetic"}
    identity = _identity(dataset, config, seed)
    have_checkpoint = bool(checkpoint_path) and os.path.exists(checkpoint_path)
    if resume and have_checkpoint:
        state = load_checkpoint(checkpoint_path, identity, device)
        synthetic.load_state_dict(state["synthetic"])
        opt_feat.load_state_dict(state["opt_feat"])
        opt_adj.load_state_dict(state["opt_adj"])
        history, start = state["history"], state["iteration"]
        density_init, elapsed = state["density_init"], state["seconds"]
        best = state.get("best")
        logger.info("resumed from %s at iteration %d", checkpoint_path, start)
    elif resume:
        logger.info(
            "no checkpoint at %s; starting from scratch", checkpoint_path
        )
    elif have_checkpoint:
        logger.info(
            "not resuming: %s will be overwritten (resume=True continues "
            "from it)",
            checkpoint_path,
        )
    # (path, iteration) of the last checkpoint known to hold finite state.
    good = (checkpoint_path, start) if resume and have_checkpoint else None

    def save(done):
        if not main:
            distributed.barrier()  # rank 0 writes; the others wait for it
            return (checkpoint_path, done)
        save_checkpoint(
            checkpoint_path,
            {
                "identity": identity,
                "iteration": done,
                "synthetic": synthetic.state_dict(),
                "opt_feat": opt_feat.state_dict(),
                "opt_adj": opt_adj.state_dict(),
                "history": history,
                "density_init": density_init,
                "best": best,
                "seconds": elapsed + time.perf_counter() - tic - probe_seconds,
            },
        )
        if split:
            distributed.barrier()
        return (checkpoint_path, done)

    bar = tqdm(
        range(start, cfg.epochs),
        initial=start,
        total=cfg.epochs,
        desc=f"condense {cfg.method}",
        disable=not (progress and main),
        dynamic_ncols=True,
    )
    tic = time.perf_counter()
    with _listening(stop), bar:
        for iteration in bar:
            scale = 0.1 if iteration >= cfg.lr_drop_at else 1.0
            for opt, lr in ((opt_feat, cfg.lr_feat), (opt_adj, cfg.lr_adj)):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
            tau = temperature(
                iteration, cfg.tau_start, cfg.tau_end, cfg.tau_anneal
            )
            data_gen = torch.Generator(device=device).manual_seed(
                _seed(seed, iteration, _DATA_STREAM)
            )
            model = _fresh_model(
                config.model,
                dataset.feat_dim,
                out_feats,
                _seed(seed, iteration, _MODEL_STREAM),
                device,
            )
            params = list(model.parameters())
            axes = output_axes(model)
            # Inner steps run between matchings only: none when outer == 1.
            model_opt = (
                torch.optim.Adam(params, lr=cfg.lr_model)
                if inner and outer > 1
                else None
            )

            for step in range(outer):
                adj_syn = synthetic.sample(tau, generator=data_gen)
                match = adj_syn.new_zeros(())
                for (pool, sl), own in zip(groups, mine):
                    # Real gradient: B graphs drawn without replacement
                    # (by every rank, so that the random streams agree).
                    take = torch.randperm(
                        len(pool), generator=data_gen, device=device
                    )[: cfg.batch_real]
                    if not own:
                        continue
                    grads_real = _real_gradient(
                        model,
                        params,
                        packed,
                        labels_real,
                        pool[take],
                        dataset.task,
                        (rank, world) if split == "batch" else None,
                    )

                    # Synthetic gradient, kept for the second-order step.
                    logits_syn = model.forward_dense(
                        adj_syn[sl], synthetic.feat[sl]
                    )
                    loss_syn = task_loss(
                        logits_syn, synthetic.labels[sl], dataset.task
                    )
                    grads_syn = torch.autograd.grad(
                        loss_syn, params, create_graph=True
                    )
                    match = match + gradient_distance(
                        grads_syn, grads_real, cfg.distance, axes
                    )
                    if cfg.bound_reg:
                        match = match + bound_regularizer(
                            adj_syn[sl], synthetic.feat[sl], dataset.num_classes
                        )

                density = synthetic.density()
                loss = match
                if main or split != "classes":  # counted once over ranks
                    loss = loss + cfg.beta * torch.relu(density - density_init)
                opt_feat.zero_grad()
                opt_adj.zero_grad()
                if loss.requires_grad:
                    loss.backward()
                if split == "classes":
                    match, loss = _sum_over_ranks(synthetic, match, loss)
                if not torch.isfinite(loss):
                    raise _non_finite(
                        f"The matching loss became {loss.item()}",
                        iteration,
                        cfg,
                        good,
                    )
                opt_feat.step()
                opt_adj.step()
                if not all(
                    torch.isfinite(p).all() for p in synthetic.parameters()
                ):
                    raise _non_finite(
                        "A synthetic parameter stopped being finite",
                        iteration,
                        cfg,
                        good,
                    )

                if step == outer - 1:
                    break
                # DC-Graph: train the backbone on the current synthetic set.
                for _ in range(inner):
                    with torch.no_grad():
                        adj_fixed = synthetic.sample(tau, generator=data_gen)
                        feat_fixed = synthetic.feat.detach()
                    loss_model = task_loss(
                        model.forward_dense(adj_fixed, feat_fixed),
                        synthetic.labels,
                        dataset.task,
                    )
                    model_opt.zero_grad()
                    loss_model.backward()
                    model_opt.step()

            last = iteration == cfg.epochs - 1
            probing = (
                main
                and bool(cfg.valid_every)
                and (iteration % cfg.valid_every == 0 or last)
            )
            if iteration % cfg.log_every == 0 or last or probing:
                point = {
                    "iteration": iteration,
                    "loss": loss.item(),
                    "match": match.item(),
                    "density": density.item(),
                    "tau": tau,
                }
                postfix = {
                    "loss": f"{point['loss']:.4f}",
                    "tau": f"{tau:.3f}",
                    "density": f"{point['density']:.3f}",
                }
                if probing:
                    probe_tic = time.perf_counter()
                    probe = probe or ValidationProbe(
                        dataset, config, cfg.valid_epochs, device
                    )
                    point["valid"] = probe(
                        synthetic.to_dgl(),
                        synthetic.labels.detach().cpu(),
                        seed=_seed(seed, iteration, _PROBE_STREAM),
                    )
                    probe_seconds += time.perf_counter() - probe_tic
                    if cfg.keep == "best_valid" and (
                        best is None or point["valid"] > best["valid"]
                    ):
                        best = {
                            "valid": point["valid"],
                            "iteration": iteration,
                            "synthetic": {
                                k: v.detach().clone()
                                for k, v in synthetic.state_dict().items()
                            },
                        }
                scores = [p["valid"] for p in history + [point] if "valid" in p]
                if scores:
                    postfix["best_valid"] = f"{max(scores):.3f}"
                history.append(point)
                bar.set_postfix(postfix)
            # Checkpoint when due or asked to stop (the last one is not needed).
            done = iteration + 1
            stopping = stop is not None and stop.is_set()
            if split:  # every rank stops at the same iteration
                stopping = distributed.any_rank(stopping, device)
            stopping = stopping and done < cfg.epochs
            due = (
                bool(cfg.checkpoint_every) and done % cfg.checkpoint_every == 0
            )
            if checkpoint_path and (stopping or (due and done < cfg.epochs)):
                good = save(done)
            if stopping:
                raise CondensationInterrupted(done, checkpoint_path)
    seconds = elapsed + time.perf_counter() - tic - probe_seconds
    kept = cfg.epochs - 1
    if best is not None:
        synthetic.load_state_dict(best["synthetic"])
        kept = best["iteration"]
        logger.info(
            "kept the set of iteration %d (validation %.4f)",
            kept,
            best["valid"],
        )
    return Condensation(
        synthetic=synthetic.cpu(),
        history=history,
        seconds=seconds,
        num_nodes=num_nodes,
        probe_seconds=probe_seconds,
        kept_iteration=kept,
    )
