"""Saving and loading condensed sets.

A condensed set is two files side by side:

- ``PATH.bin``: written by ``dgl.save_graphs``, so that plain DGL reads it:
  ``graphs, {"label": labels} = dgl.load_graphs(PATH)``. Graphs are simple,
  symmetric, without self-loops, with float node features in
  ``ndata["feat"]``.
- ``PATH.json``: the manifest (dataset, split, config, seed, method, sizes,
  versions, timing, evaluation, and the SHA-256 of the ``.bin``).

Both are written atomically: to a temporary file in the same folder, then
renamed, so that a run killed at any moment leaves the old file or the new
one, never a partial one.
"""

import datetime
import hashlib
import json
import logging
import os
import platform
import tempfile

import dgl
import torch

__all__ = [
    "CondensedSetError",
    "atomic_write",
    "check_compatible",
    "check_output_path",
    "load_condensed",
    "manifest_path",
    "package_versions",
    "save_condensed",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


class CondensedSetError(ValueError):
    """A condensed-set file that is missing, damaged or does not fit."""


def manifest_path(path):
    """The manifest beside ``path``: ``.bin`` replaced by ``.json``."""
    root, ext = os.path.splitext(os.fspath(path))
    return root + ".json" if ext == ".bin" else os.fspath(path) + ".json"


def package_versions():
    """Versions of the packages that shape a result."""
    import numpy

    from . import __version__

    versions = {
        "dgl_doscond": __version__,
        "dgl": dgl.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
    try:
        import ogb

        versions["ogb"] = ogb.__version__
    except ImportError:  # pragma: no cover - ogb is a dependency
        pass
    return versions


def atomic_write(path, write, suffix=""):
    """Write ``path`` through ``write(tmp_path)`` and an atomic rename.

    Parameters
    ----------
    path : str
        Final path; its folder must exist.
    write : callable
        Called with a temporary path in the same folder.
    suffix : str
        Suffix of the temporary name (some writers look at it).
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=folder
    )
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output_path(path, force=False):
    """Refuse an output path before any work is done.

    Raises
    ------
    CondensedSetError
        When ``path`` does not end in ``.bin``, its folder does not exist,
        or it (or its manifest) exists and ``force`` is false.
    """
    path = os.fspath(path)
    if not path.endswith(".bin"):
        raise CondensedSetError(
            f"The output path must end in '.bin', got '{path}'."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CondensedSetError(
            f"The output folder '{folder}' does not exist; create it first."
        )
    if not force:
        for existing in (path, manifest_path(path)):
            if os.path.exists(existing):
                raise CondensedSetError(
                    f"'{existing}' exists already; pass --force to replace "
                    "it, or choose another --out."
                )


def save_condensed(path, graphs, labels, manifest, force=False):
    """Write a condensed set and its manifest.

    Parameters
    ----------
    path : str
        Output path ending in ``.bin``; its folder must exist.
    graphs : list of dgl.DGLGraph
        The graphs, with ``ndata["feat"]``.
    labels : torch.Tensor
        :math:`(G,)` int64 classes or :math:`(G, T)` float binary labels.
    manifest : dict
        Everything to record; sizes, versions, date and the file's hash
        are added here.
    force : bool
        Replace existing files. Without it an existing output is refused.

    Returns
    -------
    dict
        The manifest as written.
    """
    path = os.fspath(path)
    check_output_path(path, force=force)
    meta = manifest_path(path)

    labels = torch.as_tensor(labels)
    atomic_write(
        path,
        lambda tmp: dgl.save_graphs(tmp, list(graphs), {"label": labels}),
        suffix=".bin",
    )
    num_nodes = [g.num_nodes() for g in graphs]
    manifest = dict(manifest)
    manifest.update(
        format_version=FORMAT_VERSION,
        num_graphs=len(graphs),
        num_nodes=sum(num_nodes),
        nodes_per_graph=max(num_nodes) if num_nodes else 0,
        num_edges=sum(g.num_edges() for g in graphs) // 2,
        feat_dim=int(graphs[0].ndata["feat"].shape[1]) if graphs else 0,
        versions=package_versions(),
        created=datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        sha256=_sha256(path),
    )

    def write_json(tmp):
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
            handle.write("\n")

    atomic_write(meta, write_json, suffix=".json")
    logger.info("wrote %s and %s", path, meta)
    return manifest


def load_condensed(path):
    """Read a condensed set written by :func:`save_condensed`.

    Parameters
    ----------
    path : str
        The ``.bin`` file.

    Returns
    -------
    (list of dgl.DGLGraph, torch.Tensor, dict)
        Graphs, labels and the manifest.

    Raises
    ------
    CondensedSetError
        When a file is missing, damaged, or the two do not belong together.
    """
    path = os.fspath(path)
    meta = manifest_path(path)
    if not os.path.isfile(path):
        raise CondensedSetError(
            f"Condensed set '{path}' does not exist; make one with "
            "`dgl-doscond condense --out PATH.bin`."
        )
    if not os.path.isfile(meta):
        raise CondensedSetError(
            f"The manifest '{meta}' of '{path}' is missing; a condensed set "
            "is the .bin file and the .json beside it."
        )
    try:
        with open(meta, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as err:
        raise CondensedSetError(
            f"The manifest '{meta}' is not valid JSON ({err})."
        ) from None
    if not isinstance(manifest, dict) or "sha256" not in manifest:
        raise CondensedSetError(
            f"'{meta}' is not a dgl-doscond manifest (no 'sha256' key)."
        )
    if _sha256(path) != manifest["sha256"]:
        raise CondensedSetError(
            f"'{path}' does not match its manifest (SHA-256 differs): the "
            "file is truncated or was replaced. Condense it again."
        )
    try:
        graphs, extra = dgl.load_graphs(path)
    except Exception as err:  # DGL raises its own error types
        raise CondensedSetError(
            f"'{path}' is not a DGL graph file ({err})."
        ) from None
    if "label" not in extra:
        raise CondensedSetError(f"'{path}' holds no 'label' tensor.")
    return graphs, extra["label"], manifest


def check_compatible(manifest, dataset):
    """Refuse a condensed set made from another dataset or split.

    Raises
    ------
    CondensedSetError
        Naming the field that differs and both values.
    """
    wanted = {
        "dataset": dataset.name,
        "split_hash": dataset.split_hash,
        "feat_encoding": dataset.feat_encoding,
    }
    for key, value in wanted.items():
        if manifest.get(key) != value:
            raise CondensedSetError(
                f"The condensed set was made with {key}="
                f"{manifest.get(key)!r}, but this evaluation uses {key}="
                f"{value!r}. Evaluate it on the dataset and split it was "
                "made from (see its manifest), or condense again."
            )
