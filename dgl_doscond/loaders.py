"""Dataset sources and per-family loaders behind :func:`load_dataset`.

A source is a folder of raw files: first ``DATA_ROOT/tu/NAME`` or
``DATA_ROOT/ogb/ogbg_mol*``, then the same under ``cache_dir/downloads``;
when neither is complete the set is downloaded there (TU from
:data:`~dgl_doscond.data.TU_URL`, OGB from the URL in ogb's master table).
The data root is only read; every cache goes under ``cache_dir``, keyed by
the source folder's path.

Each loader (``_load_tu``, ``_load_minigc``, ``_load_ogb``) reads one family
with DGL's or OGB's own reader, rebuilds the graphs as the registry wants
them and returns a :class:`~dgl_doscond.data.GraphDataset`. The public
constants these read (URL, timeout, MiniGC sizes) live in
:mod:`dgl_doscond.data` and are read from there at call time.

Letters used in shapes: G graphs, N_all nodes of all graphs together,
E edges of all graphs together, D node features, K distinct values.
"""

import contextlib
import hashlib
import io
import logging
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

import dgl
import numpy as np
import torch

from . import data

logger = logging.getLogger(__name__)

_TU_LAYOUT = "DIR/tu/NAME/NAME_A.txt (plus NAME_graph_indicator.txt, ...)"
_OGB_LAYOUT = "DIR/ogb/ogbg_molhiv/{RELEASE_v1.txt,raw,split,mapping}"


# -- the data root and sources ------------------------------------------


def _check_root(data_root):
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise ValueError(
            f"The data root {str(root)!r} is not an existing folder; pass "
            "the folder that holds tu/ and ogb/ as --data-root DIR (or "
            f"DGL_DOSCOND_DATA), laid out as {_TU_LAYOUT} and {_OGB_LAYOUT}"
        )
    return root


def _local_tu_names(root):
    tu_dir = root / "tu"
    if not tu_dir.is_dir():
        return []
    return sorted(p.name for p in tu_dir.iterdir() if _tu_complete(p))


def _tu_complete(folder):
    return (folder / f"{folder.name}_A.txt").is_file()


def _ogb_complete(folder):
    raw = folder / "raw"
    return (raw / "edge.csv.gz").is_file() or (raw / "data.npz").is_file()


@lru_cache(maxsize=1)
def _ogb_master():
    import ogb.graphproppred
    import pandas as pd

    path = Path(ogb.graphproppred.__file__).parent / "master.csv"
    return pd.read_csv(path, index_col=0, keep_default_na=False)


def _ogb_version():
    import ogb

    return ogb.__version__


def _find_source(family, name, root, cache, download):
    """Return the folder that holds this dataset's files, downloading it
    into ``cache/downloads`` when needed."""
    subdir = "tu" if family == "tu" else "ogb"
    folder_name = name if family == "tu" else name.replace("-", "_")
    complete = _tu_complete if family == "tu" else _ogb_complete
    roots = [root] if root is not None else []
    roots.append(cache / "downloads")

    looked = []
    for candidate in roots:
        folder = candidate / subdir / folder_name
        if complete(folder):
            return folder
        looked.append(str(folder))

    if not download:
        reason = "downloading is off (download=False)"
    else:
        if family == "tu":
            url, inner = data.TU_URL.format(name=name), name
        else:
            meta = _ogb_master()[name]
            url, inner = meta["url"], meta["download_name"]
        target = cache / "downloads" / subdir / folder_name
        try:
            _download_zip(url, inner, target)
            return target
        except (OSError, zipfile.BadZipFile) as err:
            reason = f"the download from {url} failed ({err})"

    layout = _TU_LAYOUT if family == "tu" else _OGB_LAYOUT
    raise data.DatasetNotFoundError(
        f"dataset {name!r} not found: looked in {', '.join(looked)}, and "
        f"{reason}. Pass `--data-root DIR` (or set DGL_DOSCOND_DATA=DIR) "
        f"where DIR is laid out as {layout}."
    )


def _download_zip(url, inner, target):
    """Fetch a zip and move its folder ``inner`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s", url)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / "download.zip"
        timeout = data.DOWNLOAD_TIMEOUT_S
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            with open(archive, "wb") as out:
                shutil.copyfileobj(resp, out)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(Path(tmp) / "unzipped")
        extracted = Path(tmp) / "unzipped" / inner
        if not extracted.is_dir():
            raise OSError(f"the archive from {url} has no folder {inner!r}")
        if target.exists():
            shutil.rmtree(target)  # an incomplete earlier download
        os.replace(extracted, target)


def _path_key(path):
    """Short key of a source folder, so that two roots never share a cache."""
    real = os.path.realpath(path)
    return hashlib.sha1(real.encode("utf-8")).hexdigest()[:8]


@contextlib.contextmanager
def _quiet_stdout(what):
    """Route the print() calls of dgl and ogb loaders to the debug log."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    if buffer.getvalue().strip():
        logger.debug("%s said: %s", what, buffer.getvalue().strip())


# -- loaders ------------------------------------------------------------


def _load_tu(name, source, cache, split_seed, feat_encoding):
    from dgl.data import TUDataset

    class OfflineTUDataset(TUDataset):
        # DGL reads raw_path/NAME/NAME_*.txt and caches in raw_dir.
        def __init__(self, tu_name, tu_dir, cache_root):
            self._tu_dir = tu_dir
            super().__init__(tu_name, raw_dir=cache_root)

        @property
        def raw_path(self):
            return self._tu_dir

    cache_root = cache / "tu" / _path_key(source)
    cache_root.mkdir(parents=True, exist_ok=True)
    with _quiet_stdout("TUDataset"):
        tu = OfflineTUDataset(name, str(source.parent), str(cache_root))
    if tu.num_labels is None:
        raise NotImplementedError(
            f"{name} has graph attributes instead of graph labels; only "
            "classification sets are supported"
        )
    raw_graphs = tu.graph_lists

    # Gather all graphs into global arrays, then work on those.
    num_nodes = np.array([g.num_nodes() for g in raw_graphs])
    offsets = np.cumsum(num_nodes) - num_nodes
    src, dst = [], []
    for g, offset in zip(raw_graphs, offsets):
        s, d = g.edges()
        src.append(s.numpy() + offset)
        dst.append(d.numpy() + offset)
    src, dst, edge_counts = _simple_edges(
        np.concatenate(src), np.concatenate(dst), num_nodes
    )

    parts = []
    ndata = raw_graphs[0].ndata
    if "node_labels" in ndata:
        node_labels = torch.cat([g.ndata["node_labels"] for g in raw_graphs])
        parts.append(_onehot_values(node_labels))
    if "node_attr" in ndata:
        attrs = torch.cat([g.ndata["node_attr"] for g in raw_graphs])
        attrs = attrs.reshape(len(attrs), -1).to(torch.float32)
        # Standardised over all nodes: raw TU attributes can span hundreds
        # of units beside 0/1 label columns and stall the optimiser.
        std = attrs.std(0, keepdim=True)
        attrs = (attrs - attrs.mean(0, keepdim=True)) / torch.where(
            std > 0, std, torch.ones_like(std)
        )
        parts.append(attrs)
    if not parts:
        parts.append(_onehot_degree(src, int(num_nodes.sum())))
    feat = torch.cat(parts, dim=1)

    graphs = _build_graphs(src, dst, edge_counts, num_nodes, feat)
    labels = _dense_ids(tu.graph_labels)
    return _multiclass_dataset(name, graphs, labels, split_seed, feat_encoding)


def _load_minigc(cache, split_seed, feat_encoding):
    from dgl.data import MiniGCDataset

    # MiniGCDataset seeds numpy's global generator; leave it as it was.
    state = np.random.get_state()
    try:
        with _quiet_stdout("MiniGCDataset"):
            mini = MiniGCDataset(
                data.MINIGC_NUM_GRAPHS,
                data.MINIGC_MIN_NODES,
                data.MINIGC_MAX_NODES,
                seed=data.MINIGC_SEED,
                save_graph=False,
            )
    finally:
        np.random.set_state(state)

    num_nodes = np.array([g.num_nodes() for g in mini.graphs])
    offsets = np.cumsum(num_nodes) - num_nodes
    edges = [g.edges() for g in mini.graphs]
    src = np.concatenate([s.numpy() + o for (s, _), o in zip(edges, offsets)])
    dst = np.concatenate([d.numpy() + o for (_, d), o in zip(edges, offsets)])
    src, dst, edge_counts = _simple_edges(src, dst, num_nodes)
    feat = _onehot_degree(src, int(num_nodes.sum()))

    graphs = _build_graphs(src, dst, edge_counts, num_nodes, feat)
    labels = torch.as_tensor(mini.labels, dtype=torch.int64).reshape(-1)
    return _multiclass_dataset(
        "minigc", graphs, labels, split_seed, feat_encoding
    )


def _load_ogb(name, source, cache, feat_encoding):
    from ogb.graphproppred import DglGraphPropPredDataset, Evaluator
    from ogb.utils.features import get_atom_feature_dims

    # ogb writes processed/ next to raw/: give it a folder of links.
    work_root = cache / "ogb" / _path_key(source)
    linked = work_root / source.name
    linked.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name == "processed":
            continue
        link = linked / entry.name
        if link.is_symlink() and os.readlink(link) != str(entry.resolve()):
            link.unlink()
        if not os.path.lexists(link):
            link.symlink_to(entry.resolve())
    release = linked / f"RELEASE_v{_ogb_master()[name]['version']}.txt"
    if not release.exists():
        # Without it ogb asks on stdin whether to re-download.
        warnings.warn(
            f"{source} has no {release.name}; assuming the files are the "
            "current OGB release",
            stacklevel=3,
        )
        release.write_text("written by dgl_doscond: release note missing\n")

    with _quiet_stdout("DglGraphPropPredDataset"):
        ogb_set = DglGraphPropPredDataset(name=name, root=str(work_root))
        split = ogb_set.get_idx_split()
    graphs = ogb_set.graphs

    # Encode all atoms at once, then hand each graph its rows.
    codes = torch.cat([g.ndata.pop("feat") for g in graphs])  # (N_all, 9)
    if feat_encoding == "raw":
        feat = codes.to(torch.float32)
    else:
        dims = torch.tensor(get_atom_feature_dims())
        if (codes >= dims).any() or (codes < 0).any():
            raise ValueError(
                f"{name} has atom codes outside ogb's atom feature dims "
                f"{dims.tolist()}; the raw files do not match ogb "
                f"{_ogb_version()}"
            )
        columns = codes + (torch.cumsum(dims, 0) - dims)
        feat = torch.zeros(len(codes), int(dims.sum()))
        feat.scatter_(1, columns, 1.0)
    sizes = [g.num_nodes() for g in graphs]
    for g, rows in zip(graphs, torch.split(feat, sizes)):
        g.ndata["feat"] = rows
        for key in list(g.edata.keys()):
            del g.edata[key]

    labels = ogb_set.labels.to(torch.float32)
    return data.GraphDataset(
        name=name,
        graphs=graphs,
        labels=labels.reshape(len(graphs), -1),
        num_classes=2,
        num_tasks=int(ogb_set.num_tasks),
        task="binary",
        metric=Evaluator(name).eval_metric,
        split={k: v.to(torch.int64) for k, v in split.items()},
        split_seed=None,
        feat_encoding=feat_encoding,
    )


# -- graph and feature helpers ------------------------------------------


# -- a user's file of dgl.save_graphs -----------------------------------

SPLIT_KEYS = ("train_idx", "valid_idx", "test_idx")


def _load_graph_file(path, split_seed):
    """A dataset from a file written by ``dgl.save_graphs``.

    The file holds the graphs, each with float node features
    ``ndata["feat"]``, and a tensor dict with ``"label"`` (what
    :meth:`~dgl_doscond.data.GraphDataset.from_graphs` takes) and,
    optionally, all three of ``"train_idx"``, ``"valid_idx"`` and
    ``"test_idx"`` (int64 graph indices; a stratified seeded split
    otherwise). The graphs are rebuilt symmetric and simple, without
    self-loops, with their ``"feat"``; the dataset is named after the
    file's stem.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"Graph file '{path}' does not exist. Pass a dataset name, or "
            "a file written by dgl.save_graphs(path, graphs, "
            "{'label': labels})."
        )
    try:
        graphs, tensors = dgl.load_graphs(str(path))
    except dgl.DGLError as err:  # its first line; then a C++ backtrace
        reason = str(err).strip().splitlines()[0]
        raise ValueError(
            f"'{path}' is not a DGL graph file ({reason}); write it with "
            "dgl.save_graphs(path, graphs, {'label': labels})."
        ) from None
    if "label" not in tensors:
        found = ", ".join(sorted(tensors)) or "none"
        raise ValueError(
            f"'{path}' holds no 'label' tensor (tensors found: {found}); "
            "save the graph labels with dgl.save_graphs(path, graphs, "
            "{'label': labels})."
        )
    given = [key for key in SPLIT_KEYS if key in tensors]
    if given and len(given) < len(SPLIT_KEYS):
        missing = ", ".join(k for k in SPLIT_KEYS if k not in tensors)
        raise ValueError(
            f"'{path}' has a split without {missing}; save all of "
            f"{', '.join(SPLIT_KEYS)}, or none for a stratified split."
        )
    split = {k.removesuffix("_idx"): tensors[k] for k in given} or None
    return data.GraphDataset.from_graphs(
        [_simple_graph(g) for g in graphs],
        tensors["label"],
        name=path.stem,
        split=split,
        split_seed=split_seed,
    )


def _simple_graph(graph):
    """``graph`` symmetric and simple, without self-loops; its node data
    kept."""
    src, dst = graph.edges()
    keep = src != dst
    src, dst = src[keep], dst[keep]
    num_nodes = graph.num_nodes()
    keys = torch.unique(
        torch.cat([src * num_nodes + dst, dst * num_nodes + src])
    )
    simple = dgl.graph(
        (keys // num_nodes, keys % num_nodes), num_nodes=num_nodes
    )
    simple.ndata.update(graph.ndata)
    return simple


def _multiclass_dataset(name, graphs, labels, split_seed, feat_encoding):
    return data.GraphDataset(
        name=name,
        graphs=graphs,
        labels=labels,
        num_classes=int(labels.max()) + 1,
        num_tasks=1,
        task="multiclass",
        metric="accuracy",
        split=data.stratified_split(labels, split_seed),
        split_seed=int(split_seed),
        feat_encoding=feat_encoding,
    )


def _simple_edges(src, dst, num_nodes):
    """Symmetric, simple edges without self-loops, grouped by graph.

    Parameters
    ----------
    src, dst : numpy.ndarray
        int64 of shape (E,), global node ids of all graphs together.
    num_nodes : numpy.ndarray
        int64 of shape (G,), nodes per graph, in id order.

    Returns
    -------
    src, dst : numpy.ndarray
        int64 of shape (E',), sorted by (src, dst).
    edge_counts : numpy.ndarray
        int64 of shape (G,), edges of each graph.
    """
    total = int(num_nodes.sum())
    both_src = np.concatenate([src, dst]).astype(np.int64)
    both_dst = np.concatenate([dst, src]).astype(np.int64)
    keep = both_src != both_dst
    keys = np.unique(both_src[keep] * total + both_dst[keep])
    src, dst = keys // total, keys % total
    graph_of_node = np.repeat(np.arange(len(num_nodes)), num_nodes)
    edge_counts = np.bincount(graph_of_node[src], minlength=len(num_nodes))
    return src, dst, edge_counts


def _build_graphs(src, dst, edge_counts, num_nodes, feat):
    """Cut global edge arrays and features (N_all, D) into G graphs."""
    offsets = np.cumsum(num_nodes) - num_nodes
    src = torch.from_numpy(src - np.repeat(offsets, edge_counts))
    dst = torch.from_numpy(dst - np.repeat(offsets, edge_counts))
    counts = edge_counts.tolist()
    graphs = []
    for s, d, n, rows in zip(
        torch.split(src, counts),
        torch.split(dst, counts),
        num_nodes.tolist(),
        torch.split(feat, num_nodes.tolist()),
    ):
        g = dgl.graph((s, d), num_nodes=n)
        g.ndata["feat"] = rows
        graphs.append(g)
    return graphs


def _dense_ids(values):
    """Map the K distinct values (or rows) of ``values`` to int64 0..K-1."""
    if values.dim() > 1 and values.shape[1] > 1:
        _, index = torch.unique(values, dim=0, return_inverse=True)
    else:
        _, index = torch.unique(values.reshape(-1), return_inverse=True)
    return index.to(torch.int64)


def _onehot_values(values):
    """One-hot (N, K) float32 of the K distinct values (or rows)."""
    return torch.nn.functional.one_hot(_dense_ids(values)).to(torch.float32)


def _onehot_degree(src, total):
    """One-hot (N_all, max_degree + 1) float32 of each node's degree."""
    degree = torch.from_numpy(np.bincount(src, minlength=total))
    return torch.nn.functional.one_hot(degree).to(torch.float32)
