"""Tests of embedlab.train: the loop learns a separable problem, repeats bitwise, stops early."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from embedlab import device, text, train
from embedlab.pooling import BagClassifier, PoolingClassifier
from embedlab.train import BagCollate, History, PadCollate, Scores, TrainConfig

QUIET = {"progress": False}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: one thread is faster, above all on a machine shared with other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _separable(n, seed):
    """Class 0 sequences hold token 2, class 1 sequences token 3, among noise tokens 4..15."""
    generator = device.cpu_generator(seed)
    examples = []
    for i in range(n):
        label = i % 2
        length = int(torch.randint(1, 7, (1,), generator=generator))
        noise = torch.randint(4, 16, (length,), generator=generator).tolist()
        position = int(torch.randint(0, length + 1, (1,), generator=generator))
        examples.append((noise[:position] + [2 + label] + noise[position:], label))
    return examples


TRAIN, VAL = _separable(96, 0), _separable(32, 1)


@pytest.mark.parametrize(
    "make,collate",
    [
        (lambda: PoolingClassifier(16, 8, 2, pooling="mean"), PadCollate()),
        (lambda: PoolingClassifier(16, 8, 2, pooling="max"), PadCollate()),
        (lambda: PoolingClassifier(16, 8, 2, pooling="attention"), PadCollate()),
        (lambda: BagClassifier(16, 8, 2, pooling="sum"), BagCollate()),
    ],
    ids=["mean", "max", "attention", "bag-sum"],
)
def test_reaches_100_percent_on_a_separable_problem(make, collate):
    model = make()
    config = TrainConfig(epochs=30, batch_size=16, lr=0.05, patience=0, **QUIET)
    history = train.fit(model, TRAIN, TRAIN, collate, config)  # the best epoch is the first at 100%
    assert history.val_accuracy[history.best_epoch - 1] == 1.0
    assert train.evaluate(model, TRAIN, collate).accuracy == 1.0
    assert history.train_loss[-1] < history.train_loss[0]


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_bitwise_repeatable_on_cpu_under_a_seed():
    device.set_deterministic(True)
    config = TrainConfig(epochs=4, batch_size=8, lr=0.01, patience=0, seed=3, **QUIET)
    runs = []
    for _ in range(2):
        model = PoolingClassifier(16, 8, 2, pooling="attention", seed=1)
        history = train.fit(model, TRAIN, VAL, PadCollate(), config, "cpu")
        runs.append((_weights(model), history))
    (w1, h1), (w2, h2) = runs
    assert w1.keys() == w2.keys()
    for key in w1:
        assert torch.equal(w1[key], w2[key]), key
    assert h1 == h2  # every loss and score, bit for bit


def test_another_shuffle_seed_gives_other_weights():
    config = TrainConfig(epochs=2, batch_size=8, lr=0.01, patience=0, **QUIET)
    a = PoolingClassifier(16, 8, 2, seed=1)
    b = PoolingClassifier(16, 8, 2, seed=1)
    train.fit(a, TRAIN, VAL, PadCollate(), config)
    train.fit(b, TRAIN, VAL, PadCollate(), TrainConfig(epochs=2, batch_size=8, lr=0.01, patience=0, seed=4, **QUIET))
    assert not torch.equal(a.classifier.weight, b.classifier.weight)


def test_early_stopping_and_best_weights_are_restored():
    model = PoolingClassifier(16, 8, 2, seed=2)
    config = TrainConfig(epochs=40, batch_size=16, lr=0.05, patience=2, **QUIET)
    history = train.fit(model, TRAIN, VAL, PadCollate(), config)
    epochs_run = len(history.val_accuracy)
    assert history.stopped_early
    assert epochs_run == history.best_epoch + 2 < 40
    assert history.val_accuracy[history.best_epoch - 1] == max(history.val_accuracy)
    restored = train.evaluate(model, VAL, PadCollate())
    assert restored.accuracy == history.val_accuracy[history.best_epoch - 1]
    assert restored.loss == pytest.approx(history.val_loss[history.best_epoch - 1], rel=1e-6)
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_f1) == epochs_run


def test_history_curves_are_drawable():
    history = History([0.7, 0.5], [0.6, 0.55], [0.5, 0.75], [0.4, 0.7], best_epoch=2)
    assert history.loss_curves() == {"training loss": [0.7, 0.5], "validation loss": [0.6, 0.55]}
    assert history.score_curves() == {"validation accuracy": [0.5, 0.75], "validation F1": [0.4, 0.7]}
    from embedlab import plot

    fig = plot.curves(history.loss_curves(), xlabel="epoch", ylabel="loss")
    assert len(fig.axes[0].lines) == 2


def test_frozen_embedding_does_not_move():
    pretrained = device.randn((16, 8), 9)
    model = PoolingClassifier(16, 8, 2, pretrained=pretrained, freeze=True)
    train.fit(model, TRAIN, VAL, PadCollate(), TrainConfig(epochs=2, **QUIET))
    assert torch.equal(model.embedding.weight, pretrained)


def test_collates_make_both_layouts_and_cut_to_max_len():
    examples = [([2, 3, 4, 5], 1), ([6], 0)]
    (token_ids, padding_mask), labels = PadCollate(max_len=3)(examples)
    assert token_ids.tolist() == [[2, 3, 4], [6, 0, 0]]
    assert padding_mask.tolist() == [[False, False, False], [False, True, True]]
    assert labels.tolist() == [1, 0]
    (flat_ids, offsets), labels = BagCollate(max_len=3)(examples)
    assert flat_ids.tolist() == [2, 3, 4, 6]
    assert offsets.tolist() == [0, 3]
    assert labels.tolist() == [1, 0]


@pytest.mark.parametrize("max_len", [None, 1, 3, 50])
def test_pad_collate_equals_pad_batch(max_len):
    examples = _separable(20, 5) + [([], 0)]
    (token_ids, padding_mask), _ = PadCollate(max_len=max_len)(examples)
    expected = text.pad_batch([ids[:max_len] for ids, _ in examples])
    assert torch.equal(token_ids, expected[0])
    assert torch.equal(padding_mask, expected[1])


def test_pad_collate_of_only_empty_sequences_raises():
    with pytest.raises(ValueError, match="every sequence in id_lists is empty"):
        PadCollate()([([], 0), ([], 1)])


@pytest.mark.parametrize("cls", [PadCollate, BagCollate])
@pytest.mark.parametrize("max_len", [0, -3, 2.5, True])
def test_collate_bad_max_len_raises(cls, max_len):
    with pytest.raises(ValueError, match=f"{cls.__name__}.max_len must be an int >= 1 or None"):
        cls(max_len=max_len)


def test_scores_match_hand_computation():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 1, 1, 1])
    s = train.scores(logits, labels)
    assert s.accuracy == 0.75
    # class 0: precision 1/2, recall 1 -> F1 2/3; class 1: precision 1, recall 2/3 -> F1 4/5
    assert s.f1 == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert s.loss == pytest.approx(nn.functional.cross_entropy(logits, labels).item())
    assert isinstance(s, Scores)


def test_predict_keeps_order_and_returns_cpu_logits():
    model = PoolingClassifier(16, 8, 3)
    logits = train.predict(model, VAL, PadCollate(), batch_size=5)
    assert logits.shape == (len(VAL), 3) and logits.device.type == "cpu"
    one_by_one = torch.cat([train.predict(model, [ex], PadCollate()) for ex in VAL[:4]])
    torch.testing.assert_close(logits[:4], one_by_one)
    assert model.training  # predict restores the mode it found


def test_bad_arguments_raise():
    model = PoolingClassifier(16, 8, 2)
    with pytest.raises(ValueError, match="TrainConfig.epochs must be an int >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="TrainConfig.patience must be an int >= 0"):
        TrainConfig(patience=-1)
    with pytest.raises(ValueError, match="TrainConfig.lr must be > 0"):
        TrainConfig(lr=0.0)
    with pytest.raises(ValueError, match="TrainConfig.weight_decay must be >= 0"):
        TrainConfig(weight_decay=-0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train.fit("model", TRAIN, VAL, PadCollate())
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train.fit(model, TRAIN, VAL, PadCollate(), {"epochs": 1})
    with pytest.raises(ValueError, match="train_set must hold at least one example"):
        train.fit(model, [], VAL, PadCollate())
    with pytest.raises(TypeError, match=r"val_set\[0\] must be a pair"):
        train.fit(model, TRAIN, [[2, 3]], PadCollate())
    with pytest.raises(TypeError, match="examples must be a sequence"):
        train.predict(model, torch.zeros(3), PadCollate())
    with pytest.raises(ValueError, match=r"logits must be \(N, C\) and labels \(N,\)"):
        train.scores(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    frozen = PoolingClassifier(16, 8, 2, freeze=True)
    frozen.classifier.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter with requires_grad=True"):
        train.fit(frozen, TRAIN, VAL, PadCollate(), TrainConfig(**QUIET))


def test_lr_scale_gives_submodules_their_own_rate():
    from embedlab.train import _param_groups

    model = nn.Sequential(nn.Embedding(5, 2), nn.Linear(2, 2))
    params = [p for p in model.parameters()]
    groups = _param_groups(model, params, 0.01, {"0": 0.1})
    assert [g["lr"] for g in groups] == [pytest.approx(0.001), 0.01]
    assert groups[0]["params"] == [model[0].weight]
    assert len(groups[1]["params"]) == 2
    with pytest.raises(ValueError, match="lr_scale names 'head', which is not a submodule"):
        _param_groups(model, params, 0.01, {"head": 0.1})
    with pytest.raises(ValueError, match=r"lr_scale\['0'\] must be a number > 0, got 0"):
        _param_groups(model, params, 0.01, {"0": 0})


def test_fit_trains_a_scaled_submodule_more_slowly():
    moved = {}
    for scale in (1.0, 0.01):
        model = BagClassifier(16, 8, 2, pooling="mean")
        start = model.embedding.weight.detach().clone()
        train.fit(model, TRAIN, VAL, BagCollate(), TrainConfig(epochs=2, patience=0, progress=False),
                  lr_scale={"embedding": scale})
        moved[scale] = (model.embedding.weight.detach() - start).norm().item()
    assert moved[0.01] < 0.05 * moved[1.0]
