import pytest
import torch

from dgl_doscond import evaluate, load_config
from dgl_doscond.evaluate import score


def _config(epochs):
    return load_config(
        "MUTAG", overrides={"evaluate": {"epochs": epochs, "runs": 2}}
    )


def test_harness_on_the_whole_mutag_split(mutag):
    result = evaluate(mutag, _config(20), seed=0)
    assert result.runs == 2 and result.metric == "accuracy"
    assert result.num_train_graphs == len(mutag.split["train"])
    assert all(60 <= s <= 100 for s in result.scores)
    assert result.summary().endswith("over 2 runs")
    assert " ± " in result.summary()
    record = result.to_dict()
    for key in (
        "dataset",
        "train",
        "backbone",
        "metric",
        "scores",
        "mean",
        "std",
        "split_hash",
    ):
        assert key in record


def test_harness_is_deterministic(mutag):
    assert (
        evaluate(mutag, _config(2), seed=5).scores
        == evaluate(mutag, _config(2), seed=5).scores
    )


def test_harness_rejects_features_of_another_width(mutag):
    graphs, labels = mutag.subset([0, 1])
    import dgl

    other = [dgl.graph(g.edges(), num_nodes=g.num_nodes()) for g in graphs]
    for graph in other:
        graph.ndata["feat"] = torch.zeros(graph.num_nodes(), 3)
    with pytest.raises(ValueError, match="3 node features but MUTAG has 7"):
        evaluate(mutag, _config(1), other, labels)


def test_ogb_score_uses_the_ogb_evaluator(molbace):
    labels = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    logits = torch.tensor([[0.1], [0.9], [0.2], [0.3]])
    assert score(logits, labels, molbace) == pytest.approx(0.75)
    assert score(logits, labels, molbace) == pytest.approx(0.75)


def test_binary_harness_on_molbace(molbace):
    config = load_config("ogbg-molbace", overrides={"evaluate": {"epochs": 2}})
    graphs, labels = molbace.subset(molbace.split["train"][:64])
    result = evaluate(molbace, config, graphs, labels, runs=1)
    assert result.metric == "rocauc" and 0 <= result.scores[0] <= 1
