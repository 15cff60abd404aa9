"""The matching loss: task losses, gradient distances and regularisers.

A gradient is a list of tensors, one per parameter of the backbone, in the
order of ``model.parameters()``. Letters: G synthetic graphs, N nodes per
synthetic graph, D node features, O outputs.
"""

import math

import torch
import torch.nn.functional as F
from dgl.nn import GraphConv

from .backbones import gcn_norm_dense

__all__ = [
    "DISTANCES",
    "bound_regularizer",
    "gradient_distance",
    "output_axes",
    "task_loss",
]


def task_loss(logits, labels, task):
    """Loss of a batch of graphs.

    Parameters
    ----------
    logits : torch.Tensor
        :math:`(B, O)` model outputs.
    labels : torch.Tensor
        ``"multiclass"``: :math:`(B,)` int64 classes. ``"binary"``:
        :math:`(B, O)` float targets in {0, 1}, NaN where missing.
    task : str
        ``"multiclass"`` (cross-entropy) or ``"binary"`` (binary
        cross-entropy with logits over the labelled entries).

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if task == "multiclass":
        return F.cross_entropy(logits, labels)
    if task == "binary":
        labels = labels.reshape(logits.shape)
        mask = ~torch.isnan(labels)
        return F.binary_cross_entropy_with_logits(logits[mask], labels[mask])
    raise ValueError(f"task must be 'multiclass' or 'binary', got {task!r}.")


def output_axes(model):
    """Axis of the output units of every parameter of ``model``.

    PyTorch stores a linear weight as (out, in); DGL's ``GraphConv`` stores
    it as (in, out). The per-row distance compares output units, so it
    needs to know which axis holds them.

    Returns
    -------
    list of int
        One entry per parameter, in the order of ``model.parameters()``.
    """
    transposed = set()
    for module in model.modules():
        if isinstance(module, GraphConv) and module.weight is not None:
            transposed.add(id(module.weight))
    return [1 if id(p) in transposed else 0 for p in model.parameters()]


def _mse(grads_syn, grads_real, axes):
    flat_syn = torch.cat([g.reshape(-1) for g in grads_syn])
    flat_real = torch.cat([g.reshape(-1) for g in grads_real])
    return (flat_syn - flat_real).pow(2).sum() / flat_real.pow(2).sum().clamp(
        min=1e-12
    )


def _cosine(grads_syn, grads_real, axes):
    flat_syn = torch.cat([g.reshape(-1) for g in grads_syn])
    flat_real = torch.cat([g.reshape(-1) for g in grads_real])
    return 1 - F.cosine_similarity(flat_syn, flat_real, dim=0, eps=1e-12)


def _per_row(grads_syn, grads_real, axes):
    total = grads_syn[0].new_zeros(())
    for g_syn, g_real, axis in zip(grads_syn, grads_real, axes):
        if g_syn.dim() < 2:
            continue  # biases contribute nothing (Dataset Condensation)
        rows_syn = g_syn.movedim(axis, 0).reshape(g_syn.shape[axis], -1)
        rows_real = g_real.movedim(axis, 0).reshape(g_real.shape[axis], -1)
        cos = F.cosine_similarity(rows_syn, rows_real, dim=1, eps=1e-12)
        total = total + (1 - cos).sum()
    return total


DISTANCES = {"mse": _mse, "ours": _per_row, "cosine": _cosine}


def gradient_distance(grads_syn, grads_real, name="mse", axes=None):
    r"""Distance between two gradients of the same model.

    Parameters
    ----------
    grads_syn, grads_real : list of torch.Tensor
        One tensor per parameter.
    name : str
        ``"mse"``: :math:`\|g_s - g_r\|^2 / \|g_r\|^2` over all parameters
        flattened into one vector. ``"ours"``: Dataset Condensation's
        distance, the sum over the output units of every weight matrix of
        :math:`1 - \cos` between the two rows (biases ignored).
        ``"cosine"``: :math:`1 - \cos` of the flattened vectors.
    axes : list of int, optional
        Output axis of each parameter (:func:`output_axes`); 0 for all
        when not given. Only ``"ours"`` uses it.

    Returns
    -------
    torch.Tensor
        Scalar distance.
    """
    if name not in DISTANCES:
        valid = ", ".join(DISTANCES)
        raise ValueError(f"Unknown distance {name!r}. Valid: {valid}.")
    if axes is None:
        axes = [0] * len(grads_syn)
    return DISTANCES[name](grads_syn, grads_real, axes)


def bound_regularizer(adj, feat, num_classes):
    r"""The sum-pooling bound term of DosCond for one class.

    :math:`\frac{1}{\sqrt 2}\cdot\frac{3/2}{\sqrt{100}}\cdot
    \frac{C-1}{C}\cdot\frac{1}{G}\,\|\sum_{\text{nodes}} \hat A^3 X\|_F`.

    Parameters
    ----------
    adj : torch.Tensor
        :math:`(G, N, N)` sampled adjacency of the class's graphs.
    feat : torch.Tensor
        :math:`(G, N, D)` their node features.
    num_classes : int
        C.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    adj_norm = gcn_norm_dense(adj)
    propagated = feat
    for _ in range(3):
        propagated = torch.matmul(adj_norm, propagated)  # (G, N, D)
    norm = propagated.sum(1).norm()  # Frobenius norm of (G, D)
    num_graphs = adj.shape[0]
    scale = (
        (1 / math.sqrt(2))
        * 1.5
        / math.sqrt(100)
        * (num_classes - 1)
        / num_classes
        / num_graphs
    )
    return scale * norm
