r"""The learnable synthetic graph set and its Bernoulli structure model.

Letters: G synthetic graphs, N nodes per synthetic graph, D node features,
T tasks (binary labels).

Each synthetic graph has learnable node features :math:`X \in
\mathbb{R}^{N \times D}` and learnable edge logits :math:`\Omega \in
\mathbb{R}^{N \times N}`; edge :math:`(i, j)` exists with probability
:math:`\sigma(\bar\Omega_{ij})`, :math:`\bar\Omega = (\Omega +
\Omega^\top)/2`, and never on the diagonal. Training uses a
binary-concrete (Gumbel-sigmoid) sample drawn once per unordered pair; the
output is the discretisation :math:`\sigma(\bar\Omega) > 0.5`.
"""

import logging
import warnings

import dgl
import torch
from torch import nn

__all__ = ["SyntheticGraphSet", "temperature"]

logger = logging.getLogger(__name__)


def temperature(iteration, start=1.0, end=0.01, anneal=200):
    r"""Geometric annealing :math:`\tau_t = \tau_0 (\tau_1/\tau_0)^{t/T}`,
    constant at ``end`` once ``iteration >= anneal``."""
    frac = min(iteration, anneal) / anneal
    return start * (end / start) ** frac


def _off_diagonal(num_nodes, device):
    return 1 - torch.eye(num_nodes, device=device)


class SyntheticGraphSet(nn.Module):
    """G synthetic graphs with N nodes each, grouped by class.

    Parameters
    ----------
    feat : torch.Tensor
        :math:`(G, N, D)` initial node features.
    adj_logits : torch.Tensor
        :math:`(G, N, N)` initial edge logits.
    labels : torch.Tensor
        :math:`(G,)` int64 classes, or :math:`(G, T)` float binary labels.
    classes : torch.Tensor
        :math:`(G,)` int64 class of every graph, sorted ascending.
    """

    def __init__(self, feat, adj_logits, labels, classes):
        super().__init__()
        if feat.dim() != 3 or adj_logits.shape != feat.shape[:2] + (
            feat.shape[1],
        ):
            raise ValueError(
                "feat must be (G, N, D) and adj_logits (G, N, N); got "
                f"{tuple(feat.shape)} and {tuple(adj_logits.shape)}."
            )
        self.feat = nn.Parameter(feat.float().clone())
        self.adj_logits = nn.Parameter(adj_logits.float().clone())
        self.register_buffer("labels", labels.clone())
        self.register_buffer("classes", classes.long().clone())

    @property
    def num_graphs(self):
        return self.feat.shape[0]

    @property
    def num_nodes(self):
        return self.feat.shape[1]

    def class_slices(self):
        """Return ``{class: slice}`` of the graphs of every class."""
        slices = {}
        for c in torch.unique(self.classes).tolist():
            idx = (self.classes == c).nonzero().flatten()
            slices[c] = slice(idx[0].item(), idx[-1].item() + 1)
        return slices

    def symmetric_logits(self):
        """:math:`(G, N, N)` logits :math:`(\\Omega + \\Omega^T)/2`."""
        return (self.adj_logits + self.adj_logits.transpose(1, 2)) / 2

    def edge_probs(self):
        """:math:`(G, N, N)` edge probabilities, zero on the diagonal."""
        mask = _off_diagonal(self.num_nodes, self.adj_logits.device)
        return torch.sigmoid(self.symmetric_logits()) * mask

    def density(self):
        """Mean edge probability over all G·N·N entries (scalar)."""
        return self.edge_probs().mean()

    def sample(self, tau, generator=None):
        r"""Differentiable binary-concrete sample of the adjacency.

        :math:`A_{ij} = \sigma((\bar\Omega_{ij} + \log\delta_{ij} -
        \log(1-\delta_{ij}))/\tau)`, :math:`\delta \sim U(0, 1)` drawn once
        per unordered pair.

        Parameters
        ----------
        tau : float
            Temperature.
        generator : torch.Generator, optional
            Source of the noise.

        Returns
        -------
        torch.Tensor
            :math:`(G, N, N)` symmetric weights in (0, 1), zero diagonal.
        """
        logits = self.symmetric_logits()
        uniform = torch.rand(
            logits.shape, generator=generator, device=logits.device
        ).clamp_(1e-10, 1 - 1e-10)
        noise = torch.triu(uniform.log() - (-uniform).log1p(), diagonal=1)
        noise = noise + noise.transpose(1, 2)  # one draw per pair
        mask = _off_diagonal(self.num_nodes, logits.device)
        return torch.sigmoid((logits + noise) / tau) * mask

    @torch.no_grad()
    def discrete_adjacency(self):
        """:math:`(G, N, N)` 0/1 adjacency, :math:`\\sigma(\\bar\\Omega)
        > 0.5`."""
        return (self.edge_probs() > 0.5).float()

    @torch.no_grad()
    def to_dgl(self):
        """Discretise into DGL graphs.

        Returns
        -------
        list of dgl.DGLGraph
            G simple symmetric graphs of N nodes without self-loops, node
            features in ``ndata["feat"]`` (float32, :math:`(N, D)`).
        """
        adj = self.discrete_adjacency().cpu()
        feat = self.feat.detach().cpu()
        graphs = []
        for i in range(self.num_graphs):
            src, dst = adj[i].nonzero(as_tuple=True)
            graph = dgl.graph((src, dst), num_nodes=self.num_nodes)
            graph.ndata["feat"] = feat[i].clone()
            graphs.append(graph)
        return graphs

    @classmethod
    def from_real(
        cls,
        graphs,
        labels,
        classes,
        gpc,
        num_nodes,
        generator=None,
    ):
        """Start every synthetic graph as a random real graph of its class.

        Graphs with at most ``num_nodes`` nodes are preferred; a smaller
        one is zero-padded to ``num_nodes`` (the padding nodes stay nodes of
        the synthetic graph). Edge logits start at ``10 A - 5``.

        Parameters
        ----------
        graphs : list of dgl.DGLGraph
            Candidate real graphs (the training split), ``ndata["feat"]``.
        labels : torch.Tensor
            Their labels, :math:`(n,)` int64 or :math:`(n, T)` float.
        classes : torch.Tensor
            :math:`(n,)` class of each candidate; -1 excludes a graph.
        gpc : int
            Synthetic graphs per class.
        num_nodes : int
            N.
        generator : torch.Generator, optional
            Source of the random choice.

        Returns
        -------
        SyntheticGraphSet
        """
        feat_dim = graphs[0].ndata["feat"].shape[1]
        picks, picked_classes = [], []
        for c in sorted(set(classes.tolist()) - {-1}):
            members = (classes == c).nonzero().flatten()
            sizes = torch.tensor([graphs[i].num_nodes() for i in members])
            small = members[sizes <= num_nodes]
            pool = small if len(small) >= gpc else members
            if len(small) < gpc:
                warnings.warn(
                    f"Class {c} has {len(small)} graphs of at most "
                    f"{num_nodes} nodes, fewer than gpc={gpc}; larger graphs "
                    "are truncated to their first nodes.",
                    stacklevel=3,
                )
            replace = len(pool) < gpc
            if replace:
                chosen = torch.randint(len(pool), (gpc,), generator=generator)
            else:
                chosen = torch.randperm(len(pool), generator=generator)[:gpc]
            picks.extend(pool[chosen].tolist())
            picked_classes.extend([c] * gpc)

        num_graphs = len(picks)
        feat = torch.zeros(num_graphs, num_nodes, feat_dim)
        adj = torch.zeros(num_graphs, num_nodes, num_nodes)
        for row, index in enumerate(picks):
            graph = graphs[index]
            size = min(graph.num_nodes(), num_nodes)
            feat[row, :size] = graph.ndata["feat"][:size]
            src, dst = graph.edges()
            keep = (src < size) & (dst < size) & (src != dst)
            adj[row, src[keep], dst[keep]] = 1.0

        adj = torch.maximum(adj, adj.transpose(1, 2))
        return cls(
            feat,
            10 * adj - 5,
            labels[picks],
            torch.tensor(picked_classes),
        )

    @classmethod
    def from_noise(cls, labels, classes, num_nodes, feat_dim, generator=None):
        """Uniform random features and ``logit(U(0, 1))`` structure.

        Parameters
        ----------
        labels : torch.Tensor
            :math:`(G,)` or :math:`(G, T)` labels of the synthetic graphs.
        classes : torch.Tensor
            :math:`(G,)` sorted classes.
        num_nodes, feat_dim : int
            N and D.
        generator : torch.Generator, optional
        """
        num_graphs = len(classes)
        feat = torch.rand(num_graphs, num_nodes, feat_dim, generator=generator)
        uniform = torch.rand(
            num_graphs, num_nodes, num_nodes, generator=generator
        )
        logits = torch.logit(uniform, eps=1e-6).clamp(-10, 10)
        return cls(feat, logits, labels, classes)

    def extra_repr(self):
        return (
            f"num_graphs={self.num_graphs}, num_nodes={self.num_nodes}, "
            f"feat_dim={self.feat.shape[2]}"
        )
