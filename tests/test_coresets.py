import pytest
import torch

from dgl_doscond import load_config
from dgl_doscond.coresets import herding, kcenter, select


def test_herding_by_hand():
    # Mean is (1, 0). Step 1: the point nearest the mean is (1, 0.1).
    # Step 2: the partner that brings the running mean back to (1, 0).
    emb = torch.tensor([[1.0, 0.1], [3.0, 0.0], [1.0, -0.1], [-1.0, 0.0]])
    assert herding(emb, 2).tolist() == [0, 2]


def test_kcenter_by_hand():
    # The mean is (0.2, 0): start at point 0, then the farthest point
    # (3, at distance 5), then the farthest from {0, 3}: point 4.
    emb = torch.tensor(
        [[0.0, 0.0], [0.0, 1.0], [0.0, -1.0], [5.0, 0.0], [-4.0, 0.0]]
    )
    assert kcenter(emb, 3).tolist() == [0, 3, 4]


@pytest.mark.parametrize("method", ["random", "herding", "kcenter"])
def test_coreset_picks_distinct_training_graphs_of_each_class(mutag, method):
    config = load_config(
        "MUTAG",
        overrides={
            "condense": {"method": method, "gpc": 3, "coreset_epochs": 3}
        },
    )
    picked = select(mutag, config, seed=0).indices
    assert len(picked) == 6 and len(set(picked.tolist())) == 6
    train = set(mutag.split["train"].tolist())
    assert set(picked.tolist()) <= train
    assert mutag.labels[picked].tolist() == [0, 0, 0, 1, 1, 1]


def test_coreset_gpc_larger_than_smallest_class(mutag):
    config = load_config(
        "MUTAG", overrides={"condense": {"method": "random", "gpc": 1000}}
    )
    with pytest.raises(ValueError, match="--gpc 1000 is larger than"):
        select(mutag, config)


def test_embedding_gcn_is_trained_once_per_dataset_and_seed(mutag, monkeypatch):
    from dgl_doscond import coresets

    monkeypatch.setattr(coresets, "_last_embeddings", None)

    def config(method, gpc):
        return load_config(
            "MUTAG",
            overrides={
                "condense": {"method": method, "gpc": gpc, "coreset_epochs": 3}
            },
        )

    first = select(mutag, config("herding", 2), seed=0)
    again = select(mutag, config("kcenter", 3), seed=0)
    other_seed = select(mutag, config("kcenter", 3), seed=1)
    assert not first.embedder_reused and again.embedder_reused
    assert not other_seed.embedder_reused
    # A reused selection reports the time of the training it skipped.
    assert again.seconds > 0.5 * first.seconds

    # Reuse changes nothing: the same picks as a fresh training gives.
    monkeypatch.setattr(coresets, "_last_embeddings", None)
    fresh = select(mutag, config("kcenter", 3), seed=0)
    assert not fresh.embedder_reused
    assert torch.equal(fresh.indices, again.indices)
