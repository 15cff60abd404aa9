"""Dataset registry: TU graph-kernel sets, OGB molecule sets and MiniGC.

:func:`load_dataset` turns a name into a :class:`GraphDataset`: a list of
simple DGL graphs with float32 node features in ``ndata["feat"]``, the graph
labels, and a train/valid/test split.

Letters used in shapes: G graphs, N nodes (of one graph, or of all graphs
together where said), D node features, T tasks.

Data root layout (the root may be read-only; nothing is written into it)::

    DATA_ROOT/tu/NAME/NAME_A.txt, NAME_graph_indicator.txt, ...
    DATA_ROOT/ogb/ogbg_molhiv/{RELEASE_v1.txt,raw,split,mapping}

Every cache (DGL's ``*.bin``, OGB's ``processed/``, downloads) goes under
``cache_dir``.

Finding, downloading and reading each family's files is done in
:mod:`dgl_doscond.loaders`; this module holds the public registry.
"""

import hashlib
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

KNOWN_TU = (
    "MUTAG", "NCI1", "NCI109", "PROTEINS", "PROTEINS_full", "ENZYMES", "DD",
    "PTC_MR", "PTC_MM", "PTC_FM", "PTC_FR", "BZR", "COX2", "DHFR", "AIDS",
    "Mutagenicity", "FRANKENSTEIN", "IMDB-BINARY", "IMDB-MULTI", "COLLAB",
    "REDDIT-BINARY", "REDDIT-MULTI-5K", "REDDIT-MULTI-12K",
)  # fmt: skip
"""TU names accepted without a local folder (they can be downloaded)."""

TU_URL = "https://www.chrsmrrs.com/graphkerneldatasets/{name}.zip"
DOWNLOAD_TIMEOUT_S = 30
FEAT_ENCODINGS = ("onehot", "raw")
SPLITS = ("stratified", "permutation")

MINIGC_NUM_GRAPHS = 600  # 75 per class
MINIGC_MIN_NODES = 10
MINIGC_MAX_NODES = 20  # exclusive, as in dgl.data.MiniGCDataset
MINIGC_SEED = 0  # generation seed; the split uses split_seed


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither under the data root nor downloadable."""


@dataclass(repr=False, eq=False)
class GraphDataset:
    """A graph classification dataset with its split.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"MUTAG"``, ``"ogbg-molhiv"``, ``"minigc"``.
    graphs : list of dgl.DGLGraph
        ``G`` simple, symmetric graphs without self-loops, each with only
        ``ndata["feat"]``, float32 of shape :math:`(N, D)`.
    labels : torch.Tensor
        ``"multiclass"``: int64 of shape :math:`(G,)` with values in
        ``0..C-1``. ``"binary"`` (OGB): float32 of shape :math:`(G, T)`
        with 0/1 and NaN for a missing label.
    num_classes : int
        C for multiclass, 2 for binary.
    num_tasks : int
        1 for multiclass, T for binary.
    task : str
        ``"multiclass"`` or ``"binary"``.
    metric : str
        ``"accuracy"``, or OGB's ``eval_metric`` (``"rocauc"``, ``"ap"``).
    split : dict
        ``"train"``, ``"valid"``, ``"test"`` -> sorted int64 graph indices.
    split_seed : int or None
        Seed of the split; None for OGB's fixed scaffold split.
    feat_encoding : str
        ``"onehot"`` or ``"raw"``, as passed to :func:`load_dataset`.
    split_method : str
        ``"stratified"``, ``"permutation"`` (see :func:`load_dataset`),
        ``"scaffold"`` (OGB) or ``"given"`` (a user's own split).
    """

    name: str
    graphs: list
    labels: torch.Tensor
    num_classes: int
    num_tasks: int
    task: str
    metric: str
    split: dict
    split_seed: int | None
    feat_encoding: str
    split_method: str = "stratified"

    @classmethod
    def from_graphs(
        cls, graphs, labels, name="custom", split=None, split_seed=0
    ):
        """Wrap a user's own graphs as a dataset.

        Parameters
        ----------
        graphs : list of dgl.DGLGraph
            Graphs with float node features ``ndata["feat"]`` of one width
            D, at least one node each, no self-loops, each undirected edge
            in both directions.
        labels : torch.Tensor
            :math:`(G,)` int64 classes (multi-class, accuracy), or
            :math:`(G, T)` float 0/1 labels with NaN where missing (binary
            tasks, ROC-AUC).
        name : str
            Recorded in manifests and results.
        split : dict, optional
            ``"train"``, ``"valid"``, ``"test"`` -> int64 indices; a
            stratified seeded 80/10/10 split when not given.
        split_seed : int
            Seed of that split.

        Returns
        -------
        GraphDataset

        Raises
        ------
        ValueError, TypeError
            On an empty list, a graph without nodes or features, features
            of differing widths, or labels that do not fit.
        """
        graphs = list(graphs)
        if not graphs:
            raise ValueError("from_graphs() needs at least one graph.")
        labels = torch.as_tensor(labels)
        if len(labels) != len(graphs):
            raise ValueError(
                f"Got {len(graphs)} graphs but {len(labels)} labels."
            )
        width = None
        for i, graph in enumerate(graphs):
            if graph.num_nodes() == 0:
                raise ValueError(
                    f"Graph {i} has no nodes; drop it before condensing."
                )
            feat = graph.ndata.get("feat")
            if feat is None or feat.dim() != 2:
                raise ValueError(
                    f"Graph {i} has no 2-D ndata['feat']; set float node "
                    "features of shape (num_nodes, D) on every graph."
                )
            if width is None:
                width = feat.shape[1]
            elif feat.shape[1] != width:
                raise ValueError(
                    f"Graph {i} has {feat.shape[1]} node features but graph "
                    f"0 has {width}; all graphs need the same width D."
                )
            if not torch.is_floating_point(feat):
                raise TypeError(
                    f"Graph {i} has {feat.dtype} features; convert them with "
                    "graph.ndata['feat'] = graph.ndata['feat'].float()."
                )

        if labels.dim() == 1 and not torch.is_floating_point(labels):
            labels = labels.long()
            if labels.min() < 0:
                raise ValueError("Class labels must be >= 0.")
            task, metric = "multiclass", "accuracy"
            num_classes, num_tasks = int(labels.max()) + 1, 1
            classes = labels
        elif labels.dim() == 2 and torch.is_floating_point(labels):
            task, metric = "binary", "rocauc"
            num_classes, num_tasks = 2, labels.shape[1]
            classes = torch.nan_to_num(labels[:, 0], nan=-1).long()
        else:
            raise TypeError(
                "labels must be (G,) int64 classes or (G, T) float binary "
                f"labels; got {labels.dtype} of shape {tuple(labels.shape)}."
            )
        method = "stratified" if split is None else "given"
        if split is None:
            split = stratified_split(classes, split_seed)
        else:
            split = {
                k: torch.as_tensor(split[k]).long()
                for k in ("train", "valid", "test")
            }
        return cls(
            name=name,
            graphs=graphs,
            labels=labels,
            num_classes=num_classes,
            num_tasks=num_tasks,
            task=task,
            metric=metric,
            split=split,
            split_seed=split_seed,
            feat_encoding="custom",
            split_method=method,
        )

    def __repr__(self):
        return (
            f"GraphDataset(name={self.name!r}, num_graphs={self.num_graphs}, "
            f"num_classes={self.num_classes}, num_tasks={self.num_tasks}, "
            f"feat_dim={self.feat_dim}, split_hash={self.split_hash!r})"
        )

    @property
    def num_graphs(self):
        return len(self.graphs)

    @property
    def feat_dim(self):
        """D, the width of ``ndata["feat"]``."""
        return int(self.graphs[0].ndata["feat"].shape[1])

    @property
    def split_hash(self):
        """First 16 hex digits of the sha256 of train, valid, test indices."""
        digest = hashlib.sha256()
        for key in ("train", "valid", "test"):
            idx = self.split[key].to(torch.int64).contiguous().numpy()
            digest.update(idx.tobytes())
        return digest.hexdigest()[:16]

    @property
    def mean_num_nodes(self):
        return sum(g.num_nodes() for g in self.graphs) / self.num_graphs

    def graph_classes(self):
        """Class id per graph, for stratification and per-class sampling.

        Returns
        -------
        torch.Tensor
            int64 of shape :math:`(G,)`: the multiclass label, or the 0/1
            label of a single-task OGB set (-1 where it is NaN).
        """
        if self.task == "multiclass":
            return self.labels.clone()
        if self.num_tasks != 1:
            raise NotImplementedError(
                f"graph_classes() needs one label per graph, but {self.name} "
                f"has {self.num_tasks} tasks; pick one task with "
                "dataset.labels[:, t] instead."
            )
        column = self.labels[:, 0]
        classes = torch.full((self.num_graphs,), -1, dtype=torch.int64)
        known = ~torch.isnan(column)
        classes[known] = column[known].to(torch.int64)
        return classes

    def stats(self):
        """Summary numbers, as shown by the ``datasets`` command."""
        num_edges = sum(g.num_edges() for g in self.graphs) / 2
        return {
            "name": self.name,
            "num_graphs": self.num_graphs,
            "num_classes": self.num_classes,
            "num_tasks": self.num_tasks,
            "task": self.task,
            "metric": self.metric,
            "mean_num_nodes": self.mean_num_nodes,
            "mean_num_edges": num_edges / self.num_graphs,
            "feat_dim": self.feat_dim,
            "feat_encoding": self.feat_encoding,
            "num_train": len(self.split["train"]),
            "num_valid": len(self.split["valid"]),
            "num_test": len(self.split["test"]),
            "split_seed": self.split_seed,
            "split_method": self.split_method,
            "split_hash": self.split_hash,
        }

    def subset(self, indices):
        """Graphs and labels at ``indices`` (a list or int64 tensor (K,))."""
        idx = torch.as_tensor(indices, dtype=torch.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.num_graphs):
            raise IndexError(
                f"subset indices must lie in [0, {self.num_graphs}), "
                f"got min {int(idx.min())} and max {int(idx.max())}"
            )
        return [self.graphs[i] for i in idx.tolist()], self.labels[idx]


def stratified_split(classes, seed, frac=0.1):
    """Per-class seeded split: test and valid take ``ceil(frac * n_c)`` each.

    Parameters
    ----------
    classes : torch.Tensor
        int64 of shape :math:`(G,)`, the class of each graph.
    seed : int
        Seed of the ``torch.Generator`` that permutes each class.
    frac : float
        Fraction of each class put in test, and again in valid.

    Returns
    -------
    dict
        ``"train"``, ``"valid"``, ``"test"`` -> sorted int64 indices.
    """
    gen = torch.Generator().manual_seed(int(seed))
    parts = {"train": [], "valid": [], "test": []}
    for cls in torch.unique(classes).tolist():
        members = torch.nonzero(classes == cls).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        size = math.ceil(frac * len(members))
        parts["test"].append(members[:size])
        parts["valid"].append(members[size : 2 * size])
        parts["train"].append(members[2 * size :])
    return {k: torch.sort(torch.cat(v)).values for k, v in parts.items()}


def permutation_split(num_graphs, seed, frac=0.1):
    """The reference code's split: one seeded permutation of all graphs;
    the first ``ceil(frac * G)`` are test, the next as many valid, the
    rest train (MUTAG 150/19/19 with ``frac=0.1``). Not stratified.

    Returns
    -------
    dict
        ``"train"``, ``"valid"``, ``"test"`` -> sorted int64 indices.
    """
    gen = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(num_graphs, generator=gen)
    size = math.ceil(frac * num_graphs)
    parts = {
        "test": order[:size],
        "valid": order[size : 2 * size],
        "train": order[2 * size :],
    }
    return {k: torch.sort(v).values for k, v in parts.items()}


def available_datasets(data_root=None):
    """Names of the datasets present under ``data_root``, plus "minigc"."""
    from . import loaders

    names = ["minigc"]
    if data_root is not None:
        root = loaders._check_root(data_root)
        names += loaders._local_tu_names(root)
        ogb_dir = root / "ogb"
        if ogb_dir.is_dir():
            names += [
                p.name.replace("_", "-")
                for p in ogb_dir.iterdir()
                if p.name.startswith("ogbg_mol") and loaders._ogb_complete(p)
            ]
    return sorted(names)


def load_dataset(
    name,
    data_root=None,
    cache_dir=None,
    split_seed=0,
    feat_encoding="onehot",
    download=True,
    split="stratified",
):
    """Load a graph classification dataset by name.

    Parameters
    ----------
    name : str or os.PathLike
        ``"minigc"``, an OGB molecule set (``"ogbg-mol*"``), a name in
        :data:`KNOWN_TU`, or any folder name under ``data_root/tu``
        (case does not matter); or the path of a ``.bin`` file written by
        ``dgl.save_graphs(path, graphs, {"label": labels})``, optionally
        with ``"train_idx"``, ``"valid_idx"`` and ``"test_idx"`` tensors
        (see Notes).
    data_root : str or os.PathLike, optional
        Folder laid out as in the module docstring; read only.
    cache_dir : str or os.PathLike, optional
        Writable folder for caches and downloads, created if needed.
        Default ``~/.cache/dgl_doscond``.
    split_seed : int
        Seed of the stratified 80/10/10 split (TU, MiniGC). OGB uses its
        fixed scaffold split and records ``split_seed=None``.
    feat_encoding : str
        ``"onehot"``: OGB atoms as the concatenated one-hot of the 9 atom
        columns (174 dims); TU as one-hot node labels followed by the node
        attributes (standardised to zero mean and unit variance over all
        nodes), or one-hot degree where a set has neither; MiniGC as
        one-hot degree. ``"raw"``: OGB's 9 integer codes as float32; TU
        and MiniGC are the same as ``"onehot"``.
    download : bool
        Try the loader's download into ``cache_dir`` when the data is not
        under ``data_root``.
    split : str
        TU and MiniGC: ``"stratified"`` (per class, seeded, 80/10/10) or
        ``"permutation"`` (the reference code's split: one seeded
        permutation, test first; see :func:`permutation_split`). OGB sets
        always use their scaffold split and refuse ``"permutation"``.

    Returns
    -------
    GraphDataset

    Notes
    -----
    TU and MiniGC graphs are rebuilt symmetric and simple, without
    self-loops (IMDB-BINARY's duplicate edges go, MiniGC's self-loops go).
    OGB graphs are kept as OGB builds them (already symmetric and simple).
    Caches are keyed by the source folder's path, not its content: clear
    ``cache_dir`` after editing files in place.

    A ``.bin`` file's graphs need float ``ndata["feat"]`` of one width;
    they are rebuilt symmetric and simple, without self-loops, and the
    labels are those :meth:`GraphDataset.from_graphs` takes. The dataset
    is named after the file's stem; its split is the file's when it has
    one (``split_method`` ``"given"``, and ``split`` must then be
    ``"stratified"``, the default), else ``split`` with ``split_seed``.
    ``data_root``, ``cache_dir``, ``feat_encoding`` and ``download`` do
    not apply to it.
    """
    from . import loaders

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if feat_encoding not in FEAT_ENCODINGS:
        raise ValueError(
            f"feat_encoding must be one of {FEAT_ENCODINGS}, "
            f"got {feat_encoding!r}"
        )
    if isinstance(name, os.PathLike) or str(name).endswith(".bin"):
        return _load_file(name, split_seed, split)
    root = None if data_root is None else loaders._check_root(data_root)
    family, name = _resolve_name(name, root)
    cache = Path(cache_dir or "~/.cache/dgl_doscond").expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    if family == "minigc":
        dataset = loaders._load_minigc(cache, split_seed, feat_encoding)
    else:
        source = loaders._find_source(family, name, root, cache, download)
        if family == "tu":
            dataset = loaders._load_tu(
                name, source, cache, split_seed, feat_encoding
            )
        else:
            dataset = loaders._load_ogb(name, source, cache, feat_encoding)
    if dataset.split_seed is None:  # OGB: its own scaffold split
        if split != "stratified":
            raise ValueError(
                f"{name} comes with OGB's scaffold split; split "
                f"{split!r} applies to TU and MiniGC sets only."
            )
        dataset.split_method = "scaffold"
    elif split == "permutation":
        dataset.split = permutation_split(dataset.num_graphs, split_seed)
        dataset.split_method = "permutation"

    logger.info(
        "loaded %s: %d graphs, D=%d, in %.1f s",
        name,
        dataset.num_graphs,
        dataset.feat_dim,
        time.perf_counter() - start,
    )
    return dataset


def _load_file(path, split_seed, split):
    """:func:`load_dataset` of a ``dgl.save_graphs`` file."""
    from . import loaders

    dataset = loaders._load_graph_file(path, split_seed)
    if split == "permutation":
        if dataset.split_method == "given":
            raise ValueError(
                f"'{path}' holds its own split (train_idx, valid_idx, "
                "test_idx), so split 'permutation' does not apply; drop "
                "those tensors from the file to split it here."
            )
        dataset.split = permutation_split(dataset.num_graphs, split_seed)
        dataset.split_method = "permutation"
    logger.info(
        "loaded %s from %s: %d graphs, D=%d",
        dataset.name,
        path,
        dataset.num_graphs,
        dataset.feat_dim,
    )
    return dataset


def _resolve_name(name, root):
    """Return (family, canonical name) or raise ValueError listing names."""
    from . import loaders

    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    lower = name.lower().replace("_", "-")
    if lower == "minigc":
        return "minigc", "minigc"

    if lower.startswith("ogbg-mol"):
        master = loaders._ogb_master()
        mol_names = [n for n in master.columns if n.startswith("ogbg-mol")]
        if lower not in mol_names:
            raise ValueError(
                f"unknown OGB dataset {name!r}; ogb "
                f"{loaders._ogb_version()} knows {', '.join(mol_names)}"
            )
        if "classification" not in master[lower]["task type"]:
            raise NotImplementedError(
                f"{lower} is a {master[lower]['task type']} task; only "
                "classification sets are supported"
            )
        return "ogb", lower

    tu_names = list(KNOWN_TU)
    if root is not None:
        local = loaders._local_tu_names(root)
        tu_names += [n for n in local if n not in tu_names]
    if name in tu_names:
        return "tu", name
    by_lower = {n.lower(): n for n in tu_names}
    if name.lower() in by_lower:
        return "tu", by_lower[name.lower()]
    raise ValueError(
        f"unknown dataset {name!r}; valid names are minigc, ogbg-mol* "
        f"(e.g. ogbg-molhiv, ogbg-molbace, ogbg-molbbbp) and the TU sets "
        f"{', '.join(tu_names)}; any folder DATA_ROOT/tu/NAME holding "
        "NAME_A.txt works too"
    )
