import dgl
import pytest
import torch

from dgl_doscond.synthetic import SyntheticGraphSet, temperature


def _set(num_graphs=3, num_nodes=6, feat_dim=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_graphs, num_nodes, num_nodes, generator=gen) * 2
    feat = torch.randn(num_graphs, num_nodes, feat_dim, generator=gen)
    classes = torch.arange(num_graphs)
    return SyntheticGraphSet(feat, logits, classes.clone(), classes)


def test_sample_is_symmetric_with_zero_diagonal_and_in_unit_interval():
    syn = _set()
    adj = syn.sample(0.5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(adj, adj.transpose(1, 2))
    assert torch.all(torch.diagonal(adj, dim1=1, dim2=2) == 0)
    off = adj[:, ~torch.eye(6, dtype=torch.bool)]
    assert torch.all((off > 0) & (off < 1))


def test_sample_is_differentiable_in_the_logits():
    syn = _set()
    adj = syn.sample(0.5, generator=torch.Generator().manual_seed(1))
    adj.sum().backward()
    grad = syn.adj_logits.grad
    assert grad is not None and grad.abs().sum() > 0
    # The diagonal of Omega never matters.
    assert torch.all(torch.diagonal(grad, dim1=1, dim2=2) == 0)


def test_sample_mean_approaches_edge_probability_as_temperature_falls():
    # 4000 copies of one graph: one call draws 4000 independent samples.
    base = _set(num_graphs=1, num_nodes=5)
    copies = 4000
    syn = SyntheticGraphSet(
        base.feat.detach().repeat(copies, 1, 1),
        base.adj_logits.detach().repeat(copies, 1, 1),
        torch.zeros(copies),
        torch.zeros(copies),
    )
    probs = base.edge_probs().detach()[0]
    gen = torch.Generator().manual_seed(2)
    errors = []
    for tau in (1.0, 0.3, 0.02):
        with torch.no_grad():
            mean = syn.sample(tau, generator=gen).mean(0)
        errors.append((mean - probs).abs().max().item())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.03


def test_temperature_schedule():
    assert temperature(0) == pytest.approx(1.0)
    assert temperature(100) == pytest.approx(0.1)
    assert temperature(200) == pytest.approx(0.01)
    assert temperature(900) == pytest.approx(0.01)


def test_discretisation_thresholds_probability_at_one_half():
    logits = torch.tensor(
        [[[0.0, 3.0, -3.0], [1.0, 0.0, 0.2], [-3.0, -1.0, 0.0]]]
    )
    syn = SyntheticGraphSet(
        torch.zeros(1, 3, 2), logits, torch.tensor([0]), torch.tensor([0])
    )
    # Symmetrised logits: (0,1) -> 2.0, (0,2) -> -3.0, (1,2) -> -0.4.
    expected = torch.tensor([[[0.0, 1, 0], [1, 0, 0], [0, 0, 0]]])
    torch.testing.assert_close(syn.discrete_adjacency(), expected)
    (graph,) = syn.to_dgl()
    assert graph.num_nodes() == 3 and graph.num_edges() == 2
    assert not graph.has_edges_between([0, 1, 2], [0, 1, 2]).any()
    assert graph.ndata["feat"].shape == (3, 2)


def _tiny_graphs():
    # Class 0: a path of 3 nodes; class 1: a triangle and a 6-node path.
    def graph(edges, num_nodes, value):
        src = [a for a, b in edges] + [b for a, b in edges]
        dst = [b for a, b in edges] + [a for a, b in edges]
        g = dgl.graph((src, dst), num_nodes=num_nodes)
        g.ndata["feat"] = torch.full((num_nodes, 2), float(value))
        return g

    graphs = [
        graph([(0, 1), (1, 2)], 3, 1),
        graph([(0, 1), (1, 2), (0, 2)], 3, 2),
        graph([(i, i + 1) for i in range(5)], 6, 3),
    ]
    labels = torch.tensor([0, 1, 1])
    return graphs, labels


def test_real_initialisation_copies_and_pads_a_graph_of_the_class():
    graphs, labels = _tiny_graphs()
    syn = SyntheticGraphSet.from_real(
        graphs,
        labels,
        labels,
        gpc=1,
        num_nodes=4,
        generator=torch.Generator().manual_seed(0),
    )
    assert syn.classes.tolist() == [0, 1]
    assert syn.labels.tolist() == [0, 1]
    # Class 1 must pick the triangle: the 6-node path has more than 4 nodes.
    tri = syn.adj_logits[1]
    expected = -5 * torch.ones(4, 4)
    expected[:3, :3] = 5
    expected[[0, 1, 2], [0, 1, 2]] = -5
    torch.testing.assert_close(tri, expected)
    torch.testing.assert_close(syn.feat[1, :3], torch.full((3, 2), 2.0))
    torch.testing.assert_close(syn.feat[1, 3], torch.zeros(2))
    assert syn.density().item() == pytest.approx(
        torch.sigmoid(syn.symmetric_logits())
        .mul(1 - torch.eye(4))
        .mean()
        .item()
    )


def test_real_initialisation_warns_and_truncates_when_graphs_are_too_big():
    graphs, labels = _tiny_graphs()
    with pytest.warns(UserWarning, match="truncated"):
        syn = SyntheticGraphSet.from_real(
            graphs,
            labels,
            labels,
            gpc=2,
            num_nodes=3,
            generator=torch.Generator().manual_seed(0),
        )
    assert syn.num_graphs == 4 and syn.num_nodes == 3


def test_noise_initialisation_is_finite_and_clamped():
    classes = torch.tensor([0, 0, 1])
    syn = SyntheticGraphSet.from_noise(
        classes,
        classes,
        num_nodes=5,
        feat_dim=3,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.isfinite(syn.adj_logits).all()
    assert syn.adj_logits.abs().max() <= 10
    assert syn.feat.min() >= 0 and syn.feat.max() <= 1


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(G, N, D\)"):
        SyntheticGraphSet(
            torch.zeros(2, 3, 4),
            torch.zeros(2, 3, 4),
            torch.zeros(2),
            torch.zeros(2),
        )
