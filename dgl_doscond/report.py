"""Cross-architecture evaluation: condensed sets against backbones.

A set condensed with one backbone is trained on with others; the matrix of
test scores shows how much of a set's value is tied to the backbone it was
matched with. Rows are condensed-set files (labelled by their method and
gpc), columns the evaluation backbones.
"""

import dataclasses
import logging
import os

from .evaluate import evaluate
from .io import check_compatible, load_condensed

__all__ = ["cross_architecture", "to_markdown"]

logger = logging.getLogger(__name__)


def cross_architecture(
    dataset, config, paths, backbones, runs=None, seed=0, device="cpu"
):
    """Evaluate every condensed set with every backbone.

    Parameters
    ----------
    dataset : dgl_doscond.data.GraphDataset
        The dataset the sets were made from (checked against each
        manifest).
    config : dgl_doscond.config.Config
        Evaluation protocol; its ``model.backbone`` is replaced per column.
    paths : list of str
        Condensed-set ``.bin`` files.
    backbones : list of str
        Backbone names, e.g. ``["gcn", "gin", "sage", "mlp"]``.
    runs : int, optional
        Evaluation runs per cell (``config.evaluate.runs`` by default).
    seed : int
    device : str

    Returns
    -------
    dict
        ``{"dataset", "metric", "backbones", "rows": [{"set", "method",
        "gpc", "matched_with", "scores": {backbone: result dict}}]}``.
    """
    if not paths:
        raise ValueError("cross_architecture() needs at least one set.")
    rows = []
    for path in paths:
        graphs, labels, manifest = load_condensed(path)
        check_compatible(manifest, dataset)
        row = {
            "set": os.path.basename(path),
            "method": manifest.get("method"),
            "gpc": manifest.get("gpc"),
            "matched_with": (manifest.get("config") or {})
            .get("model", {})
            .get("backbone"),
            "scores": {},
        }
        for backbone in backbones:
            cfg = dataclasses.replace(
                config,
                model=dataclasses.replace(config.model, backbone=backbone),
            )
            result = evaluate(
                dataset,
                cfg,
                train_graphs=graphs,
                train_labels=labels,
                train_name=path,
                runs=runs,
                seed=seed,
                device=device,
            )
            row["scores"][backbone] = result.to_dict()
            logger.info("%s with %s: %s", path, backbone, result.summary())
        rows.append(row)
    return {
        "dataset": dataset.name,
        "metric": dataset.metric,
        "backbones": list(backbones),
        "rows": rows,
    }


def to_markdown(matrix):
    """The matrix as a Markdown table: mean ± std (runs) per cell."""
    digits = 2 if matrix["metric"] == "accuracy" else 3
    header = ["set", "method", "gpc", "matched with", *matrix["backbones"]]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in matrix["rows"]:
        cells = [
            row["set"],
            str(row["method"]),
            str(row["gpc"]),
            str(row["matched_with"]),
        ]
        for backbone in matrix["backbones"]:
            r = row["scores"][backbone]
            cells.append(
                f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f} ({r['runs']})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{matrix['dataset']}, {matrix['metric']}; rows: condensed sets, "
        "columns: the backbone trained on them."
    )
    return "\n".join(lines)
