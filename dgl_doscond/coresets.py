"""Coreset baselines: K real training graphs per class.

- ``random``: drawn uniformly per class;
- ``herding``: greedily keep the running mean of the picked embeddings
  closest to the class mean;
- ``kcenter``: start from the graph nearest the class mean, then repeatedly
  pick the graph farthest from those already picked.

Herding and k-center work in the graph-embedding space (pooled node
embeddings) of a GCN trained on the whole training split. That GCN depends
on the dataset, the model and evaluation configs and the seed, not on the
method or K, so the embeddings of the last training are kept and reused
by a call that would train the same GCN again (herding and k-center at
every budget of one dataset and seed train it once).

Letters: n graphs of a class, H embedding size, K graphs picked.
"""

import logging
import time
import weakref
from dataclasses import dataclass

import torch

__all__ = ["CORESETS", "CoresetSelection", "herding", "kcenter", "select"]

logger = logging.getLogger(__name__)

CORESETS = ("random", "herding", "kcenter")


@dataclass
class CoresetSelection:
    """Indices into the dataset's graphs, sorted by class, and timing.

    ``seconds`` is what picking them costs from scratch: it includes the
    training of the embedding GCN even when its embeddings were reused
    (``embedder_reused``), so that every budget reports the same kind of
    time.
    """

    indices: torch.Tensor
    seconds: float
    embedder_reused: bool = False


# The last embeddings computed: (weak reference to the dataset, key,
# embeddings, seconds their GCN took). One entry, so that at most one
# training split's embeddings are held.
_last_embeddings = None


def herding(embeddings, k):
    """Herding selection.

    Parameters
    ----------
    embeddings : torch.Tensor
        :math:`(n, H)` embeddings of one class.
    k : int
        Number to pick, at most n.

    Returns
    -------
    torch.Tensor
        :math:`(K,)` int64 positions, in the order picked.
    """
    mean = embeddings.mean(0)
    picked, total = [], torch.zeros_like(mean)
    available = torch.ones(len(embeddings), dtype=torch.bool)
    for step in range(1, k + 1):
        candidate = (total + embeddings) / step  # (n, H)
        dist = (candidate - mean).norm(dim=1)
        dist[~available] = float("inf")
        best = int(dist.argmin())
        picked.append(best)
        available[best] = False
        total = total + embeddings[best]
    return torch.tensor(picked, dtype=torch.long)


def kcenter(embeddings, k):
    """Greedy k-center selection (first pick: nearest to the mean).

    Parameters
    ----------
    embeddings : torch.Tensor
        :math:`(n, H)`.
    k : int

    Returns
    -------
    torch.Tensor
        :math:`(K,)` int64 positions, in the order picked.
    """
    first = int((embeddings - embeddings.mean(0)).norm(dim=1).argmin())
    picked = [first]
    nearest = (embeddings - embeddings[first]).norm(dim=1)  # (n,)
    for _ in range(1, k):
        best = int(nearest.argmax())
        picked.append(best)
        nearest = torch.minimum(
            nearest, (embeddings - embeddings[best]).norm(dim=1)
        )
    return torch.tensor(picked, dtype=torch.long)


@torch.no_grad()
def _embeddings(model, graphs, device):
    from .packing import PackedGraphs

    packed = PackedGraphs(graphs, device=device)
    out = []
    for begin in range(0, len(packed), 2048):
        ids = torch.arange(begin, min(begin + 2048, len(packed)))
        graph, feat = packed.batch(ids)
        out.append(model.embed(graph, feat).cpu())
    return torch.cat(out)


def select(dataset, config, seed=0, device="cpu", progress=False):
    """Pick ``config.condense.gpc`` training graphs per class.

    Returns
    -------
    CoresetSelection
        Indices into ``dataset.graphs``, all in the training split.

    Raises
    ------
    ValueError
        When a class of the training split has fewer than gpc graphs.
    """
    method, gpc = config.condense.method, config.condense.gpc
    if method not in CORESETS:
        raise ValueError(
            f"Unknown coreset {method!r}. Valid: {', '.join(CORESETS)}."
        )
    tic = time.perf_counter()
    train = dataset.split["train"]
    classes = dataset.graph_classes()[train]
    present = sorted(set(classes.tolist()) - {-1})
    smallest = min(int((classes == c).sum()) for c in present)
    if gpc > smallest:
        raise ValueError(
            f"--gpc {gpc} is larger than the smallest class of the training "
            f"split ({smallest} graphs); a coreset needs gpc <= {smallest}."
        )

    embeddings, embed_seconds, reused = None, 0.0, False
    if method != "random":
        embeddings, embed_seconds, reused = _train_embeddings(
            dataset, config, seed, device
        )

    generator = torch.Generator().manual_seed(seed)
    picked = []
    for c in present:
        members = (classes == c).nonzero().flatten()
        if method == "random":
            order = torch.randperm(len(members), generator=generator)[:gpc]
        elif method == "herding":
            order = herding(embeddings[members], gpc)
        else:
            order = kcenter(embeddings[members], gpc)
        picked.append(train[members[order]])
    seconds = time.perf_counter() - tic
    return CoresetSelection(
        indices=torch.cat(picked),
        seconds=seconds + (embed_seconds if reused else 0.0),
        embedder_reused=reused,
    )


def _train_embeddings(dataset, config, seed, device):
    """Embeddings of the training graphs by a GCN trained on them:
    (embeddings, seconds of that training, whether they were reused)."""
    global _last_embeddings
    from .evaluate import train_classifier

    train = dataset.split["train"]
    key = (
        dataset.name,
        dataset.feat_dim,
        tuple(train.tolist()),
        config.model,
        config.evaluate,
        config.condense.coreset_epochs,
        seed,
        str(device),
    )
    if _last_embeddings is not None:
        ref, last_key, embeddings, seconds = _last_embeddings
        if ref() is dataset and last_key == key:
            logger.info("reusing the embedding GCN of the last coreset")
            return embeddings, seconds, True
    tic = time.perf_counter()
    logger.info("training the embedding GCN on the whole split")
    model, valid, _ = train_classifier(
        dataset,
        config,
        seed=seed,
        device=device,
        epochs=config.condense.coreset_epochs,
    )
    logger.info("embedding GCN: best validation %.4f", valid)
    embeddings = _embeddings(
        model, [dataset.graphs[i] for i in train.tolist()], device
    )
    seconds = time.perf_counter() - tic
    _last_embeddings = (weakref.ref(dataset), key, embeddings, seconds)
    return embeddings, seconds, False
