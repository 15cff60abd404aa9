"""Saving and loading condensed sets.

A condensed set is two files side by side:

- ``PATH.bin``: written by ``dgl.save_graphs``, so that plain DGL reads it:
  ``graphs, {"label": labels} = dgl.load_graphs(PATH)``. Graphs are simple,
  symmetric, without self-loops, with float node features in
  ``ndata["feat"]``.
- ``PATH.json``: the manifest (dataset, split, config, seed, method, sizes,
  versions, timing, evaluation, the SHA-256 of the ``.bin`` and that of
  its content, which, unlike the file's, is the same for the same seed).

Both are written atomically: to temporary files in the same folder, then
renamed, so that a run killed at any moment leaves the old set or the new
one, never a partial file. The two renames are not one step: a kill right
between them leaves the new ``.bin`` beside the old manifest, with the new
manifest complete under its temporary name (``.NAME.json.*.json``);
:func:`load_condensed` finds it there.
"""

import datetime
import glob
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
    "content_sha256",
    "load_checkpoint",
    "load_condensed",
    "manifest_path",
    "package_versions",
    "save_checkpoint",
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


def _temp_beside(path, suffix):
    """An empty temporary file next to ``path``, hidden (leading dot)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=folder
    )
    os.close(fd)
    # mkstemp makes the file 0600; give it the mode open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def _fsync(path):
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _remove(*paths):
    for path in paths:
        if path and os.path.exists(path):
            os.remove(path)


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
    tmp = _temp_beside(path, suffix)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(graphs, labels):
    """SHA-256 of what a set holds: structure, features and labels.

    ``dgl.save_graphs`` writes memory addresses into its header, so two
    saves of the same graphs differ in bytes; this digest does not.
    """
    digest = hashlib.sha256()
    for graph in graphs:
        src, dst = graph.edges()
        digest.update(str(graph.num_nodes()).encode())
        for tensor in (src, dst, graph.ndata["feat"]):
            digest.update(tensor.detach().cpu().contiguous().numpy())
    digest.update(torch.as_tensor(labels).cpu().contiguous().numpy())
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
    num_nodes = [g.num_nodes() for g in graphs]
    manifest = dict(manifest)
    manifest.update(
        format_version=FORMAT_VERSION,
        num_graphs=len(graphs),
        num_nodes=sum(num_nodes),
        nodes_per_graph=max(num_nodes) if num_nodes else 0,
        num_edges=sum(g.num_edges() for g in graphs) // 2,
        feat_dim=int(graphs[0].ndata["feat"].shape[1]) if graphs else 0,
        content_sha256=content_sha256(graphs, labels),
        versions=package_versions(),
        created=datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
    )

    # Both files complete under temporary names first, then two renames.
    tmp_bin, tmp_meta, moved = _temp_beside(path, ".bin"), None, False
    try:
        dgl.save_graphs(tmp_bin, list(graphs), {"label": labels})
        _fsync(tmp_bin)
        manifest["sha256"] = _sha256(tmp_bin)
        tmp_meta = _temp_beside(meta, ".json")
        with open(tmp_meta, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)
            handle.write("\n")
        _fsync(tmp_meta)
        os.replace(tmp_bin, path)
        moved = True
        os.replace(tmp_meta, meta)
    finally:
        if moved and os.path.exists(tmp_meta):
            os.replace(tmp_meta, meta)  # never leave the pair half-renamed
        _remove(tmp_bin, tmp_meta)
    logger.info("wrote %s and %s", path, meta)
    return manifest


def _pending_manifest(meta, digest):
    """The manifest of an interrupted save whose ``.bin`` is ``digest``."""
    folder, name = os.path.split(os.path.abspath(meta))
    pattern = os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.json")
    for candidate in sorted(glob.glob(pattern)):
        try:
            with open(candidate, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("sha256") == digest:
            logger.warning(
                "%s is stale (a save was killed between its two renames); "
                "using the complete manifest %s",
                meta,
                candidate,
            )
            return manifest
    return None


def _read_manifest(path, meta):
    """The manifest of ``path``: from ``meta``, else from an interrupted
    save; raises the error about ``meta`` when neither fits."""
    digest = _sha256(path)
    error, manifest = None, None
    if not os.path.isfile(meta):
        error = (
            f"The manifest '{meta}' of '{path}' is missing; a condensed set "
            "is the .bin file and the .json beside it."
        )
    else:
        try:
            with open(meta, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError) as err:
            error = f"The manifest '{meta}' is not valid JSON ({err})."
    if error is None and (
        not isinstance(manifest, dict) or "sha256" not in manifest
    ):
        error = f"'{meta}' is not a dgl-doscond manifest (no 'sha256' key)."
    if error is None and manifest["sha256"] != digest:
        error = (
            f"'{path}' does not match its manifest (SHA-256 differs): the "
            "file is truncated or was replaced. Condense it again."
        )
    if error is None:
        return manifest
    pending = _pending_manifest(meta, digest)
    if pending is None:
        raise CondensedSetError(error)
    return pending


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
    manifest = _read_manifest(path, meta)
    try:
        graphs, extra = dgl.load_graphs(path)
    except Exception:  # DGL raises its own error types, with C++ traces
        raise CondensedSetError(
            f"'{path}' is not a DGL graph file: dgl.load_graphs cannot read "
            "it. Pass a .bin written by `dgl-doscond condense`."
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
            made = manifest.get("split_method")
            current = getattr(dataset, "split_method", None)
            if key == "split_hash" and made not in (None, current):
                raise CondensedSetError(
                    f"The condensed set was made on the {made} split (seed "
                    f"{manifest.get('split_seed')}), but this evaluation "
                    f"uses the {current} split; pass --split "
                    f"{made} (and the same --split-seed)."
                )
            raise CondensedSetError(
                f"The condensed set was made with {key}="
                f"{manifest.get(key)!r}, but this evaluation uses {key}="
                f"{value!r}. Evaluate it on the dataset and split it was "
                "made from (see its manifest), or condense again."
            )


def save_checkpoint(path, state):
    """Write a condensation checkpoint (``torch.save``) atomically.

    Parameters
    ----------
    path : str
        Checkpoint file; its folder must exist.
    state : dict
        Tensors and plain values; ``state["identity"]`` is the mapping
        that :func:`load_checkpoint` compares.
    """
    atomic_write(path, lambda tmp: torch.save(state, tmp), suffix=".ckpt")


def load_checkpoint(path, identity, map_location="cpu"):
    """Read a checkpoint and check that it belongs to this run.

    Parameters
    ----------
    path : str
    identity : dict
        Flat mapping of the settings the run must share with the
        checkpoint (dataset, seed, configuration).
    map_location : str or torch.device

    Returns
    -------
    dict
        The state given to :func:`save_checkpoint`.

    Raises
    ------
    ValueError
        When the file cannot be read or a setting differs (naming it).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types on a bad file
        raise ValueError(
            f"Checkpoint '{path}' cannot be read ({type(err).__name__}); "
            "delete it to start from scratch."
        ) from None
    made = state.get("identity") if isinstance(state, dict) else None
    if not isinstance(made, dict):
        raise ValueError(
            f"'{path}' is not a dgl-doscond checkpoint; delete it to start "
            "from scratch."
        )
    for key, value in identity.items():
        if made.get(key) != value:
            raise ValueError(
                f"Checkpoint '{path}' was made with {key}={made.get(key)!r}, "
                f"but this run has {key}={value!r}. Resume with the options "
                "it was made with, or delete it to start again."
            )
    return state
