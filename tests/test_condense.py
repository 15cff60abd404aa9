import statistics

import pytest
import torch

from dgl_doscond import GraphDataset, condense, evaluate, load_config
from dgl_doscond.condense import NonFiniteLossError
from dgl_doscond.config import ConfigError
from dgl_doscond.pipeline import run_method


def _config(name="MUTAG", **condense_options):
    options = {"epochs": 6, "batch_real": 32, "checkpoint_every": 0}
    options.update(condense_options)
    return load_config(
        name, overrides={"condense": options, "evaluate": {"epochs": 3}}
    )


def _same(a, b):
    return torch.equal(a.synthetic.feat, b.synthetic.feat) and torch.equal(
        a.synthetic.adj_logits, b.synthetic.adj_logits
    )


def test_result_shapes_and_discrete_graphs(mutag):
    result = condense(mutag, _config(gpc=2), seed=0)
    num_nodes = round(mutag.mean_num_nodes)
    assert result.num_nodes == num_nodes == 18
    assert result.synthetic.feat.shape == (4, num_nodes, mutag.feat_dim)
    assert result.labels.tolist() == [0, 0, 1, 1]
    for graph in result.graphs():
        src, dst = graph.edges()
        assert graph.num_nodes() == num_nodes
        assert not torch.any(src == dst)
        assert graph.has_edges_between(dst, src).all()  # symmetric
    assert [p["iteration"] for p in result.history] == [0, 5]
    assert result.history[0]["tau"] == 1.0


def test_same_seed_same_result_other_seed_differs(mutag):
    first = condense(mutag, _config(), seed=3)
    second = condense(mutag, _config(), seed=3)
    other = condense(mutag, _config(), seed=4)
    assert _same(first, second)
    assert not _same(first, other)


def test_condense_leaves_the_global_random_state_alone(mutag):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    condense(mutag, _config(epochs=2), seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_dcgraph_with_one_matching_equals_doscond(mutag):
    doscond = condense(mutag, _config(), seed=1)
    dcgraph = condense(
        mutag, _config(method="dcgraph", outer=1, inner=0), seed=1
    )
    assert _same(doscond, dcgraph)
    # The 1-gpc default (1, 1): no inner step follows the last matching, so
    # the set is DosCond's of the same seed.
    one_one = condense(
        mutag, _config(method="dcgraph", outer=1, inner=1), seed=1
    )
    assert _same(doscond, one_one)
    trained = condense(
        mutag, _config(method="dcgraph", outer=2, inner=2), seed=1
    )
    assert not _same(doscond, trained)


def test_resume_from_checkpoint_is_bit_identical(mutag, tmp_path):
    path = str(tmp_path / "run.ckpt")
    straight = condense(mutag, _config(epochs=8), seed=2)

    # Stop after 4 iterations (a checkpoint is written at 4), then resume.
    condense(
        mutag,
        _config(epochs=8, checkpoint_every=4),
        seed=2,
        checkpoint_path=path,
    )
    state = torch.load(path)
    assert state["iteration"] == 4
    half = condense(mutag, _config(epochs=4), seed=2)
    assert torch.equal(half.synthetic.feat, state["synthetic"]["feat"])
    resumed = condense(
        mutag,
        _config(epochs=8, checkpoint_every=4),
        seed=2,
        checkpoint_path=path,
        resume=True,
    )
    assert _same(straight, resumed)


def test_keep_best_valid_returns_the_best_probed_set(mutag, tmp_path):
    options = {"epochs": 8, "valid_every": 1, "valid_epochs": 2}
    best = condense(mutag, _config(keep="best_valid", **options), seed=3)
    scores = [(p["valid"], p["iteration"]) for p in best.history]
    top = max(score for score, _ in scores)
    first = min(i for score, i in scores if score == top)  # ties: earliest
    assert best.kept_iteration == first
    # The same run stopped after that iteration has the same set.
    assert _same(best, condense(mutag, _config(epochs=first + 1), seed=3))
    last = condense(mutag, _config(**options), seed=3)
    assert last.kept_iteration == 7 and last.history == best.history

    # The best set so far travels in the checkpoint.
    path = str(tmp_path / "run.ckpt")
    resumable = _config(keep="best_valid", checkpoint_every=4, **options)
    condense(mutag, resumable, seed=3, checkpoint_path=path)
    resumed = condense(
        mutag, resumable, seed=3, checkpoint_path=path, resume=True
    )
    assert resumed.kept_iteration == first and _same(best, resumed)


def test_keep_best_valid_needs_probes():
    with pytest.raises(ConfigError, match="valid_every"):
        _config(keep="best_valid")


@pytest.mark.parametrize("distance", ["mse", "ours", "cosine"])
@pytest.mark.parametrize("init", ["real", "noise"])
def test_options_run(mutag, distance, init):
    result = condense(mutag, _config(distance=distance, init=init), seed=0)
    assert torch.isfinite(result.synthetic.feat).all()


@pytest.mark.parametrize("backbone", ["gcn", "gin", "sage", "mlp"])
def test_any_backbone_can_match(mutag, backbone):
    config = load_config(
        "MUTAG",
        overrides={
            "model": {"backbone": backbone},
            "condense": {"epochs": 3, "batch_real": 16},
        },
    )
    result = condense(mutag, config, seed=0)
    assert result.history[-1]["loss"] >= 0


def test_binary_ogb_mixed_matching_with_bound(molbace):
    config = _config("ogbg-molbace", matching="mixed", bound_reg=True, gpc=2)
    result = condense(molbace, config, seed=0)
    assert result.labels.shape == (4, 1)
    assert result.labels.dtype == torch.float32
    assert result.labels[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_non_finite_loss_names_iteration_and_cause(mutag):
    config = _config(lr_feat=1e30, lr_adj=1e30, epochs=30)
    with pytest.raises(NonFiniteLossError, match="iteration .*too high"):
        condense(mutag, config, seed=0)


def test_user_graphs_with_more_than_two_classes():
    import dgl

    graphs, labels = [], []
    for i in range(60):
        size = 4 + i % 3
        src = torch.arange(size - 1)
        graph = dgl.graph(
            (torch.cat([src, src + 1]), torch.cat([src + 1, src])),
            num_nodes=size,
        )
        graph.ndata["feat"] = torch.full((size, 3), float(i % 3))
        graphs.append(graph)
        labels.append(i % 3)
    data = GraphDataset.from_graphs(graphs, torch.tensor(labels))
    result = condense(data, _config("toy", gpc=2), seed=0)
    assert result.labels.tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.slow
def test_short_condensation_beats_random_subset_of_same_size(mutag):
    def mean_score(method):
        config = load_config(
            "MUTAG",
            overrides={
                "condense": {"method": method, "gpc": 1, "epochs": 200},
                "evaluate": {"epochs": 100},
            },
        )
        scores = []
        for seed in (0, 1):
            picked = run_method(mutag, config, seed=seed)
            result = evaluate(
                mutag, config, picked.graphs, picked.labels, runs=3, seed=0
            )
            scores.extend(result.scores)
        return statistics.fmean(scores)

    doscond, random = mean_score("doscond"), mean_score("random")
    assert doscond > random + 5, (doscond, random)


def _multitask_dataset():
    import dgl

    gen = torch.Generator().manual_seed(0)
    graphs = []
    for i in range(80):
        size = 5 + i % 4
        src = torch.arange(size - 1)
        graph = dgl.graph(
            (torch.cat([src, src + 1]), torch.cat([src + 1, src])),
            num_nodes=size,
        )
        graph.ndata["feat"] = torch.rand(size, 4, generator=gen)
        graphs.append(graph)
    labels = (torch.rand(80, 3, generator=gen) > 0.5).float()
    labels[::7, 1] = float("nan")  # missing labels
    return GraphDataset.from_graphs(graphs, labels, name="toy-multitask")


def test_multitask_binary_labels_with_mixed_matching():
    data = _multitask_dataset()
    assert data.task == "binary" and data.num_tasks == 3
    result = condense(data, _config("toy", gpc=4, matching="mixed"), seed=0)
    assert result.labels.shape == (4, 3)
    config = _config("toy")
    scores = evaluate(data, config, result.graphs(), result.labels, runs=1)
    assert 0 <= scores.scores[0] <= 1

    with pytest.raises(NotImplementedError, match="matching: mixed"):
        condense(data, _config("toy", matching="per_class"), seed=0)


def test_validation_probes_are_recorded_and_change_nothing(mutag):
    plain = condense(mutag, _config(epochs=7), seed=2)
    probed = condense(
        mutag, _config(epochs=7, valid_every=3, valid_epochs=2), seed=2
    )
    assert _same(plain, probed)  # the probes draw from RNGs of their own
    scored = [p["iteration"] for p in probed.history if "valid" in p]
    assert scored == [0, 3, 6]
    assert all(
        0.0 <= p["valid"] <= 100.0 for p in probed.history if "valid" in p
    )
    assert not any("valid" in p for p in plain.history)
    assert probed.probe_seconds > 0 and plain.probe_seconds == 0
