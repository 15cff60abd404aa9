import dgl
import pytest
import torch

from dgl_doscond.backbones import BACKBONES, build_backbone, gcn_norm_dense


def _random_adjacency(num_graphs, num_nodes, seed):
    gen = torch.Generator().manual_seed(seed)
    adj = torch.rand(num_graphs, num_nodes, num_nodes, generator=gen) > 0.6
    adj = torch.triu(adj.float(), diagonal=1)
    return adj + adj.transpose(1, 2)


def _sparse_batch(adj):
    graphs = []
    for a in adj:
        src, dst = a.nonzero(as_tuple=True)
        graphs.append(dgl.graph((src, dst), num_nodes=a.shape[0]))
    return dgl.batch(graphs)


def _complete_batch(weights):
    graphs, edge_weights = [], []
    for w in weights:
        num_nodes = w.shape[0]
        full = torch.ones(num_nodes, num_nodes).fill_diagonal_(0)
        src, dst = full.nonzero(as_tuple=True)
        graphs.append(dgl.graph((src, dst), num_nodes=num_nodes))
        edge_weights.append(w[src, dst])
    return dgl.batch(graphs), torch.cat(edge_weights)


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("pooling", ["mean", "sum"])
def test_weighted_complete_graph_equals_sparse_graph(name, pooling):
    torch.manual_seed(0)
    adj = _random_adjacency(3, 7, seed=1)
    feat = torch.randn(3, 7, 5)
    model = build_backbone(name, 5, 4, hidden_feats=16, pooling=pooling)

    sparse = _sparse_batch(adj)
    complete, weights = _complete_batch(adj)
    edges_before = complete.num_edges()
    out_sparse = model(sparse, feat.reshape(-1, 5))
    out_complete = model(complete, feat.reshape(-1, 5), weights)
    out_dense = model.forward_dense(adj, feat)

    assert out_sparse.shape == (3, 4)
    torch.testing.assert_close(out_complete, out_sparse, atol=1e-5, rtol=0)
    torch.testing.assert_close(out_dense, out_sparse, atol=1e-5, rtol=0)
    # The input graph is untouched (no self-loops or data left on it).
    assert complete.num_edges() == edges_before
    assert set(complete.ndata) == set() and set(complete.edata) == set()


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_dense_and_sparse_give_same_gradients_with_fractional_weights(name):
    torch.manual_seed(0)
    weights = torch.rand(2, 6, 6)
    weights = torch.triu(weights, 1)
    weights = weights + weights.transpose(1, 2)
    feat = torch.randn(2, 6, 3)
    model = build_backbone(name, 3, 2, hidden_feats=8)
    labels = torch.tensor([0, 1])

    complete, edge_weights = _complete_batch(weights)
    loss_sparse = torch.nn.functional.cross_entropy(
        model(complete, feat.reshape(-1, 3), edge_weights), labels
    )
    grads_sparse = torch.autograd.grad(loss_sparse, list(model.parameters()))
    loss_dense = torch.nn.functional.cross_entropy(
        model.forward_dense(weights, feat), labels
    )
    grads_dense = torch.autograd.grad(loss_dense, list(model.parameters()))
    for g_s, g_d in zip(grads_sparse, grads_dense):
        torch.testing.assert_close(g_d, g_s, atol=1e-5, rtol=1e-4)


def test_gcn_norm_dense_by_hand():
    # Two nodes joined by an edge of weight 0.5: degrees 1.5 each.
    adj = torch.tensor([[[0.0, 0.5], [0.5, 0.0]]])
    expected = torch.tensor([[[1 / 1.5, 0.5 / 1.5], [0.5 / 1.5, 1 / 1.5]]])
    torch.testing.assert_close(gcn_norm_dense(adj), expected)


def test_gcn_accepts_zero_edge_weights():
    graph = dgl.graph(([0, 1], [1, 0]), num_nodes=2)
    model = build_backbone("gcn", 2, 2, hidden_feats=4)
    out = model(graph, torch.ones(2, 2), torch.zeros(2))
    isolated = model(dgl.graph(([], []), num_nodes=2), torch.ones(2, 2))
    torch.testing.assert_close(out, isolated)


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown backbone 'gat2'.*gcn"):
        build_backbone("gat2", 3, 2)


def test_bad_pooling_is_refused():
    with pytest.raises(ValueError, match="pooling must be 'mean' or 'sum'"):
        build_backbone("gcn", 3, 2, pooling="max")


def _message_passing_embed(model, graph, feat, weight):
    """Node embeddings by DGL's own message passing, layer by layer: the
    plain path that the sparse-matrix propagation of the backbones
    replaces."""
    import dgl.function as fn

    hidden = feat
    if model.__class__.__name__ == "GCN":
        looped = dgl.add_self_loop(graph)  # loops appended after the edges
        loop_weight = torch.cat([weight, weight.new_ones(graph.num_nodes())])
        # Weighted in-degrees by DGL's message passing.
        deg_inv_sqrt = dgl.ops.copy_e_sum(looped, loop_weight).rsqrt()
        src, dst = looped.edges()
        norm = loop_weight * deg_inv_sqrt[src] * deg_inv_sqrt[dst]
        for conv in model.convs:
            hidden = torch.relu(conv(looped, hidden, edge_weight=norm))
    elif model.__class__.__name__ == "GIN":
        for conv in model.convs:
            hidden = torch.relu(conv(graph, hidden, edge_weight=weight))
    elif model.__class__.__name__ == "SAGE":
        for conv in model.convs:
            with graph.local_scope():
                graph.ndata["h"] = hidden
                graph.edata["w"] = weight
                graph.update_all(fn.u_mul_e("h", "w", "m"), fn.sum("m", "n"))
                graph.update_all(fn.copy_e("w", "m"), fn.sum("m", "deg"))
                deg = graph.ndata["deg"].unsqueeze(-1)
                neigh = graph.ndata["n"] / deg.clamp(min=1e-12)
            hidden = torch.relu(conv.fc_self(hidden) + conv.fc_neigh(neigh))
    with graph.local_scope():
        graph.ndata["h"] = hidden
        pooled = dgl.mean_nodes(graph, "h")
    return model.head(pooled)


@pytest.mark.parametrize("name", ["gcn", "gin", "sage"])
def test_sparse_propagation_matches_dgl_message_passing(name):
    # A random batch with positive symmetric edge weights: outputs and the
    # gradients of the parameters, features and edge weights agree. The two
    # directions of an edge share one weight (GCN's two normalisations
    # differ only in how a gradient splits between them).
    gen = torch.Generator().manual_seed(3)
    adj = _random_adjacency(4, 9, seed=3)
    sym = 0.2 + torch.rand(4, 9, 9, generator=gen)
    sym = (sym + sym.transpose(1, 2)) / 2
    graph = _sparse_batch(adj)
    feat = torch.randn(graph.num_nodes(), 6, generator=gen)
    model = build_backbone(name, 6, 3, hidden_feats=16)
    params = list(model.parameters())
    ours, plain = [], []
    for store in (ours, plain):
        f = feat.clone().requires_grad_()
        tied = sym.clone().requires_grad_()
        w = torch.cat([t[a.nonzero(as_tuple=True)] for t, a in zip(tied, adj)])
        if store is plain:
            out = _message_passing_embed(model, graph, f, w)
        else:
            out = model(graph, f, w)
        loss = (out * torch.arange(3.0)).sum()
        store.append(out)
        store.extend(torch.autograd.grad(loss, params + [f, tied]))
    for a, b in zip(ours, plain):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_precomputed_operator_gives_the_same_logits_for_any_weights(name):
    # The evaluation builds each split's operator once per run and reuses
    # it while the weights change: the operator must not hold the weights.
    torch.manual_seed(0)
    weights = torch.rand(3, 6, 6)
    graph, edge_weight = _complete_batch((weights + weights.mT) / 2)
    feat = torch.randn(graph.num_nodes(), 5)
    model = build_backbone(name, 5, 3, hidden_feats=8)
    operator = model.propagation(graph, edge_weight)
    for _ in range(2):
        expected = model(graph, feat, edge_weight)
        torch.testing.assert_close(
            model(graph, feat, edge_weight, operator=operator), expected
        )
        with torch.no_grad():  # new weights, same operator
            for p in model.parameters():
                p.add_(torch.randn_like(p))
