"""Figures of condensed sets: curves, drawings, distributions and scores.

Figures are drawn on a :class:`matplotlib.figure.Figure` with an Agg canvas,
so this module never changes the user's matplotlib backend. Each PNG goes to
a temporary name in its (existing) folder, then is renamed into place.
Letters used in shapes: G graphs, T tasks.
"""

import logging
import math
import os

import numpy as np

from .io import atomic_write, load_condensed

__all__ = [
    "plot_condensed",
    "plot_curves",
    "plot_distributions",
    "plot_graphs",
    "plot_scores",
]

logger = logging.getLogger(__name__)

DPI = 100
LAYOUT_SEED = 0  # spring layout seed, so drawings are reproducible
COLOR_SYN, COLOR_REAL = "tab:orange", "tab:blue"
HIST_STYLE = {"density": True, "alpha": 0.55}
NODE_STYLE = {"cmap": "tab10", "vmin": 0, "vmax": 9, "edgecolors": "black"}


# -- helpers ------------------------------------------------------------


def _check_png_path(path):
    """The output path as a str; its folder must exist."""
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"The figure path must end in '.png', got '{path}'.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(
            f"The output folder '{folder}' does not exist; create it first."
        )
    return path


def _figure(rows, cols, width, height):
    """A figure of rows x cols panels of width x height inches each."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cols * width, rows * height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _save(fig, path):
    """Render ``fig`` on an Agg canvas into ``path``, atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI), ".png"
    )
    logger.info("wrote %s", path)
    return path


def _check_graphs(graphs, what):
    """``graphs`` as a non-empty list of DGL graphs."""
    graphs = list(graphs)
    if not graphs:
        raise ValueError(f"{what} is empty; pass at least one DGL graph.")
    for i, graph in enumerate(graphs):
        if not hasattr(graph, "num_nodes") or not hasattr(graph, "edges"):
            raise ValueError(
                f"{what}[{i}] is a {type(graph).__name__}, not a DGL graph."
            )
    return graphs


def _classes(labels, num_graphs, what):
    """Class per graph, int64 (G,): the label, or the first column of
    (G, T) binary labels with -1 where it is NaN."""
    values = np.asarray(
        labels.detach().cpu() if hasattr(labels, "detach") else labels
    )
    if values.shape[:1] != (num_graphs,) or values.ndim not in (1, 2):
        raise ValueError(
            f"{what} must be (G,) classes or (G, T) binary labels with "
            f"G={num_graphs}, got shape {values.shape}."
        )
    if values.ndim == 2:
        values = values[:, 0]
    values = values.astype(np.float64)
    known = ~np.isnan(values)
    if np.any(values[known] != np.round(values[known])):
        raise ValueError(f"{what} holds non-integer classes.")
    classes = np.full(num_graphs, -1, dtype=np.int64)
    classes[known] = values[known].astype(np.int64)
    return classes


def _undirected_edges(graph):
    """Edge pairs (u, v) with u < v, each once; int64 (E, 2)."""
    src, dst = (t.cpu().numpy() for t in graph.edges())
    pairs = np.stack([np.minimum(src, dst), np.maximum(src, dst)], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def _draw_graph(ax, graph, title):
    """A spring-layout drawing of ``graph``, isolated nodes included;
    nodes coloured by their strongest feature (the atom type of one-hot
    features)."""
    import networkx as nx
    from matplotlib.collections import LineCollection

    num_nodes = graph.num_nodes()
    edges = _undirected_edges(graph)
    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(range(num_nodes))
    nx_graph.add_edges_from(edges.tolist())
    layout = nx.spring_layout(nx_graph, seed=LAYOUT_SEED)
    pos = np.array([layout[i] for i in range(num_nodes)]).reshape(-1, 2)

    feat = graph.ndata.get("feat") if hasattr(graph, "ndata") else None
    colour = np.zeros(num_nodes)
    if feat is not None and feat.dim() == 2 and feat.shape[1] > 0:
        colour = feat.detach().cpu().argmax(dim=1).numpy() % 10
    size = max(6.0, 60.0 / math.sqrt(max(num_nodes, 1)))
    ax.add_collection(LineCollection(pos[edges], colors="0.5", zorder=0.5))
    ax.scatter(*pos.T, s=size, c=colour, linewidths=0.3, **NODE_STYLE)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"{num_nodes} nodes, {len(edges)} edges", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.1)


# -- public figures -----------------------------------------------------


def plot_curves(manifest, path):
    """Condensation curves of a condensed set, as subplots of one PNG.

    Panels: the loss and the matching distance (log scale when positive),
    the expected edge density, the sampling temperature and, when a point
    has ``"valid"``, the validation score, each against the iteration.

    Parameters
    ----------
    manifest : dict
        A manifest of :func:`dgl_doscond.io.load_condensed`; its
        ``"history"`` is a list of ``{iteration, loss, match, density,
        tau}`` points (``valid`` optional).
    path : str
        The PNG to write; its folder must exist.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    ValueError
        On a manifest without points, e.g. of a coreset method, which
        records no curve.
    """
    path = _check_png_path(path)
    if not isinstance(manifest, dict):
        kind = type(manifest).__name__
        raise ValueError(f"plot_curves() needs a manifest dict, got {kind}.")
    history = manifest.get("history")
    if not history:
        raise ValueError(
            f"The condensed set (method={manifest.get('method')!r}) records "
            "no condensation curve: it was made by a coreset method (random, "
            "herding, kcenter), which records none. Plot its graphs instead."
        )
    if not all(isinstance(p, dict) and "iteration" in p for p in history):
        raise ValueError(
            "Every point of manifest['history'] must be a dict with an "
            "'iteration' key; the manifest is not one of dgl-doscond."
        )

    def series(key):
        return np.array([float(p.get(key, np.nan)) for p in history])

    iterations = series("iteration")
    panels = [("matching loss", ["loss", "match"])]
    panels += [("edge density", ["density"]), ("temperature", ["tau"])]
    if any("valid" in p for p in history):
        panels.append(("validation score", ["valid"]))

    fig, axes = _figure(1, len(panels), 3.6, 3.0)
    for ax, (title, keys) in zip(axes[0], panels):
        values = []
        for key in keys:
            value = series(key)
            if np.isfinite(value).any():
                ax.plot(iterations, value, marker=".", label=key)
                values.append(value[np.isfinite(value)])
        if values and len(keys) > 1 and np.all(np.concatenate(values) > 0):
            ax.set_yscale("log")
        if len(values) > 1:
            ax.legend(fontsize=8)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"{manifest.get('dataset', '?')}, {manifest.get('method', '?')}, "
        f"{manifest.get('gpc', '?')} graphs per class"
    )
    return _save(fig, path)


def plot_graphs(graphs, labels, real_graphs, real_labels, path, per_class=2):
    """Synthetic graphs of each class beside real graphs of that class.

    One row per class of the synthetic set: ``per_class`` synthetic
    drawings, then ``per_class`` real ones (the first of that class).

    Parameters
    ----------
    graphs, real_graphs : list of dgl.DGLGraph
        Synthetic and real graphs; ``ndata["feat"]`` (optional) colours
        the nodes by their largest feature.
    labels, real_labels : torch.Tensor or numpy.ndarray
        :math:`(G,)` int classes or :math:`(G, T)` float binary labels
        (the first column is used; graphs where it is NaN are skipped).
    path : str
        The PNG to write; its folder must exist.
    per_class : int
        Drawings of each kind per class, at least 1.

    Returns
    -------
    str
        ``path``.
    """
    path = _check_png_path(path)
    if isinstance(per_class, bool) or not isinstance(per_class, int):
        raise ValueError(f"per_class must be an int, got {per_class!r}.")
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}.")
    graphs = _check_graphs(graphs, "graphs")
    real_graphs = _check_graphs(real_graphs, "real_graphs")
    classes_syn = _classes(labels, len(graphs), "labels")
    classes_real = _classes(real_labels, len(real_graphs), "real_labels")
    rows = sorted(set(classes_syn[classes_syn >= 0].tolist()))
    if not rows:
        raise ValueError("labels has no known class (all NaN).")

    fig, axes = _figure(len(rows), 2 * per_class, 2.2, 2.4)
    kinds = [("synthetic", graphs, classes_syn)]
    kinds.append(("real", real_graphs, classes_real))
    for row, c in zip(axes, rows):
        for j, (kind, members, classes) in enumerate(kinds):
            chosen = np.flatnonzero(classes == c)[:per_class]
            for k, ax in enumerate(row[j * per_class : (j + 1) * per_class]):
                if k < len(chosen):
                    _draw_graph(ax, members[chosen[k]], f"{kind}, class {c}")
                else:
                    ax.axis("off")
    return _save(fig, path)


def _number(value, what, low=-math.inf):
    """``value`` as a finite float >= ``low``, or a ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < low:
        bound = "" if low == -math.inf else f" >= {low}"
        raise ValueError(
            f"{what} must be a finite number{bound}, got {value!r}."
        )
    return number


def _bins(values):
    """Unit bins centred on integers for small ranges, else automatic."""
    low, high = int(values.min()), int(values.max())
    if high - low <= 60:
        return np.arange(low, high + 2) - 0.5
    return np.histogram_bin_edges(values, bins=40)


def plot_distributions(graphs, real_graphs, path):
    """Degree, node-count and edge-count histograms, synthetic against real.

    Histograms are normalised to densities, so that sets of different
    sizes compare; both sets share the bins of each panel. Edges are
    undirected: each pair of opposite edges counts once.

    Parameters
    ----------
    graphs, real_graphs : list of dgl.DGLGraph
        The synthetic and the real set.
    path : str
        The PNG to write; its folder must exist.

    Returns
    -------
    str
        ``path``.
    """
    path = _check_png_path(path)
    sets = {
        "synthetic": _check_graphs(graphs, "graphs"),
        "real": _check_graphs(real_graphs, "real_graphs"),
    }
    stats = {}
    for name, members in sets.items():
        edges = [_undirected_edges(g) for g in members]
        degree = [
            np.bincount(e.reshape(-1), minlength=g.num_nodes())
            for g, e in zip(members, edges)
        ]
        stats[name] = {
            "node degree": np.concatenate(degree),
            "nodes per graph": np.array([g.num_nodes() for g in members]),
            "edges per graph": np.array([len(e) for e in edges]),
        }

    fig, axes = _figure(1, 3, 3.6, 3.0)
    for ax, key in zip(axes[0], stats["real"]):
        bins = _bins(np.concatenate([stats[name][key] for name in sets]))
        for name, colour in (("real", COLOR_REAL), ("synthetic", COLOR_SYN)):
            label = f"{name} ({len(sets[name])} graphs)"
            ax.hist(
                stats[name][key], bins, color=colour, label=label, **HIST_STYLE
            )
        ax.set_title(key)
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_scores(rows, path, whole=None, ylabel="test score"):
    """Score against graphs per class, one curve with error bars a method.

    Parameters
    ----------
    rows : list of dict
        ``{"method", "gpc", "mean", "std"}`` per cell of a results table
        (``std`` may be None).
    path : str
        The PNG to write; its folder must exist.
    whole : float or (float, float), optional
        Score of training on the whole dataset (mean, or mean and std):
        a horizontal line (with a band of ± std).
    ylabel : str
        Label of the score axis, e.g. ``"accuracy (%)"``.

    Returns
    -------
    str
        ``path``.
    """
    path = _check_png_path(path)
    rows = list(rows)
    if not rows:
        raise ValueError("plot_scores() needs at least one row.")
    curves = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not {"method", "gpc", "mean"} <= {*row}:
            raise ValueError(
                f"rows[{i}] must be a dict with method, gpc, mean and std, "
                f"got {row!r}."
            )
        gpc = row["gpc"]
        if not isinstance(gpc, (int, np.integer)) or gpc < 1:
            raise ValueError(f"rows[{i}]['gpc'] must be an int >= 1: {gpc!r}")
        mean = _number(row["mean"], f"rows[{i}]['mean']")
        std = _number(row.get("std") or 0.0, f"rows[{i}]['std']", low=0)
        curves.setdefault(str(row["method"]), []).append((gpc, mean, std))
    if whole is not None:
        whole = (whole, 0.0) if np.isscalar(whole) else tuple(whole)
        if len(whole) != 2:
            raise ValueError(f"whole must be a mean or (mean, std): {whole}")
        whole_mean = _number(whole[0], "whole's mean")
        whole_std = _number(whole[1], "whole's std", low=0)

    fig, axes = _figure(1, 1, 5.0, 3.6)
    ax = axes[0, 0]
    for method, points in curves.items():
        gpcs, means, stds = zip(*sorted(points))
        ax.errorbar(gpcs, means, yerr=stds, marker="o", capsize=3, label=method)
    if whole is not None:
        ax.axhline(whole_mean, color="black", linestyle="--", label="whole")
        if whole_std > 0:
            band = (whole_mean - whole_std, whole_mean + whole_std)
            ax.axhspan(*band, color="black", alpha=0.08)
    ax.set_xscale("log")
    ticks = sorted({gpc for points in curves.values() for gpc, *_ in points})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("graphs per class")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def results_rows(results_dir, dataset):
    """Rows for :func:`plot_scores` from a folder of per-cell result JSONs.

    Each JSON (as written by ``examples/benchmark_table.py``) has
    ``dataset``, ``method``, ``gpc``, ``seed`` and ``evaluation.scores``.
    A row's mean is over all runs of all seeds; its std is that of the
    per-seed means.

    Returns
    -------
    list of dict
        ``{"method", "gpc", "mean", "std", "seeds"}``, sorted.
    """
    import json

    if not os.path.isdir(results_dir):
        raise ValueError(f"Results folder '{results_dir}' does not exist.")
    cells = {}
    for name in sorted(os.listdir(results_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(results_dir, name), encoding="utf-8") as fh:
            record = json.load(fh)
        if record.get("dataset") != dataset or not record.get("evaluation"):
            continue
        key = (record["method"], int(record["gpc"]))
        cells.setdefault(key, []).append(record["evaluation"]["scores"])
    rows = []
    for (method, gpc), per_seed in sorted(cells.items()):
        means = [float(np.mean(s)) for s in per_seed]
        rows.append(
            {
                "method": method,
                "gpc": gpc,
                "mean": float(np.mean(np.concatenate(per_seed))),
                "std": float(np.std(means)) if len(means) > 1 else None,
                "seeds": len(means),
            }
        )
    if not rows:
        raise ValueError(
            f"No result for dataset '{dataset}' in '{results_dir}'."
        )
    return rows


def plot_condensed(path_bin, dataset, out_dir, per_class=2):
    """All figures of a saved condensed set, into ``out_dir``.

    Writes ``curves.png`` (skipped, with a log message, for a coreset,
    which records no curve), ``graphs.png`` and ``distributions.png``;
    the real graphs are the training split of ``dataset``.

    Parameters
    ----------
    path_bin : str
        The ``.bin`` of :func:`dgl_doscond.io.save_condensed`.
    dataset : dgl_doscond.data.GraphDataset
        The dataset the set was condensed from.
    out_dir : str
        Existing folder of the figures; nothing is written elsewhere.
    per_class : int
        Drawings of each kind per class in ``graphs.png``.

    Returns
    -------
    list of str
        The paths written.

    Raises
    ------
    ValueError
        When ``out_dir`` does not exist, the set cannot be read
        (:class:`~dgl_doscond.io.CondensedSetError`), or it was made from
        another dataset.
    """
    out_dir = os.fspath(out_dir)
    if not os.path.isdir(out_dir):
        raise ValueError(
            f"The figure folder '{out_dir}' does not exist; create it first."
        )
    graphs, labels, manifest = load_condensed(path_bin)
    name = getattr(dataset, "name", None)
    if manifest.get("dataset") != name:
        raise ValueError(
            f"'{os.fspath(path_bin)}' was condensed from "
            f"{manifest.get('dataset')!r}, not {name!r}; pass the dataset "
            "it was made from (see its manifest)."
        )
    train = dataset.split["train"]
    real_graphs = [dataset.graphs[i] for i in train.tolist()]
    real_labels = dataset.labels[train]

    names = ("curves", "graphs", "distributions")
    paths = {name: os.path.join(out_dir, f"{name}.png") for name in names}
    written = []
    if manifest.get("history"):
        written.append(plot_curves(manifest, paths["curves"]))
    else:
        method = manifest.get("method")
        logger.info("no curves.png: method %r records no curve", method)
    real = (real_graphs, real_labels)
    written.append(
        plot_graphs(graphs, labels, *real, paths["graphs"], per_class)
    )
    written.append(
        plot_distributions(graphs, real_graphs, paths["distributions"])
    )
    return written
