"""Graph classifiers used for matching and evaluation.

Every backbone is a :class:`GraphClassifier`: graph convolutions, a readout
over all nodes (mean or sum) and a linear head. Each has two forward paths
that share the same weights:

- :meth:`~GraphClassifier.forward` takes a (batched) DGL graph, its node
  features and optional edge weights: the path of real graphs and of saved
  condensed sets. It propagates with one sparse matrix per batch
  (:func:`sparse_adjacency`, built once and used by every layer) and
  ``torch.sparse.mm``, faster on CPU than DGL's message passing for the
  same batch (``benchmarks/bench_propagation.py`` measures both);
- :meth:`~GraphClassifier.forward_dense` takes a batch of dense weighted
  adjacency matrices: the fast path of the synthetic graphs during
  condensation, where graphs are small and every pair of nodes carries a
  sampled weight.

Both give the same output for the same graph (tested). Letters used in
shapes: B graphs in a batch, N nodes per dense graph, V nodes and E edges of
a batched DGL graph, D input features, O outputs (classes or tasks).

To add a backbone, subclass :class:`GraphClassifier`, implement
``_node_embed`` and ``_node_embed_dense``, and add it to :data:`BACKBONES`.
"""

import dgl
import torch
import torch.nn.functional as F
from dgl.nn import GINConv, GraphConv
from torch import nn

__all__ = [
    "BACKBONES",
    "GCN",
    "GIN",
    "GraphClassifier",
    "MLP",
    "SAGE",
    "WeightedSAGEConv",
    "build_backbone",
    "gcn_norm_dense",
    "gcn_norm_sparse",
    "sparse_adjacency",
]


def _edges_and_weights(graph, edge_weight):
    src, dst = graph.edges()
    if edge_weight is None:
        edge_weight = torch.ones(graph.num_edges(), device=graph.device)
    return src, dst, edge_weight


def _coo(src, dst, weight, num_nodes):
    indices = torch.stack([dst, src])
    shape = (num_nodes, num_nodes)
    return torch.sparse_coo_tensor(indices, weight, shape).coalesce()


def sparse_adjacency(graph, edge_weight=None):
    r"""Return the weighted adjacency of a graph as a sparse matrix.

    Parameters
    ----------
    graph : dgl.DGLGraph
        V nodes and E edges (batched or not).
    edge_weight : torch.Tensor, optional
        :math:`(E,)` weights; ones when not given. Gradients flow to them.

    Returns
    -------
    torch.Tensor
        :math:`(V, V)` sparse COO matrix, coalesced, with
        :math:`A_{vu} = \sum w_e` over the edges :math:`e: u \to v`, so
        that ``torch.sparse.mm(A, H)`` sums the weighted messages into each
        node.
    """
    src, dst, weight = _edges_and_weights(graph, edge_weight)
    return _coo(src, dst, weight, graph.num_nodes())


def _in_degree(adj):
    """:math:`(V, 1)` row sums of a sparse adjacency: weighted in-degrees."""
    deg = adj.values().new_zeros(adj.shape[0])
    deg = deg.index_add(0, adj.indices()[0], adj.values())
    return deg.unsqueeze(-1)


def gcn_norm_sparse(graph, edge_weight=None):
    r"""Return :math:`\tilde D^{-1/2}(A + I)\tilde D^{-1/2}` as a sparse
    matrix: the sparse counterpart of :func:`gcn_norm_dense`.

    Parameters
    ----------
    graph : dgl.DGLGraph
        V nodes, E edges, no self-loops; each undirected edge stored in both
        directions.
    edge_weight : torch.Tensor, optional
        :math:`(E,)` weights; ones when not given. Zero weights are allowed
        (unlike DGL's ``EdgeWeightNorm``): every node keeps its unit
        self-loop.

    Returns
    -------
    torch.Tensor
        :math:`(V, V)` sparse COO matrix; :math:`\tilde D` is the weighted
        in-degree of :math:`A + I`.
    """
    src, dst, weight = _edges_and_weights(graph, edge_weight)
    num_nodes = graph.num_nodes()
    loops = torch.arange(num_nodes, device=graph.device)
    src, dst = torch.cat([src, loops]), torch.cat([dst, loops])
    weight = torch.cat([weight, weight.new_ones(num_nodes)])
    deg = weight.new_zeros(num_nodes).index_add_(0, dst, weight)
    deg_inv_sqrt = deg.rsqrt()
    norm = weight * deg_inv_sqrt[src] * deg_inv_sqrt[dst]
    return _coo(src, dst, norm, num_nodes)


def gcn_norm_dense(adj):
    r"""Return :math:`\tilde D^{-1/2}(A + I)\tilde D^{-1/2}` for dense graphs.

    Parameters
    ----------
    adj : torch.Tensor
        :math:`(B, N, N)` symmetric edge weights with a zero diagonal.

    Returns
    -------
    torch.Tensor
        :math:`(B, N, N)`; :math:`\tilde D` is the weighted degree of
        :math:`A + I`.
    """
    num_nodes = adj.shape[-1]
    eye = torch.eye(num_nodes, dtype=adj.dtype, device=adj.device)
    adj_loop = adj + eye
    deg_inv_sqrt = adj_loop.sum(-1).rsqrt()  # (B, N)
    return deg_inv_sqrt.unsqueeze(-1) * adj_loop * deg_inv_sqrt.unsqueeze(-2)


class GraphClassifier(nn.Module):
    """Base class: node embedding, readout over all nodes, linear head.

    Parameters
    ----------
    in_feats : int
        Node feature size D.
    out_feats : int
        Number of outputs O: classes (logits) or tasks (one logit each).
    hidden_feats : int
        Width of every hidden layer.
    num_layers : int
        Number of graph convolutions.
    pooling : str
        ``"mean"`` or ``"sum"`` over all nodes of a graph.
    dropout : float
        Dropout on node embeddings after every layer (training mode only).
    """

    def __init__(
        self,
        in_feats,
        out_feats,
        hidden_feats=128,
        num_layers=3,
        pooling="mean",
        dropout=0.0,
    ):
        super().__init__()
        if pooling not in ("mean", "sum"):
            raise ValueError(
                f"pooling must be 'mean' or 'sum', got {pooling!r}."
            )
        self.in_feats = in_feats
        self.out_feats = out_feats
        self.hidden_feats = hidden_feats
        self.num_layers = num_layers
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_feats, out_feats)

    def _layer_sizes(self):
        sizes = [self.in_feats] + [self.hidden_feats] * self.num_layers
        return list(zip(sizes[:-1], sizes[1:]))

    def forward(self, graph, feat, edge_weight=None, operator=None):
        """Classify the graphs of a batched DGL graph.

        Parameters
        ----------
        graph : dgl.DGLGraph
            Batched graph with V nodes and E edges, no self-loops, each
            undirected edge stored in both directions.
        feat : torch.Tensor
            :math:`(V, D)` node features.
        edge_weight : torch.Tensor, optional
            :math:`(E,)` edge weights; all ones when not given.
        operator : optional
            What :meth:`propagation` returned for this graph and these
            weights, computed once for a graph that is fed many times
            (the evaluation splits); built here when not given.

        Returns
        -------
        torch.Tensor
            :math:`(B, O)` logits.
        """
        return self.head(self.embed(graph, feat, edge_weight, operator))

    def embed(self, graph, feat, edge_weight=None, operator=None):
        """Pooled graph embeddings :math:`(B, H)`; arguments as
        :meth:`forward`."""
        if operator is None:
            operator = self.propagation(graph, edge_weight)
        with graph.local_scope():
            graph.ndata["h"] = self._node_embed(operator, feat)
            if self.pooling == "mean":
                return dgl.mean_nodes(graph, "h")
            return dgl.sum_nodes(graph, "h")

    def forward_dense(self, adj, feat):
        """Classify dense weighted graphs that share one node count.

        Parameters
        ----------
        adj : torch.Tensor
            :math:`(B, N, N)` symmetric edge weights, zero diagonal.
        feat : torch.Tensor
            :math:`(B, N, D)` node features.

        Returns
        -------
        torch.Tensor
            :math:`(B, O)` logits.
        """
        hidden = self._node_embed_dense(adj, feat)  # (B, N, H)
        if self.pooling == "mean":
            pooled = hidden.mean(1)
        else:
            pooled = hidden.sum(1)
        return self.head(pooled)

    def propagation(self, graph, edge_weight=None):
        """The sparse operator(s) this backbone propagates ``graph`` with.

        It depends on the graph and its weights only, not on the
        parameters, so one result serves every forward pass of the same
        graph (see :meth:`forward`).
        """
        raise NotImplementedError

    def _node_embed(self, operator, feat):
        raise NotImplementedError

    def _node_embed_dense(self, adj, feat):
        raise NotImplementedError

    def extra_repr(self):
        return f"pooling={self.pooling!r}"


class GCN(GraphClassifier):
    r"""GCN with weighted-degree normalisation.

    Each layer computes :math:`H' = \mathrm{ReLU}(\hat A H W + b)` with
    :math:`\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}` and
    :math:`\tilde D` the weighted degree of :math:`A + I`. With edge
    weights, the degree is a sum of weights, not a count of edges, so a
    complete graph with 0/1 weights equals the sparse graph of its 1-edges.

    Notes
    -----
    Self-loops of weight one are added here; input graphs must have none.
    """

    def __init__(self, in_feats, out_feats, **kwargs):
        super().__init__(in_feats, out_feats, **kwargs)
        self.convs = nn.ModuleList(
            GraphConv(a, b, norm="none", allow_zero_in_degree=True)
            for a, b in self._layer_sizes()
        )

    def propagation(self, graph, edge_weight=None):
        return gcn_norm_sparse(graph, edge_weight)

    def _node_embed(self, adj_norm, feat):
        hidden = feat
        for conv in self.convs:
            hidden = torch.sparse.mm(adj_norm, hidden @ conv.weight)
            hidden = F.relu(hidden + conv.bias)
            hidden = self.dropout(hidden)
        return hidden

    def _node_embed_dense(self, adj, feat):
        adj_norm = gcn_norm_dense(adj)
        hidden = feat
        for conv in self.convs:
            hidden = torch.matmul(adj_norm, hidden @ conv.weight)
            hidden = F.relu(hidden + conv.bias)
            hidden = self.dropout(hidden)
        return hidden


class GIN(GraphClassifier):
    r"""GIN: :math:`h' = \mathrm{ReLU}(\mathrm{MLP}(h_v + \sum_u w_{uv}
    h_u))`, with a two-layer MLP and :math:`\epsilon = 0`."""

    def __init__(self, in_feats, out_feats, **kwargs):
        super().__init__(in_feats, out_feats, **kwargs)
        self.convs = nn.ModuleList(
            GINConv(
                nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, b)),
                aggregator_type="sum",
            )
            for a, b in self._layer_sizes()
        )

    def propagation(self, graph, edge_weight=None):
        return sparse_adjacency(graph, edge_weight)

    def _node_embed(self, adj, feat):
        hidden = feat
        for conv in self.convs:
            aggregated = hidden + torch.sparse.mm(adj, hidden)
            hidden = F.relu(conv.apply_func(aggregated))
            hidden = self.dropout(hidden)
        return hidden

    def _node_embed_dense(self, adj, feat):
        hidden = feat
        for conv in self.convs:
            aggregated = hidden + torch.matmul(adj, hidden)
            hidden = F.relu(conv.apply_func(aggregated))
            hidden = self.dropout(hidden)
        return hidden


class WeightedSAGEConv(nn.Module):
    r"""GraphSAGE layer with a weighted mean over neighbours.

    :math:`h'_v = W_s h_v + W_n \frac{\sum_u w_{uv} h_u}{\sum_u w_{uv}}`.
    DGL's ``SAGEConv`` divides weighted sums by the number of edges, which
    makes a complete 0/1-weighted graph differ from its sparse version;
    this layer divides by the sum of weights instead.

    Parameters
    ----------
    in_feats, out_feats : int
        Input and output sizes.
    """

    def __init__(self, in_feats, out_feats):
        super().__init__()
        self.fc_self = nn.Linear(in_feats, out_feats)
        self.fc_neigh = nn.Linear(in_feats, out_feats, bias=False)

    def forward(self, graph, feat, edge_weight=None):
        """Apply the layer: ``feat`` is :math:`(V, D)`, output
        :math:`(V, D')`; ``edge_weight`` :math:`(E,)`, ones when not
        given."""
        adj = sparse_adjacency(graph, edge_weight)
        return self.forward_sparse(adj, _in_degree(adj), feat)

    def forward_sparse(self, adj, deg, feat):
        """Apply the layer to a :func:`sparse_adjacency` matrix, its
        :math:`(V, 1)` weighted in-degrees and :math:`(V, D)` features."""
        neigh = torch.sparse.mm(adj, feat) / deg.clamp(min=1e-12)
        return self.fc_self(feat) + self.fc_neigh(neigh)

    def forward_dense(self, adj, feat):
        """Apply the layer to :math:`(B, N, N)` weights and
        :math:`(B, N, D)` features."""
        deg = adj.sum(-1, keepdim=True).clamp(min=1e-12)
        neigh = torch.matmul(adj, feat) / deg
        return self.fc_self(feat) + self.fc_neigh(neigh)


class SAGE(GraphClassifier):
    """GraphSAGE with a weighted mean aggregator (:class:`WeightedSAGEConv`)."""

    def __init__(self, in_feats, out_feats, **kwargs):
        super().__init__(in_feats, out_feats, **kwargs)
        self.convs = nn.ModuleList(
            WeightedSAGEConv(a, b) for a, b in self._layer_sizes()
        )

    def propagation(self, graph, edge_weight=None):
        adj = sparse_adjacency(graph, edge_weight)
        return adj, _in_degree(adj)

    def _node_embed(self, operator, feat):
        adj, deg = operator
        hidden = feat
        for conv in self.convs:
            hidden = F.relu(conv.forward_sparse(adj, deg, hidden))
            hidden = self.dropout(hidden)
        return hidden

    def _node_embed_dense(self, adj, feat):
        hidden = feat
        for conv in self.convs:
            hidden = F.relu(conv.forward_dense(adj, hidden))
            hidden = self.dropout(hidden)
        return hidden


class MLP(GraphClassifier):
    """Per-node MLP, then readout: a structure-blind reference backbone."""

    def __init__(self, in_feats, out_feats, **kwargs):
        super().__init__(in_feats, out_feats, **kwargs)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in self._layer_sizes()
        )

    def propagation(self, graph, edge_weight=None):
        return ()  # no structure: nothing to build

    def _node_embed(self, operator, feat):
        return self._node_embed_dense(None, feat)

    def _node_embed_dense(self, adj, feat):
        hidden = feat
        for layer in self.layers:
            hidden = self.dropout(F.relu(layer(hidden)))
        return hidden


BACKBONES = {"gcn": GCN, "gin": GIN, "sage": SAGE, "mlp": MLP}


def build_backbone(name, in_feats, out_feats, **kwargs):
    """Build a backbone by name.

    Parameters
    ----------
    name : str
        A key of :data:`BACKBONES`.
    in_feats, out_feats : int
        Node feature size and number of outputs.
    **kwargs
        ``hidden_feats``, ``num_layers``, ``pooling``, ``dropout``.

    Returns
    -------
    GraphClassifier
    """
    if name not in BACKBONES:
        valid = ", ".join(BACKBONES)
        raise ValueError(
            f"Unknown backbone {name!r}. Valid backbones: {valid}."
        )
    return BACKBONES[name](in_feats, out_feats, **kwargs)
