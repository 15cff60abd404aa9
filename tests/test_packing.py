import dgl
import pytest
import torch

from dgl_doscond.packing import PackedGraphs, segment_ranges


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


def test_empty_list_is_refused():
    with pytest.raises(ValueError, match="at least one graph"):
        PackedGraphs([])
