import math

import pytest
import torch

from dgl_doscond.backbones import build_backbone
from dgl_doscond.matching import (
    bound_regularizer,
    gradient_distance,
    output_axes,
    task_loss,
)
from dgl_doscond.synthetic import SyntheticGraphSet


def test_mse_distance_by_hand():
    g_real = [torch.tensor([[1.0, 2.0]]), torch.tensor([2.0])]
    g_syn = [torch.tensor([[0.0, 2.0]]), torch.tensor([0.0])]
    # |diff|^2 = 1 + 0 + 4 = 5, |real|^2 = 1 + 4 + 4 = 9.
    assert gradient_distance(g_syn, g_real, "mse").item() == pytest.approx(
        5 / 9
    )


def test_cosine_distance_by_hand():
    g_real = [torch.tensor([1.0, 0.0])]
    g_syn = [torch.tensor([1.0, 1.0])]
    expected = 1 - 1 / math.sqrt(2)
    assert gradient_distance(g_syn, g_real, "cosine").item() == pytest.approx(
        expected
    )


def test_per_row_distance_by_hand_ignores_biases():
    # Two output rows: identical (0) and orthogonal (1); bias ignored.
    g_real = [torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([5.0, 5.0])]
    g_syn = [torch.tensor([[2.0, 0.0], [1.0, 0.0]]), torch.tensor([-5.0, 1.0])]
    assert gradient_distance(g_syn, g_real, "ours").item() == pytest.approx(1.0)
    # With the output units on axis 1 the rows are the columns:
    # columns (1,0)/(2,1) and (0,1)/(0,0): 1 - 2/sqrt(5) and 1 - 0.
    value = gradient_distance(g_syn, g_real, "ours", axes=[1, 0]).item()
    assert value == pytest.approx(1 - 2 / math.sqrt(5) + 1)


def test_output_axes_mark_graphconv_weights():
    model = build_backbone("gcn", 3, 2, hidden_feats=4, num_layers=2)
    names = [name for name, _ in model.named_parameters()]
    axes = dict(zip(names, output_axes(model)))
    assert axes["convs.0.weight"] == 1
    assert axes["head.weight"] == 0


def test_unknown_distance():
    with pytest.raises(ValueError, match="Unknown distance 'l1'"):
        gradient_distance([torch.ones(1)], [torch.ones(1)], "l1")


def test_binary_loss_masks_missing_labels():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    labels = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    loss = task_loss(logits, labels, "binary")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([0.0, 1.0, -1.0]), torch.tensor([1.0, 0.0, 1.0])
    )
    assert loss.item() == pytest.approx(expected.item())


def test_bound_regularizer_on_empty_graphs_is_feature_sum():
    feat = torch.ones(2, 3, 1)
    adj = torch.zeros(2, 3, 3)
    scale = (1 / math.sqrt(2)) * 1.5 / 10 * (1 / 2) / 2
    expected = scale * torch.full((2, 1), 3.0).norm().item()
    assert bound_regularizer(adj, feat, 2).item() == pytest.approx(expected)


@pytest.mark.parametrize("distance", ["mse", "ours", "cosine"])
def test_matching_steps_lower_the_loss_on_a_fixed_backbone(distance):
    torch.manual_seed(0)
    model = build_backbone("gcn", 4, 2, hidden_feats=16)
    params = list(model.parameters())
    axes = output_axes(model)

    # A fixed "real" gradient from random dense graphs of both classes.
    adj_real = (torch.rand(8, 6, 6) > 0.5).float()
    adj_real = torch.triu(adj_real, 1)
    adj_real = adj_real + adj_real.transpose(1, 2)
    feat_real = torch.randn(8, 6, 4)
    labels_real = torch.tensor([0, 1] * 4)
    loss_real = task_loss(
        model.forward_dense(adj_real, feat_real), labels_real, "multiclass"
    )
    grads_real = [g.detach() for g in torch.autograd.grad(loss_real, params)]

    syn = SyntheticGraphSet(
        torch.randn(2, 6, 4),
        torch.randn(2, 6, 6),
        torch.tensor([0, 1]),
        torch.tensor([0, 1]),
    )
    opt = torch.optim.Adam(syn.parameters(), lr=0.05)

    def matching_loss():
        adj = syn.sample(0.5, generator=torch.Generator().manual_seed(3))
        out = model.forward_dense(adj, syn.feat)
        grads = torch.autograd.grad(
            task_loss(out, syn.labels, "multiclass"),
            params,
            create_graph=True,
        )
        return gradient_distance(grads, grads_real, distance, axes)

    first = matching_loss()
    for _ in range(30):
        opt.zero_grad()
        loss = matching_loss()
        loss.backward()
        opt.step()
    assert matching_loss().item() < 0.7 * first.item()
