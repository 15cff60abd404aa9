"""Graphs packed into flat tensors, so that batches cost no Python loop.

``dgl.batch`` walks a Python list of graphs on every call; condensation and
training draw hundreds of batches. :class:`PackedGraphs` batches the list
once, keeps the node features and the edges (as int32 ids local to each
graph) in flat tensors, and builds any batch by indexing them.

The registry's loaders give every graph its features as a slice of one
flat tensor; the pack then indexes that tensor itself instead of copying
it, so that a dataset's features are held once however many packs are cut
from it.
"""

import dgl
import torch

__all__ = ["PackedGraphs", "segment_ranges"]


def segment_ranges(starts, counts):
    """Concatenate ``arange(s, s + c)`` for every pair, without a loop.

    Parameters
    ----------
    starts, counts : torch.Tensor
        :math:`(B,)` int64.

    Returns
    -------
    torch.Tensor
        :math:`(\\sum c,)` int64.
    """
    total = int(counts.sum())
    offsets = torch.cumsum(counts, 0) - counts  # exclusive prefix sum
    shift = torch.repeat_interleave(starts - offsets, counts, output_size=total)
    return shift + torch.arange(total, device=starts.device)


def _shared_rows(feats, device):
    """``(base, first_rows)`` when every tensor of ``feats`` is a run of
    whole rows of one contiguous 2-D float32 tensor on ``device``; else
    None (the pack then copies the features)."""
    first = feats[0]
    base = first._base if first._base is not None else first
    if (
        base.dim() != 2
        or base.dtype != torch.float32
        or base.device != torch.device(device)
        or not base.is_contiguous()
    ):
        return None
    row_bytes = base.stride(0) * base.element_size()
    origin = base.data_ptr()
    rows = []
    for t in feats:
        owner = t._base if t._base is not None else t
        if owner is not base or t.dim() != 2 or t.shape[1] != base.shape[1]:
            return None
        if t.numel() == 0:
            rows.append(0)
            continue
        offset = t.data_ptr() - origin
        if offset % row_bytes or (
            t.shape[0] > 1 and t.stride(0) != base.stride(0)
        ):
            return None
        rows.append(offset // row_bytes)
    return base, torch.tensor(rows, dtype=torch.long)


def _local_edges(graphs, chunk=4096):
    """Node and edge counts of every graph, and all edges as int32 ids
    local to their graph, concatenated.

    The outputs are allocated once and filled ``chunk`` graphs at a time
    (each chunk batched, structure only), so that the transient int64
    index stays one chunk's and the same size for every chunk: the
    allocator reuses it instead of keeping many freed pieces.
    """
    num_nodes = torch.tensor([g.num_nodes() for g in graphs])
    num_edges = torch.tensor([g.num_edges() for g in graphs])
    total = int(num_edges.sum())
    src = torch.empty(total, dtype=torch.int32)
    dst = torch.empty(total, dtype=torch.int32)
    pos = 0
    for i in range(0, len(graphs), chunk):
        part = dgl.batch(graphs[i : i + chunk], ndata=None, edata=None)
        n, e = num_nodes[i : i + chunk], num_edges[i : i + chunk]
        start = torch.repeat_interleave(torch.cumsum(n, 0) - n, e)
        part_src, part_dst = part.edges()
        size = len(part_src)
        src[pos : pos + size] = part_src - start
        dst[pos : pos + size] = part_dst - start
        pos += size
        del part, part_src, part_dst, start
    return num_nodes, num_edges, src, dst


class PackedGraphs:
    """A fixed list of graphs from which batches are cut by index.

    Parameters
    ----------
    graphs : list of dgl.DGLGraph
        Graphs with float node features in ``ndata["feat"]``.
    device : torch.device or str
        Where the flat tensors (and so every batch) live.

    Attributes
    ----------
    shares_features : bool
        True when the pack indexes the graphs' own feature tensor (no
        copy); False when it holds a concatenated copy.
    """

    def __init__(self, graphs, device="cpu"):
        if len(graphs) == 0:
            raise ValueError("PackedGraphs needs at least one graph.")
        num_nodes, num_edges, src, dst = _local_edges(graphs)
        self.num_graphs = len(graphs)
        self.num_nodes = num_nodes.to(device)
        self.num_edges = num_edges.to(device)
        batch_start = torch.cumsum(self.num_nodes, 0) - self.num_nodes
        self.edge_start = torch.cumsum(self.num_edges, 0) - self.num_edges

        # First feature row of every graph in self.feat.
        feats = [g.ndata["feat"] for g in graphs]
        shared = _shared_rows(feats, device)
        self.shares_features = shared is not None
        if shared:
            self.feat, self.node_start = shared[0], shared[1].to(device)
        else:
            self.feat = torch.cat([f.float() for f in feats]).to(device)
            self.node_start = batch_start
        self.src = src.to(device)  # int32 ids local to each graph
        self.dst = dst.to(device)
        self.device = torch.device(device)

    def __len__(self):
        return self.num_graphs

    def batch(self, ids):
        """Build the batch of the graphs ``ids``.

        Parameters
        ----------
        ids : torch.Tensor
            :math:`(B,)` int64 indices into the packed list.

        Returns
        -------
        (dgl.DGLGraph, torch.Tensor)
            A batched graph of B graphs with V nodes, and its
            :math:`(V, D)` node features.
        """
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.device)
        num_nodes = self.num_nodes[ids]
        num_edges = self.num_edges[ids]
        node_ids = segment_ranges(self.node_start[ids], num_nodes)
        edge_ids = segment_ranges(self.edge_start[ids], num_edges)

        new_start = torch.cumsum(num_nodes, 0) - num_nodes
        shift = torch.repeat_interleave(
            new_start, num_edges, output_size=len(edge_ids)
        )
        graph = dgl.graph(
            (self.src[edge_ids] + shift, self.dst[edge_ids] + shift),
            num_nodes=int(num_nodes.sum()),
            device=self.device,
        )
        graph.set_batch_num_nodes(num_nodes)
        graph.set_batch_num_edges(num_edges)
        return graph, self.feat[node_ids]
