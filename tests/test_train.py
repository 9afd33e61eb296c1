"""Tests of embedlab.train: the loop learns a separable problem, repeats bitwise, stops early."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn

from embedlab import device, text, train
from embedlab.pooling import BagClassifier, ClassifierConfig, PoolingClassifier
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
        (lambda: PoolingClassifier(ClassifierConfig(16, 8, 2, pooling="mean")), PadCollate()),
        (lambda: PoolingClassifier(ClassifierConfig(16, 8, 2, pooling="max")), PadCollate()),
        (lambda: PoolingClassifier(ClassifierConfig(16, 8, 2, pooling="attention")), PadCollate()),
        (lambda: BagClassifier(ClassifierConfig(16, 8, 2, pooling="sum")), BagCollate()),
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
        model = PoolingClassifier(ClassifierConfig(16, 8, 2, pooling="attention", seed=1))
        history = train.fit(model, TRAIN, VAL, PadCollate(), config, "cpu")
        runs.append((_weights(model), history))
    (w1, h1), (w2, h2) = runs
    assert w1.keys() == w2.keys()
    for key in w1:
        assert torch.equal(w1[key], w2[key]), key
    assert h1 == h2  # every loss and score, bit for bit


def test_another_shuffle_seed_gives_other_weights():
    config = TrainConfig(epochs=2, batch_size=8, lr=0.01, patience=0, **QUIET)
    a = PoolingClassifier(ClassifierConfig(16, 8, 2, seed=1))
    b = PoolingClassifier(ClassifierConfig(16, 8, 2, seed=1))
    train.fit(a, TRAIN, VAL, PadCollate(), config)
    train.fit(b, TRAIN, VAL, PadCollate(), TrainConfig(epochs=2, batch_size=8, lr=0.01, patience=0, seed=4, **QUIET))
    assert not torch.equal(a.head.weight, b.head.weight)


def test_early_stopping_and_best_weights_are_restored():
    model = PoolingClassifier(ClassifierConfig(16, 8, 2, seed=2))
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
    model = PoolingClassifier(ClassifierConfig(16, 8, 2, freeze=True), pretrained=pretrained)
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
    model = PoolingClassifier(ClassifierConfig(16, 8, 3))
    logits = train.predict(model, VAL, PadCollate(), batch_size=5)
    assert logits.shape == (len(VAL), 3) and logits.device.type == "cpu"
    one_by_one = torch.cat([train.predict(model, [ex], PadCollate()) for ex in VAL[:4]])
    torch.testing.assert_close(logits[:4], one_by_one)
    assert model.training  # predict restores the mode it found


def test_no_trainable_parameter_raises():
    frozen = PoolingClassifier(ClassifierConfig(16, 8, 2, freeze=True))
    frozen.head.requires_grad_(False)
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
    with pytest.raises(TypeError, match=r"lr_scale\['0'\] must be a number"):
        _param_groups(model, params, 0.01, {"0": "fast"})


def test_fit_trains_a_scaled_submodule_more_slowly():
    moved = {}
    for scale in (1.0, 0.01):
        model = BagClassifier(ClassifierConfig(16, 8, 2, pooling="mean"))
        start = model.embedding.weight.detach().clone()
        train.fit(model, TRAIN, VAL, BagCollate(), TrainConfig(epochs=2, patience=0, progress=False),
                  lr_scale={"embedding": scale})
        moved[scale] = (model.embedding.weight.detach() - start).norm().item()
    assert moved[0.01] < 0.05 * moved[1.0]


def test_lr_scale_names_embedding_and_head_of_every_classifier():
    for model in (PoolingClassifier(ClassifierConfig(16, 8, 2)), BagClassifier(ClassifierConfig(16, 8, 2))):
        modules = dict(model.named_modules())
        assert {"embedding", "head"} <= set(modules)


def test_fit_writes_nothing_to_stdout_and_its_bar_to_stderr(capsys):
    import os

    examples = [([2, 3], 0), ([4], 1)] * 4
    for progress in (True, False):
        model = PoolingClassifier(ClassifierConfig(8, 4, 2))
        train.fit(model, examples, examples, PadCollate(), TrainConfig(epochs=2, progress=progress))
        out, err = capsys.readouterr()
        assert out == ""
        # tqdm reads TQDM_DISABLE once, when it is imported: a set variable hides every bar
        shown = progress and os.environ.get("TQDM_DISABLE", "") in ("", "0", "false", "False")
        assert ("epochs" in err) is shown


def test_the_bar_names_its_run(capsys):
    import os

    if os.environ.get("TQDM_DISABLE", "") not in ("", "0", "false", "False"):
        pytest.skip("TQDM_DISABLE hides every bar")
    examples = [([2, 3], 0), ([4], 1)] * 4
    model = PoolingClassifier(ClassifierConfig(8, 4, 2))
    train.fit(model, examples, examples, PadCollate(), TrainConfig(epochs=2, desc="words, mean"))
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("words, mean: |██████████| 2/2 ["), last
    assert re.search(r"2/2 \[.*, loss=\d\.\d{3}, val_acc=\d\.\d{3}\]$", last), last


# --- every bad input a docstring rules out --------------------------------------------------------

MODEL = PoolingClassifier(ClassifierConfig(16, 8, 2))
SMALL = TRAIN[:8]
QUIET_CONFIG = TrainConfig(epochs=1, **QUIET)


def _fit(train_set=SMALL, val_set=SMALL, model=MODEL, collate=PadCollate(), config=QUIET_CONFIG, **kwargs):
    return lambda: train.fit(model, train_set, val_set, collate, config, **kwargs)


def _examples_bad_calls(name, run):
    """run(examples) -> a thunk; the bad example sets every function taking examples refuses."""
    return [
        (name, run(None), TypeError, "must be a list or tuple of (ids, label) examples"),
        (name, run("abc"), TypeError, "must be a list or tuple of (ids, label) examples"),
        (name, run(torch.zeros(3)), TypeError, "must be a list or tuple of (ids, label) examples"),
        (name, run([]), ValueError, "must hold at least one of its (ids, label) examples"),
        (name, run([[2, 3, 4]]), TypeError, "[0] must be a pair (list of token ids, int label)"),
        (name, run([[2, 3]]), TypeError, "[0] ids must be a list or tuple of int token ids, got int 2"),
        (name, run([([2, 3], 1.0)]), TypeError, "[0] label must be an int class, got float 1.0"),
        (name, run([([2, 3], True)]), TypeError, "[0] label must be an int class, got bool True"),
        (name, run([([2, 3], -1)]), ValueError, "[0] label must be an int class >= 0, got -1"),
        (name, run([([2, 3.5], 1)]), TypeError, "[0] ids[1] must be an int"),
        (name, run([([2, -3], 1)]), ValueError, "[0] ids[1] must be an int >= 0"),
        (name, run([([2, 16], 1)]), ValueError, "[0] ids[1] must be an int >= 0 and < 16, got 16"),
        (name, run([("23", 1)]), TypeError, "[0] ids must be a list or tuple of int token ids, got str"),
        (name, run([(torch.tensor([2, 3]), 1)]), TypeError, "[0] ids must be a list or tuple of int token ids"),
    ]


BAD_CALLS = (
    _examples_bad_calls("train.fit", lambda bad: _fit(train_set=bad))
    + _examples_bad_calls("train.fit", lambda bad: _fit(val_set=bad))
    + _examples_bad_calls("train.predict", lambda bad: lambda: train.predict(MODEL, bad, PadCollate()))
    + _examples_bad_calls("train.evaluate", lambda bad: lambda: train.evaluate(MODEL, bad, PadCollate()))
    + [
        ("train.fit", _fit(train_set=[([2, 3], 5)]), ValueError, "train_set[0] label must be a class in [0, 1] (the model has 2 outputs), got 5"),
        ("train.fit", _fit(val_set=SMALL + [([2, 3], 2)]), ValueError, "val_set[8] label must be a class in [0, 1]"),
        ("train.fit", _fit(model=PoolingClassifier(ClassifierConfig(16, 8, 1))), ValueError, "model must return (B, C) logits"),
        ("train.fit", _fit(model="model"), TypeError, "model must be a torch.nn.Module"),
        ("train.fit", _fit(model=None), TypeError, "model must be a torch.nn.Module"),
        ("train.fit", _fit(config={"epochs": 1}), TypeError, "config must be a train.TrainConfig"),
        ("train.fit", _fit(collate=None), TypeError, "collate must be a callable"),
        ("train.fit", _fit(device=0), TypeError, "device must be a torch.device or its name"),
        ("train.fit", _fit(device="gpu"), ValueError, "device must name a torch device"),
        ("train.fit", _fit(lr_scale=["embedding"]), TypeError, "lr_scale must be a dict"),
        ("train.fit", _fit(lr_scale={"encoder": 0.1}), ValueError, "lr_scale names 'encoder', which is not a submodule"),
        ("train.fit", _fit(lr_scale={"embedding": -1.0}), ValueError, "lr_scale['embedding'] must be a number > 0"),
        ("train.fit", _fit(lr_scale={"embedding": float("nan")}), ValueError, "lr_scale['embedding'] must be a finite number"),
        ("train.predict", lambda: train.predict(MODEL, SMALL, PadCollate(), batch_size=0), ValueError, "batch_size must be an int >= 1"),
        ("train.predict", lambda: train.predict(MODEL, SMALL, PadCollate(), batch_size=2.0), TypeError, "batch_size must be an int"),
        ("train.predict", lambda: train.predict(MODEL, SMALL, "pad"), TypeError, "collate must be a callable"),
        ("train.predict", lambda: train.predict(None, SMALL, PadCollate()), TypeError, "model must be a torch.nn.Module"),
        ("train.predict", lambda: train.predict(MODEL, SMALL, PadCollate(), device=None), TypeError, "device must be a torch.device"),
        ("train.evaluate", lambda: train.evaluate(MODEL, [([2, 3], 5)], PadCollate()), ValueError, "labels must hold labels in [0, 1], got 5"),
        ("train.evaluate", lambda: train.evaluate(MODEL, SMALL, PadCollate(), batch_size=-1), ValueError, "batch_size must be an int >= 1"),
        ("train.evaluate", lambda: train.evaluate([MODEL], SMALL, PadCollate()), TypeError, "model must be a torch.nn.Module"),
        ("train.scores", lambda: train.scores(torch.zeros(3), torch.zeros(3, dtype=torch.long)), ValueError, "logits must have shape (B, C)"),
        ("train.scores", lambda: train.scores([[0.0, 1.0]], torch.zeros(1, dtype=torch.long)), TypeError, "logits must be a tensor"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long)), ValueError, "logits must have a floating-point dtype"),
        ("train.scores", lambda: train.scores(torch.full((3, 2), float("nan")), torch.zeros(3, dtype=torch.long)), ValueError, "logits must hold finite numbers"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2), torch.tensor([0, 1, 5])), ValueError, "labels must hold labels in [0, 1], got 5"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2), torch.tensor([0, -1, 1])), ValueError, "labels must hold labels in [0, 1], got -1"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2), torch.tensor([0.0, 1.0, 1.0])), ValueError, "labels must have dtype torch.int64"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long)), ValueError, "labels must have shape (B,)"),
        ("train.scores", lambda: train.scores(torch.zeros(3, 2), [0, 1, 1]), TypeError, "labels must be a tensor"),
        ("train.TrainConfig", lambda: TrainConfig(epochs=0), ValueError, "TrainConfig.epochs must be an int >= 1"),
        ("train.TrainConfig", lambda: TrainConfig(epochs=2.0), TypeError, "TrainConfig.epochs must be an int"),
        ("train.TrainConfig", lambda: TrainConfig(batch_size=None), TypeError, "TrainConfig.batch_size must be an int"),
        ("train.TrainConfig", lambda: TrainConfig(eval_batch_size=-5), ValueError, "TrainConfig.eval_batch_size must be an int >= 1"),
        ("train.TrainConfig", lambda: TrainConfig(patience=-1), ValueError, "TrainConfig.patience must be an int >= 0"),
        ("train.TrainConfig", lambda: TrainConfig(patience=True), TypeError, "TrainConfig.patience must be an int"),
        ("train.TrainConfig", lambda: TrainConfig(lr=0.0), ValueError, "TrainConfig.lr must be a number > 0"),
        ("train.TrainConfig", lambda: TrainConfig(lr=float("nan")), ValueError, "TrainConfig.lr must be a finite number"),
        ("train.TrainConfig", lambda: TrainConfig(lr="1e-3"), TypeError, "TrainConfig.lr must be a number"),
        ("train.TrainConfig", lambda: TrainConfig(weight_decay=-0.1), ValueError, "TrainConfig.weight_decay must be a number >= 0"),
        ("train.TrainConfig", lambda: TrainConfig(seed=2**32), ValueError, "TrainConfig.seed must be an int >= 0 and < 4294967296"),
        ("train.TrainConfig", lambda: TrainConfig(seed=-1), ValueError, "TrainConfig.seed must be an int >= 0"),
        ("train.TrainConfig", lambda: TrainConfig(progress="no"), TypeError, "TrainConfig.progress must be True or False"),
        ("train.TrainConfig", lambda: TrainConfig(desc=None), TypeError, "TrainConfig.desc must be a str, got None"),
        ("train.TrainConfig", lambda: TrainConfig(desc=" "), ValueError, "TrainConfig.desc must contain at least one non-space character"),
        ("train.PadCollate", lambda: PadCollate(max_len=0), ValueError, "PadCollate.max_len must be an int >= 1"),
        ("train.PadCollate", lambda: PadCollate(max_len=-3), ValueError, "PadCollate.max_len must be an int >= 1"),
        ("train.PadCollate", lambda: PadCollate(max_len=2.5), TypeError, "PadCollate.max_len must be an int"),
        ("train.PadCollate", lambda: PadCollate(max_len=True), TypeError, "PadCollate.max_len must be an int"),
        ("train.PadCollate.__call__", lambda: PadCollate()(None), TypeError, "examples must be a list or tuple"),
        ("train.PadCollate.__call__", lambda: PadCollate()([([2, 3], 0.5)]), TypeError, "examples[0] label must be an int class"),
        ("train.BagCollate", lambda: BagCollate(max_len=0), ValueError, "BagCollate.max_len must be an int >= 1"),
        ("train.BagCollate", lambda: BagCollate(max_len="3"), TypeError, "BagCollate.max_len must be an int"),
        ("train.BagCollate.__call__", lambda: BagCollate()("abc"), TypeError, "examples must be a list or tuple"),
        ("train.BagCollate.__call__", lambda: BagCollate()([([2, 3], None)]), TypeError, "examples[0] label must be an int class"),
        ("train.freeze", lambda: train.freeze(), ValueError, "freeze() needs at least one module"),
        ("train.freeze", lambda: train.freeze(nn.Linear(2, 2), torch.zeros(2)), TypeError, "modules[1] must be an nn.Module"),
        ("train.freeze", lambda: train.freeze(None), TypeError, "modules[0] must be an nn.Module"),
        ("train.unfreeze", lambda: train.unfreeze(), ValueError, "unfreeze() needs at least one module"),
        ("train.unfreeze", lambda: train.unfreeze("head"), TypeError, "modules[0] must be an nn.Module"),
        ("train.count_parameters", lambda: train.count_parameters([nn.Linear(2, 2)]), TypeError, "module must be an nn.Module"),
        ("train.count_parameters", lambda: train.count_parameters(nn.Linear(2, 2), trainable_only="yes"), TypeError, "trainable_only must be True or False"),
    ]
)



# --- chapter 04's runs and the paired bootstrap


def test_fast_scores_equal_scikit_learn():
    generator = torch.Generator().manual_seed(0)
    for classes in (2, 3):
        for n in (1, 5, 64):
            logits, labels = torch.randn(n, classes, generator=generator), torch.randint(0, classes, (n,), generator=generator)
            fast, slow = train._fast_scores(logits, labels), train.scores(logits, labels)
            assert fast.accuracy == slow.accuracy and fast.loss == slow.loss
            assert fast.f1 == pytest.approx(slow.f1, abs=1e-12)


def test_fit_from_start_trains_a_bag_classifier_from_each_start():
    from embedlab import pretrained

    matrix = torch.randn(16, 8, generator=torch.Generator().manual_seed(1))
    matrix[0] = 0.0
    config = TrainConfig(epochs=3, batch_size=16, lr=0.01, patience=0, **QUIET)
    runs = {}
    for regime in ("random", "frozen LAC", "fine-tuned LAC"):
        start = pretrained.make_start(regime, matrix)
        runs[regime] = train.fit_from_start(start, TRAIN, VAL, VAL, config, 16, 8)
    assert runs["frozen LAC"].relative_move == 0.0
    assert runs["fine-tuned LAC"].relative_move > 0 and runs["random"].relative_move > 0
    for run in runs.values():
        assert len(run.test_correct) == len(VAL) and run.test_accuracy == sum(run.test_correct) / len(VAL)
        assert 1 <= run.best_epoch <= run.epochs == 3
    again = train.fit_from_start(pretrained.make_start("random", matrix), TRAIN, VAL, VAL, config, 16, 8)
    assert again == runs["random"]  # deterministic


def test_paired_bootstrap_brackets_the_difference():
    a = torch.tensor([1, 1, 1, 0] * 25).bool().numpy()
    b = torch.tensor([1, 0, 1, 0] * 25).bool().numpy()
    diff, low, high = train.paired_bootstrap(a, b)
    assert diff == pytest.approx(0.25) and low < diff < high and low > 0
    same = train.paired_bootstrap(a, a)
    assert same == (0.0, 0.0, 0.0)
    seeds = train.paired_bootstrap([a, b], b)  # (S, N): the mean over runs per item
    assert seeds[0] == pytest.approx(0.125)


BAD_CALLS = BAD_CALLS + [
    ("train.fit_from_start", lambda: train.fit_from_start("random", TRAIN, VAL, VAL, TrainConfig(), 16), TypeError, "start must be a pretrained.Start"),
    ("train.paired_bootstrap", lambda: train.paired_bootstrap([1, 0, 2], [1, 0, 1]), ValueError, "correct_a must be (N,) or (S, N)"),
    ("train.paired_bootstrap", lambda: train.paired_bootstrap([1, 0], [1, 0, 1]), ValueError, "the same N test items"),
    ("train.paired_bootstrap", lambda: train.paired_bootstrap([1, 0], [1, 0], resamples=10), ValueError, "resamples"),
    ("train.paired_bootstrap", lambda: train.paired_bootstrap("10", [1, 0]), TypeError, "correct_a"),
    ("train.StartRun", lambda: train.StartRun(), TypeError, "missing"),
]
