import dgl
import pytest
import torch

from dgl_doscond.packing import PackedGraphs, _local_edges, segment_ranges


def test_segment_ranges():
    starts = torch.tensor([5, 0, 9])
    counts = torch.tensor([2, 0, 3])
    assert segment_ranges(starts, counts).tolist() == [5, 6, 9, 10, 11]


def test_batch_equals_dgl_batch(mutag):
    packed = PackedGraphs(mutag.graphs)
    ids = torch.tensor([5, 0, 17, 100, 3, 5])
    graph, feat = packed.batch(ids)
    expected = dgl.batch([mutag.graphs[i] for i in ids.tolist()])

    assert torch.equal(graph.batch_num_nodes(), expected.batch_num_nodes())
    assert torch.equal(graph.batch_num_edges(), expected.batch_num_edges())
    assert torch.equal(feat, expected.ndata["feat"])
    got = sorted(zip(*(t.tolist() for t in graph.edges())))
    want = sorted(zip(*(t.tolist() for t in expected.edges())))
    assert got == want


def test_edges_are_int32_and_the_same_in_any_chunking(mutag):
    # Small chunks (several dgl.batch calls, graphs without edges among
    # them) give the same local edges as one chunk; ids are local int32.
    graphs = list(mutag.graphs[:9]) + [dgl.graph(([], []), num_nodes=3)]
    whole = _local_edges(graphs)
    chunked = _local_edges(graphs, chunk=4)
    for a, b in zip(whole, chunked):
        assert torch.equal(a, b)
    counts_n, counts_e, src, dst = whole
    assert src.dtype == dst.dtype == torch.int32
    assert counts_e.tolist() == [g.num_edges() for g in graphs]
    first = graphs[0].edges()
    assert src[: counts_e[0]].tolist() == first[0].tolist()
    second = graphs[1].edges()
    span = slice(int(counts_e[0]), int(counts_e[:2].sum()))
    assert dst[span].tolist() == second[1].tolist()


def test_empty_list_is_refused():
    with pytest.raises(ValueError, match="at least one graph"):
        PackedGraphs([])


def test_registry_features_are_indexed_not_copied(mutag):
    graphs = [mutag.graphs[i] for i in (9, 2, 40, 2)]
    packed = PackedGraphs(graphs)
    assert packed.shares_features
    base = mutag.graphs[0].ndata["feat"]._base
    assert packed.feat.data_ptr() == base.data_ptr()
    graph, feat = packed.batch(torch.tensor([3, 0, 1]))
    expected = dgl.batch([graphs[i] for i in (3, 0, 1)])
    assert torch.equal(feat, expected.ndata["feat"])
    assert torch.equal(graph.batch_num_nodes(), expected.batch_num_nodes())


def test_own_graphs_are_copied():
    graphs = []
    for n in (3, 1, 4):
        g = dgl.graph(([0], [n - 1]), num_nodes=n)
        g.ndata["feat"] = torch.arange(2.0 * n).reshape(n, 2).double()
        graphs.append(g)
    packed = PackedGraphs(graphs)
    assert not packed.shares_features and packed.feat.dtype == torch.float32
    graph, feat = packed.batch(torch.tensor([2, 0]))
    assert torch.equal(
        feat,
        torch.cat([graphs[2].ndata["feat"], graphs[0].ndata["feat"]]).float(),
    )
    assert graph.edges()[1].tolist() == [3, 6]
