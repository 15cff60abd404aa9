"""The evaluation harness: train fresh classifiers on a set of graphs, pick
each by its validation score, report the test score.

The protocol is METHOD.md's: Adam, a tenfold learning-rate drop at half
time, batches of ``batch_size`` graphs, the weights of the best validation
epoch, accuracy for multi-class sets and OGB's ``Evaluator`` for OGB sets.
"""

import copy
import functools
import logging
import math
import statistics
import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from .backbones import build_backbone
from .matching import task_loss
from .packing import PackedGraphs

__all__ = [
    "EvaluationResult",
    "ValidationProbe",
    "evaluate",
    "score",
    "train_classifier",
]

logger = logging.getLogger(__name__)

_EVAL_CHUNK = 2048  # graphs per forward pass on the valid and test splits


@dataclass
class EvaluationResult:
    """Scores of R evaluation runs.

    Attributes
    ----------
    metric : str
        ``"accuracy"`` (percent) or an OGB metric such as ``"rocauc"``.
    scores : list of float
        Test score of every run, at its best validation epoch.
    valid_scores : list of float
        The best validation score of every run.
    """

    dataset: str
    train: str
    backbone: str
    pooling: str
    metric: str
    scores: list = field(default_factory=list)
    valid_scores: list = field(default_factory=list)
    epochs: int = 0
    num_train_graphs: int = 0
    seed: int = 0
    split_seed: object = None
    split_hash: str = ""
    feat_encoding: str = ""
    seconds: float = 0.0

    @property
    def runs(self):
        return len(self.scores)

    @property
    def mean(self):
        return statistics.fmean(self.scores) if self.scores else math.nan

    @property
    def std(self):
        return statistics.pstdev(self.scores) if len(self.scores) > 1 else 0.0

    def summary(self):
        """``'mean ± std over R runs'`` with the metric's precision."""
        digits = 2 if self.metric == "accuracy" else 4
        unit = " %" if self.metric == "accuracy" else ""
        return (
            f"{self.metric}: {self.mean:.{digits}f} ± {self.std:.{digits}f}"
            f"{unit} over {self.runs} run{'s' if self.runs != 1 else ''}"
        )

    def to_dict(self):
        out = asdict(self)
        out.update(mean=self.mean, std=self.std, runs=self.runs)
        return out


def score(logits, labels, dataset):
    """Score predictions with the dataset's metric.

    Parameters
    ----------
    logits : torch.Tensor
        :math:`(n, O)` outputs.
    labels : torch.Tensor
        :math:`(n,)` classes or :math:`(n, T)` binary labels with NaN.
    dataset : dgl_doscond.data.GraphDataset
        Gives the task, the metric and, for OGB, the Evaluator's name.

    Returns
    -------
    float
        Accuracy in percent, or the OGB metric.
    """
    if dataset.metric == "accuracy":
        correct = (logits.argmax(1) == labels).float().mean().item()
        return 100.0 * correct

    if not dataset.name.startswith("ogbg-"):
        return _rocauc(logits, labels.reshape(logits.shape))

    evaluator = _ogb_evaluator(dataset.name)
    result = evaluator.eval(
        {
            "y_true": labels.reshape(logits.shape).numpy(),
            "y_pred": logits.numpy(),
        }
    )
    return float(result[dataset.metric])


@functools.lru_cache(maxsize=8)
def _ogb_evaluator(name):
    # Building an Evaluator reads ogb's master table: once per name.
    from ogb.graphproppred import Evaluator

    return Evaluator(name)


def _rocauc(logits, labels):
    """Mean ROC-AUC over the tasks that have both classes (as OGB)."""
    from sklearn.metrics import roc_auc_score

    values = []
    for t in range(labels.shape[1]):
        known = ~torch.isnan(labels[:, t])
        target = labels[known, t]
        if target.min() != target.max():
            values.append(
                roc_auc_score(target.numpy(), logits[known, t].numpy())
            )
    if not values:
        raise ValueError("ROC-AUC needs both classes in the split.")
    return float(sum(values) / len(values))


def _chunks(packed):
    """Batches of a fixed split, built once: (graph, feat) per chunk."""
    return [
        packed.batch(torch.arange(b, min(b + _EVAL_CHUNK, len(packed))))
        for b in range(0, len(packed), _EVAL_CHUNK)
    ]


@torch.no_grad()
def _operators(model, packed):
    """The propagation operators of every chunk of every fixed split: they
    do not depend on the weights, so one run builds them once."""
    return {
        part: [model.propagation(graph) for graph, _ in chunks]
        for part, chunks in packed.items()
    }


@torch.no_grad()
def _predict(model, chunks, operators=None):
    model.eval()
    operators = operators or [None] * len(chunks)
    outputs = [
        model(graph, feat, operator=op).cpu()
        for (graph, feat), op in zip(chunks, operators)
    ]
    model.train()
    return torch.cat(outputs)


def _split_packs(dataset, device):
    packed, labels = {}, {}
    for part in ("valid", "test"):
        ids = dataset.split[part]
        packed[part] = _chunks(
            PackedGraphs(
                [dataset.graphs[i] for i in ids.tolist()], device=device
            )
        )
        labels[part] = dataset.labels[ids]
    return packed, labels


def _one_run(
    dataset,
    packed_train,
    labels_train,
    packed,
    labels,
    model_cfg,
    eval_cfg,
    seed,
    device,
    epochs=None,
    keep_best=False,
    select=True,
):
    """Train one classifier; (best valid, test there, model). With
    ``select=False`` the validation split is scored once, after the last
    epoch, and the test split not at all."""
    out_feats = (
        dataset.num_classes
        if dataset.task == "multiclass"
        else dataset.num_tasks
    )
    epochs = eval_cfg.epochs if epochs is None else epochs
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_backbone(
            model_cfg.backbone,
            dataset.feat_dim,
            out_feats,
            hidden_feats=model_cfg.hidden_feats,
            num_layers=model_cfg.num_layers,
            pooling=model_cfg.pooling,
            dropout=model_cfg.dropout,
        ).to(device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=eval_cfg.lr, weight_decay=eval_cfg.weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    labels_train = labels_train.to(device)
    ops = _operators(model, packed)
    best_valid, best_test, best_state = -math.inf, math.nan, None
    for epoch in range(epochs):
        if epoch == epochs // 2:
            for group in optimizer.param_groups:
                group["lr"] = eval_cfg.lr / 10
        order = torch.randperm(len(packed_train), generator=generator)
        for begin in range(0, len(order), eval_cfg.batch_size):
            ids = order[begin : begin + eval_cfg.batch_size]
            graph, feat = packed_train.batch(ids)
            loss = task_loss(
                model(graph, feat), labels_train[ids.to(device)], dataset.task
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        if not select:
            if epoch == epochs - 1:
                best_valid = score(
                    _predict(model, packed["valid"], ops["valid"]),
                    labels["valid"],
                    dataset,
                )
            continue
        valid = score(
            _predict(model, packed["valid"], ops["valid"]),
            labels["valid"],
            dataset,
        )
        if valid > best_valid:
            best_valid = valid
            best_test = score(
                _predict(model, packed["test"], ops["test"]),
                labels["test"],
                dataset,
            )
            if keep_best:
                best_state = copy.deepcopy(model.state_dict())
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best_valid, best_test, model


class ValidationProbe:
    """Validation score of a quick classifier trained on a set of graphs.

    Used for the condensation curves: a fresh ``config.model`` backbone is
    trained ``epochs`` epochs with ``config.evaluate``'s optimiser settings
    on the given graphs and scored once on the validation split (the test
    split is never read). The validation batches are built once.

    Parameters
    ----------
    dataset : dgl_doscond.data.GraphDataset
    config : dgl_doscond.config.Config
    epochs : int
    device : str or torch.device
    """

    def __init__(self, dataset, config, epochs, device="cpu"):
        ids = dataset.split["valid"]
        self.dataset, self.config, self.epochs = dataset, config, epochs
        self.device = torch.device(device)
        self._packed = {
            "valid": _chunks(
                PackedGraphs(
                    [dataset.graphs[i] for i in ids.tolist()],
                    device=self.device,
                )
            )
        }
        self._labels = {"valid": dataset.labels[ids]}

    def __call__(self, graphs, labels, seed=0):
        """The validation score of a classifier trained on ``graphs``."""
        with torch.random.fork_rng(devices=[]):  # leave the caller's RNG
            valid, _, _ = _one_run(
                self.dataset,
                PackedGraphs(graphs, device=self.device),
                labels,
                self._packed,
                self._labels,
                self.config.model,
                self.config.evaluate,
                seed,
                self.device,
                epochs=self.epochs,
                select=False,
            )
        return valid


def train_classifier(dataset, config, seed=0, device="cpu", epochs=None):
    """Train one classifier on the whole training split.

    Returns
    -------
    (GraphClassifier, float, float)
        The model with the weights of its best validation epoch (in eval
        mode), that validation score, and the test score there.
    """
    ids = dataset.split["train"]
    packed_train = PackedGraphs(
        [dataset.graphs[i] for i in ids.tolist()], device=device
    )
    packed, labels = _split_packs(dataset, device)
    valid, test, model = _one_run(
        dataset,
        packed_train,
        dataset.labels[ids],
        packed,
        labels,
        config.model,
        config.evaluate,
        seed,
        device,
        epochs=epochs,
        keep_best=True,
    )
    return model, valid, test


def evaluate(
    dataset,
    config,
    train_graphs=None,
    train_labels=None,
    train_name="whole",
    runs=None,
    seed=0,
    device="cpu",
    progress=False,
):
    """Train ``runs`` fresh classifiers and report their test scores.

    Parameters
    ----------
    dataset : dgl_doscond.data.GraphDataset
        Gives the validation and test splits and the metric.
    config : dgl_doscond.config.Config
        ``config.model`` builds the classifier, ``config.evaluate`` sets
        the protocol.
    train_graphs : list of dgl.DGLGraph, optional
        Graphs to train on, with ``ndata["feat"]``; the whole training
        split when not given.
    train_labels : torch.Tensor, optional
        Their labels, in the dataset's label format.
    train_name : str
        What was trained on, recorded in the result.
    runs : int, optional
        Number of runs; ``config.evaluate.runs`` when not given.
    seed : int
        Run ``r`` uses seed ``seed + r``.
    device : str or torch.device
    progress : bool
        Show a tqdm bar over the runs.

    Returns
    -------
    EvaluationResult
    """
    runs = config.evaluate.runs if runs is None else runs
    if train_graphs is None:
        ids = dataset.split["train"]
        train_graphs = [dataset.graphs[i] for i in ids.tolist()]
        train_labels = dataset.labels[ids]
    if len(train_graphs) != len(train_labels):
        raise ValueError(
            f"Got {len(train_graphs)} training graphs but "
            f"{len(train_labels)} labels."
        )
    for graph in train_graphs[:1]:
        dim = graph.ndata["feat"].shape[1]
        if dim != dataset.feat_dim:
            raise ValueError(
                f"The training graphs have {dim} node features but "
                f"{dataset.name} has {dataset.feat_dim}; were they made "
                "from another dataset or feature encoding?"
            )

    device = torch.device(device)
    packed_train = PackedGraphs(train_graphs, device=device)
    packed, labels = _split_packs(dataset, device)

    result = EvaluationResult(
        dataset=dataset.name,
        train=train_name,
        backbone=config.model.backbone,
        pooling=config.model.pooling,
        metric=dataset.metric,
        epochs=config.evaluate.epochs,
        num_train_graphs=len(train_graphs),
        seed=seed,
        split_seed=dataset.split_seed,
        split_hash=dataset.split_hash,
        feat_encoding=dataset.feat_encoding,
    )
    tic = time.perf_counter()
    bar = tqdm(
        range(runs), desc="evaluate", disable=not progress, dynamic_ncols=True
    )
    for run in bar:
        valid, test, _ = _one_run(
            dataset,
            packed_train,
            train_labels,
            packed,
            labels,
            config.model,
            config.evaluate,
            seed + run,
            device,
        )
        result.valid_scores.append(valid)
        result.scores.append(test)
        bar.set_postfix(best_valid=f"{valid:.3f}", test=f"{test:.3f}")
        logger.debug("run %d: valid %.4f test %.4f", run, valid, test)
    result.seconds = time.perf_counter() - tic
    return result
