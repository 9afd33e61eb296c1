"""Tests of embedlab.skipgram: corpus preparation, the loss and its hand-written gradient, the
training loop, and the evaluation against gensim's own evaluation code."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from conftest import assert_perturbed
from embedlab import skipgram as sg
from embedlab import wordvec as vq
from embedlab.device import cpu_generator
from embedlab.text import Vocab


def random_batch(b: int, n: int, k: int, d: int, seed: int, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    context_vecs = torch.randn(b, n, d, generator=generator, dtype=dtype)
    target_vecs = torch.randn(b, 1 + k, d, generator=generator, dtype=dtype)
    weights = (torch.rand(b, n, 1 + k, generator=generator) < 0.8).to(dtype)
    return context_vecs, target_vecs, weights


def reference_loss(context_vecs, target_vecs, weights):
    """The loss written pair by pair, as in the chapter."""
    total = 0.0
    b, n, _ = context_vecs.shape
    for i in range(b):
        for j in range(n):
            v = context_vecs[i, j]
            total = total - weights[i, j, 0] * F.logsigmoid(target_vecs[i, 0] @ v)
            for k in range(1, target_vecs.shape[1]):
                total = total - weights[i, j, k] * F.logsigmoid(-(target_vecs[i, k] @ v))
    return total


# ---------------------------------------------------------------------------------------------
# Configuration


def test_config_defaults_are_word2vecs():
    config = sg.SkipGramConfig()
    assert (config.emb_dim, config.window, config.negatives, config.min_count) == (100, 5, 5, 5)
    assert (config.sample, config.noise_power, config.epochs, config.lr, config.min_lr) == (1e-3, 0.75, 5, 0.025, 1e-4)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("emb_dim", 0, "emb_dim must be an int >= 1"),
        ("window", 2.5, "window must be an int"),
        ("negatives", True, "negatives must be an int"),
        ("batch_pairs", -1, "batch_pairs must be an int >= 1"),
        ("workers", 3, "workers must be an int >= 1 and <= 2"),
        ("seed", -1, "seed must be an int >= 0"),
        ("seed", 2**32, "seed must be an int >= 0 and < 4294967296"),
        ("sample", 0.0, "sample must be a number > 0"),
        ("noise_power", -1.0, "noise_power must be a number > 0"),
        ("lr", float("nan"), "lr must be a finite number"),
        ("min_lr", 0.1, "need 0 < min_lr <= lr"),
    ],
)
def test_config_rejects_bad_values(field, value, message):
    error = TypeError if isinstance(value, (bool, float)) and field in ("window", "negatives") else ValueError
    with pytest.raises(error, match=message):
        sg.SkipGramConfig(**{field: value})


# ---------------------------------------------------------------------------------------------
# The corpus as ids


def test_training_corpus_drops_punctuation():
    with_punctuation = sg.training_corpus(drop_punctuation=False)
    without = sg.training_corpus()
    assert len(without) == len(with_punctuation) == 19_484
    assert sum(map(len, with_punctuation)) == 1_121_447
    assert sum(map(len, without)) == 948_400
    assert "，" not in {w for s in without for w in s}


def test_encode_corpus_drops_unknown_words():
    vocab = Vocab.build([["a", "b", "a"]])
    token_ids, sentence_ids = sg.encode_corpus([["a", "x", "b"], ["<unk>"], ["b"]], vocab)
    assert token_ids.tolist() == [vocab.stoi["a"], vocab.stoi["b"], vocab.stoi["b"]]
    assert sentence_ids.tolist() == [0, 0, 2]


def test_encode_corpus_errors():
    vocab = Vocab.build([["a"]])
    with pytest.raises(TypeError, match=r"sentences\[0\] must be a sequence of words, got a str"):
        sg.encode_corpus(["a b"], vocab)
    with pytest.raises(ValueError, match="no word of sentences is in the vocabulary"):
        sg.encode_corpus([["x", "y"]], vocab)


def test_count_vector():
    vocab = Vocab.build([["a", "b", "a"]])
    assert sg.count_vector(vocab).tolist() == [0.0, 0.0, 2.0, 1.0]


def test_keep_probs_is_word2vecs_formula():
    counts = torch.tensor([0.0, 900.0, 90.0, 9.0, 1.0], dtype=torch.float64)  # total 1000
    keep = sg.keep_probs(counts, sample=0.01)  # threshold t * total = 10
    expected = [1.0] + [min(1.0, (math.sqrt(c / 10) + 1) * 10 / c) for c in (900.0, 90.0, 9.0, 1.0)]
    torch.testing.assert_close(keep, torch.tensor(expected, dtype=torch.float64))
    assert keep[1] < keep[2] < 1.0 and keep[3] == keep[4] == 1.0


def test_noise_distribution():
    counts = torch.tensor([0.0, 16.0, 1.0, 0.0, 81.0])
    noise = sg.noise_distribution(counts, power=0.75)
    expected = torch.tensor([0.0, 8.0, 1.0, 0.0, 27.0], dtype=torch.float64) / 36
    torch.testing.assert_close(noise, expected)
    torch.testing.assert_close(sg.noise_distribution(counts, power=1.0), counts.double() / 98)


@pytest.mark.parametrize("function", [lambda c: sg.keep_probs(c, 1e-3), sg.noise_distribution])
def test_count_functions_reject_bad_counts(function):
    with pytest.raises(TypeError, match=r"counts must be a tensor of shape \(V,\), got a list"):
        function([1.0, 2.0])
    with pytest.raises(ValueError, match=r"counts must have shape \(V,\)"):
        function(torch.ones(2, 2))
    with pytest.raises(ValueError, match="counts must be a non-empty 1-D tensor"):
        function(torch.ones(0))
    with pytest.raises(ValueError, match="counts must hold finite numbers"):
        function(torch.tensor([1.0, float("inf")]))
    with pytest.raises(ValueError, match="counts must be non-negative"):
        function(torch.tensor([1.0, -1.0]))


def test_keep_probs_and_noise_reject_bad_parameters():
    with pytest.raises(ValueError, match="sample must be a number > 0"):
        sg.keep_probs(torch.ones(3), 0.0)
    with pytest.raises(ValueError, match="counts must have at least one positive entry"):
        sg.noise_distribution(torch.zeros(3))


def test_noise_table_shares_match_the_distribution():
    noise = sg.noise_distribution(torch.tensor([0.0, 5.0, 50.0, 500.0, 1.0]))
    table = sg.noise_table(noise, size=100_000)
    assert table.shape == (100_000,) and table.dtype == torch.int32
    shares = torch.bincount(table, minlength=5).double() / table.numel()
    assert (shares - noise).abs().max() <= 1.0 / 100_000
    assert shares[0] == 0


def test_noise_table_errors():
    with pytest.raises(TypeError, match=r"noise must be a tensor of shape \(V,\), got a list"):
        sg.noise_table([0.5, 0.5])
    with pytest.raises(ValueError, match="noise must be a 1-D tensor of non-negative probabilities"):
        sg.noise_table(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="size must be an int >= len"):
        sg.noise_table(torch.tensor([0.5, 0.5]), size=1)
    with pytest.raises(ValueError, match="and <= 1000000000"):
        sg.noise_table(torch.tensor([0.5, 0.5]), size=10**12)


def test_sample_noise_is_seeded_and_follows_the_table():
    table = sg.noise_table(torch.tensor([0.0, 0.25, 0.75], dtype=torch.float64), size=1000)
    first = sg.sample_noise(table, (200, 5), torch.Generator().manual_seed(3))
    second = sg.sample_noise(table, (200, 5), torch.Generator().manual_seed(3))
    assert first.shape == (200, 5) and torch.equal(first, second)
    share = (first == 2).double().mean().item()
    assert 0.70 < share < 0.80 and not (first == 0).any()


def test_subsample():
    token_ids = torch.tensor([2, 3, 2, 4])
    sentence_ids = torch.tensor([0, 0, 1, 1])
    keep = torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)  # word 3 always dropped
    ids, sents = sg.subsample(token_ids, sentence_ids, keep, torch.Generator().manual_seed(0))
    assert ids.tolist() == [2, 2, 4] and sents.tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="token_ids and sentence_ids must be 1-D of one shape"):
        sg.subsample(token_ids, sentence_ids[:2], keep, torch.Generator())


@pytest.mark.parametrize("window", [1, 2, 5])
def test_context_windows_match_a_loop(window):
    generator = torch.Generator().manual_seed(window)
    token_ids = torch.randint(2, 30, (40,), generator=generator)
    sentence_ids = torch.sort(torch.randint(0, 5, (40,), generator=generator)).values
    centres, contexts, mask, reach = sg.context_windows(token_ids, sentence_ids, window, generator)
    assert torch.equal(centres, token_ids)
    assert contexts.shape == mask.shape == (40, 2 * window)
    assert reach.min() >= 1 and reach.max() <= window
    offsets = list(range(-window, 0)) + list(range(1, window + 1))
    for i in range(40):
        for slot, d in enumerate(offsets):
            j = i + d
            real = 0 <= j < 40 and abs(d) <= reach[i] and sentence_ids[j] == sentence_ids[i]
            assert bool(mask[i, slot]) == real
            if real:
                assert contexts[i, slot] == token_ids[j]


def test_window_slots():
    token_ids = torch.tensor([10, 11, 12, 13, 14])
    sentence_ids = torch.tensor([0, 0, 0, 1, 1])
    contexts, mask = sg.window_slots(token_ids, sentence_ids, torch.tensor([0, 2, 3]), 2)
    assert mask.tolist() == [[False, False, True, True], [True, True, False, False], [False, False, True, False]]
    assert contexts[mask].tolist() == [11, 12, 10, 11, 14]
    with pytest.raises(ValueError, match="reach must be an int >= 1"):
        sg.window_slots(token_ids, sentence_ids, torch.tensor([0]), 0)
    with pytest.raises(ValueError, match=r"centres must have shape \(R,\)"):
        sg.window_slots(token_ids, sentence_ids, torch.tensor([[0]]), 1)
    with pytest.raises(ValueError, match="token_ids and sentence_ids must be 1-D of one shape"):
        sg.window_slots(token_ids, sentence_ids[:3], torch.tensor([0]), 1)


def test_context_windows_reach_is_uniform():
    token_ids = torch.arange(20_000)
    _, _, _, reach = sg.context_windows(token_ids, torch.zeros(20_000, dtype=torch.long), 4, torch.Generator())
    shares = torch.bincount(reach, minlength=5)[1:].double() / 20_000
    assert (shares - 0.25).abs().max() < 0.02


def test_context_windows_errors():
    ids = torch.tensor([2, 3])
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        sg.context_windows(ids, torch.zeros(2, dtype=torch.long), 0, torch.Generator())
    with pytest.raises(ValueError, match="token_ids and sentence_ids must be 1-D of one shape"):
        sg.context_windows(ids, torch.zeros(3, dtype=torch.long), 2, torch.Generator())


# ---------------------------------------------------------------------------------------------
# The loss and its gradient


@pytest.mark.parametrize("b, n, k, d", [(1, 2, 1, 3), (3, 4, 5, 8), (5, 10, 2, 4)])
def test_sgns_loss_is_the_written_out_formula(b, n, k, d):
    batch = random_batch(b, n, k, d, seed=b + n)
    torch.testing.assert_close(sg.sgns_loss(*batch), reference_loss(*batch))


@pytest.mark.parametrize("b, n, k, d", [(1, 2, 1, 3), (3, 4, 5, 8), (5, 10, 2, 4)])
def test_hand_written_gradient_equals_autograd(b, n, k, d):
    context_vecs, target_vecs, weights = random_batch(b, n, k, d, seed=7 * b + k)
    context_vecs.requires_grad_(True)
    target_vecs.requires_grad_(True)
    loss = sg.sgns_loss(context_vecs, target_vecs, weights)
    auto_context, auto_target = torch.autograd.grad(loss, (context_vecs, target_vecs))
    with torch.no_grad():
        ours_loss, grad_context, grad_target = sg.sgns_grads(context_vecs, target_vecs, weights)
    torch.testing.assert_close(ours_loss, loss.detach())
    torch.testing.assert_close(grad_context, auto_context)
    torch.testing.assert_close(grad_target, auto_target)


def test_sgns_loss_passes_gradcheck():
    context_vecs, target_vecs, weights = random_batch(2, 3, 2, 4, seed=11)
    context_vecs.requires_grad_(True)
    target_vecs.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c, t: sg.sgns_loss(c, t, weights), (context_vecs, target_vecs))


def test_zero_weight_slots_get_no_gradient():
    context_vecs, target_vecs, weights = random_batch(2, 3, 2, 4, seed=5)
    weights[0, 1] = 0.0
    _, grad_context, _ = sg.sgns_grads(context_vecs, target_vecs, weights)
    assert torch.equal(grad_context[0, 1], torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize("function", [sg.sgns_loss, sg.sgns_grads])
def test_batch_shape_errors(function):
    c, t, w = random_batch(2, 3, 2, 4, seed=0)
    with pytest.raises(ValueError, match=r"context_vecs must have shape \(B, n, D\)"):
        function(c[0], t, w)
    with pytest.raises(ValueError, match="must share one dtype"):
        function(c.float(), t, w)
    with pytest.raises(ValueError, match="must share one dtype"):
        function(c, t, w.float())
    with pytest.raises(ValueError, match="target_vecs must be"):
        function(c, t[:, :, :3], w)
    with pytest.raises(ValueError, match="target_vecs must be"):
        function(c, t[:, :1], w[..., :1])
    with pytest.raises(ValueError, match="weights must be"):
        function(c, t, w[:, :2])


# ---------------------------------------------------------------------------------------------
# The model and one SGD step


def test_skipgram_starts_like_word2vec():
    model = sg.SkipGram(50, 8, seed=1)
    assert model.in_emb.weight.abs().max() <= 0.5 / 8
    assert model.in_emb.weight.std() > 0.01
    assert torch.equal(model.out_emb.weight, torch.zeros(50, 8))
    assert torch.equal(sg.SkipGram(50, 8, seed=1).in_emb.weight, model.in_emb.weight)
    assert not torch.equal(sg.SkipGram(50, 8, seed=2).in_emb.weight, model.in_emb.weight)
    with pytest.raises(ValueError, match="vocab_size must be an int >= 1"):
        sg.SkipGram(0, 8)
    with pytest.raises(TypeError, match="emb_dim must be an int"):
        sg.SkipGram(5, 2.0)


def small_step_inputs(seed: int):
    generator = torch.Generator().manual_seed(seed)
    model = sg.SkipGram(20, 6, seed=seed).double()
    with torch.no_grad():
        model.out_emb.weight.normal_(generator=generator)  # not zero, so both tables get gradient
    contexts = torch.randint(2, 20, (7, 4), generator=generator)
    targets = torch.randint(2, 20, (7, 3), generator=generator)  # repeats on purpose
    weights = (torch.rand(7, 4, 3, generator=generator) < 0.8).double()
    return model, contexts, targets, weights


def test_sgd_step_equals_autograd_and_torch_sgd():
    model, contexts, targets, weights = small_step_inputs(seed=4)
    reference = sg.SkipGram(20, 6).double()
    reference.load_state_dict(model.state_dict())
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    loss = reference(contexts, targets, weights)
    loss.backward()
    optimizer.step()
    ours = sg.sgd_step(model.in_emb.weight.data, model.out_emb.weight.data, contexts, targets, weights, 0.05)
    torch.testing.assert_close(ours, loss.detach())
    torch.testing.assert_close(model.in_emb.weight, reference.in_emb.weight)
    torch.testing.assert_close(model.out_emb.weight, reference.out_emb.weight)


def test_batch_grads_looks_up_the_rows():
    model, contexts, targets, weights = small_step_inputs(seed=2)
    in_w, out_w = model.in_emb.weight.data, model.out_emb.weight.data
    loss, grad_context, grad_target = sg.batch_grads(in_w, out_w, contexts, targets, weights)
    expected = sg.sgns_grads(in_w[contexts], out_w[targets], weights)
    for ours, theirs in zip((loss, grad_context, grad_target), expected):
        torch.testing.assert_close(ours, theirs)


# ---------------------------------------------------------------------------------------------
# Batches and training


def toy_corpus(sentences: int = 400, seed: int = 0) -> list[list[str]]:
    """Two topics that never share a sentence: animals and fruit, with a shared filler word."""
    generator = torch.Generator().manual_seed(seed)
    topics = [[f"animal{i}" for i in range(6)], [f"fruit{i}" for i in range(6)]]
    corpus = []
    for s in range(sentences):
        words = topics[s % 2]
        picks = torch.randint(0, len(words), (8,), generator=generator).tolist()
        corpus.append([words[p] if p % 3 else "the" for p in picks] + [words[picks[0]]])
    return corpus


TOY_CONFIG = sg.SkipGramConfig(emb_dim=16, window=3, negatives=3, min_count=1, epochs=3, batch_pairs=64)


def test_epoch_batches_cover_every_pair_once():
    corpus = toy_corpus(40)
    vocab = Vocab.build(corpus)
    token_ids, sentence_ids = sg.encode_corpus(corpus, vocab)
    counts = sg.count_vector(vocab)
    keep = torch.ones(len(vocab), dtype=torch.float64)  # no subsampling: every word is a centre
    table = sg.noise_table(sg.noise_distribution(counts), size=10_000)
    batches = sg.epoch_batches(token_ids, sentence_ids, keep, table, TOY_CONFIG, torch.Generator().manual_seed(0))
    replay = torch.Generator().manual_seed(0)  # the same draws as epoch_batches makes, in order
    ids, sents = sg.subsample(token_ids, sentence_ids, keep, replay)
    centres, contexts_all, mask, _ = sg.context_windows(ids, sents, 3, replay)
    expected = Counter((int(centres[i]), int(contexts_all[i, j])) for i, j in mask.nonzero().tolist())
    seen = Counter()
    for contexts, targets, weights in batches:
        b, n = contexts.shape
        assert n % 2 == 0 and n <= 6 and targets.shape == (b, 4) and weights.shape == (b, n, 4)
        assert b * n <= TOY_CONFIG.batch_pairs
        noise_is_centre = targets[:, 1:] == targets[:, :1]  # (B, K)
        assert (weights[:, :, 1:][noise_is_centre.unsqueeze(1).expand(b, n, 3)] == 0).all()
        for i in range(b):
            for j in range(n):
                if weights[i, j, 0]:
                    seen[(int(targets[i, 0]), int(contexts[i, j]))] += 1
    assert seen == expected


def test_train_is_deterministic_and_learns_the_topics():
    corpus = toy_corpus()
    first = sg.train(corpus, TOY_CONFIG, progress=False)
    second = sg.train(corpus, TOY_CONFIG, progress=False)
    assert torch.equal(first.vectors, second.vectors)
    assert first.epoch_losses == second.epoch_losses and len(first.epoch_losses) == 3
    assert first.epoch_losses[-1] < first.epoch_losses[0]
    assert all(p > 0 for p in first.pairs_per_epoch)
    assert len(first.steps_per_epoch) == 3 and first.steps_per_epoch == second.steps_per_epoch
    token_ids, sentence_ids = sg.encode_corpus(corpus, first.vocab)
    counts = sg.count_vector(first.vocab)
    table = sg.noise_table(sg.noise_distribution(counts, TOY_CONFIG.noise_power))
    batches = sg.epoch_batches(token_ids, sentence_ids, sg.keep_probs(counts, TOY_CONFIG.sample), table,
                               TOY_CONFIG, cpu_generator(TOY_CONFIG.seed))
    assert first.steps_per_epoch[0] == len(batches)  # one SGD step per batch of the first epoch's draw
    assert first.pairs_per_epoch[0] == sum(int(w[..., 0].sum()) for _, _, w in batches)
    other = sg.train(corpus, sg.SkipGramConfig(**{**TOY_CONFIG.__dict__, "seed": 1}), progress=False)
    assert not torch.equal(first.vectors, other.vectors)
    same_topic = vq.cosine(first.vectors, first.vocab, "animal1", "animal2")
    other_topic = vq.cosine(first.vectors, first.vocab, "animal1", "fruit2")
    assert same_topic > other_topic + 0.3
    neighbours = [w for w, _ in vq.nearest(first.vectors, first.vocab, "fruit0", k=5)]
    assert not any(w.startswith("animal") for w in neighbours)  # the filler "the" may be among them


@pytest.mark.parametrize("emb_dim, batch_pairs", [(TOY_CONFIG.emb_dim, TOY_CONFIG.batch_pairs), (100, 4096)])
def test_one_and_two_workers_agree_bit_for_bit(emb_dim, batch_pairs):
    # (100, 4096): the chapter's sizes, where bmm and scatter_add_ take their BLAS and sorted paths
    corpus = toy_corpus(100)
    settings = {**TOY_CONFIG.__dict__, "emb_dim": emb_dim, "batch_pairs": batch_pairs}
    one = sg.train(corpus, sg.SkipGramConfig(**{**settings, "workers": 1}), progress=False)
    two = sg.train(corpus, sg.SkipGramConfig(**{**settings, "workers": 2}), progress=False)
    assert torch.equal(one.vectors, two.vectors)
    assert torch.equal(one.model.out_emb.weight, two.model.out_emb.weight)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("emb_dim", [8, 100])  # 100: the training's size, scatter_add_'s sorted CPU path (D >= 16)
def test_the_row_additions_equal_index_add(threads, emb_dim):
    generator = torch.Generator().manual_seed(0)
    table = torch.randn(300, emb_dim, generator=generator)
    ids = torch.randint(0, 300, (2000, 3), generator=generator)  # many repeats
    updates = torch.randn(2000, 3, emb_dim, generator=generator)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        expected = table.clone().index_add_(0, ids.reshape(-1), updates.reshape(-1, emb_dim))
        sg._add_rows(table, ids, updates)
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(table, expected)


def test_train_leaves_torch_threads_as_they_were():
    before = torch.get_num_threads()
    sg.train(toy_corpus(20), TOY_CONFIG, progress=False)
    assert torch.get_num_threads() == before


def test_train_errors():
    with pytest.raises(TypeError, match="config must be a SkipGramConfig, got a dict"):
        sg.train(toy_corpus(10), {"epochs": 1})
    with pytest.raises(ValueError, match="the vocabulary is empty"):
        sg.train([["a", "b"]], sg.SkipGramConfig(min_count=5), progress=False)


def test_train_with_a_given_vocabulary():
    corpus = toy_corpus(60)
    vocab = Vocab.build(corpus, max_size=6)
    result = sg.train(corpus, TOY_CONFIG, vocab=vocab, progress=False)
    assert result.vocab is vocab and result.vectors.shape == (6, 16)


# ---------------------------------------------------------------------------------------------
# The contract: every public callable refuses bad input with a clear error


def _toy_corpus():
    return torch.tensor([2, 3, 4, 2]), torch.tensor([0, 0, 1, 1])


def _toy_tables(v: int = 6, d: int = 4):
    return torch.zeros(v, d), torch.zeros(v, d)


def _toy_step():
    """contexts (1, 2), targets (1, 3), weights (1, 2, 3), all fitting tables of 6 rows."""
    return torch.tensor([[2, 3]]), torch.tensor([[4, 5, 2]]), torch.ones(1, 2, 3)


_VOCAB = Vocab.build([["a", "b", "a"]])
_KEEP = torch.ones(6, dtype=torch.float64)
_TABLE = torch.tensor([2, 3, 4, 5], dtype=torch.int32)
_C, _T, _W = _toy_step()
_IN, _OUT = _toy_tables()
_MODEL = sg.SkipGram(6, 4)
_TRAINED_ARGS = (_VOCAB, sg.SkipGram(len(_VOCAB), 4), sg.SkipGramConfig())
_NAN = float("nan")


def test_noise_mode_perturbs_the_start_and_leaves_the_zero_table(monkeypatch):
    off = sg.SkipGram(50, 8, seed=1)
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    assert_perturbed(off, sg.SkipGram(50, 8, seed=1))  # out_emb starts at zero and stays there

BAD_CALLS = [
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(emb_dim=1.5), TypeError, "emb_dim must be an int"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(window=0), ValueError, "window must be an int >= 1"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(negatives=True), TypeError, "negatives must be an int"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(epochs=None), TypeError, "epochs must be an int"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(workers=3), ValueError, "workers must be an int >= 1 and <= 2"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(seed=2**32), ValueError, "seed must be an int >= 0"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(seed="0"), TypeError, "seed must be an int"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(sample=_NAN), ValueError, "sample must be a finite number"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(noise_power="0.75"), TypeError, "noise_power must be a number"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(lr=-0.1), ValueError, "lr must be a number > 0"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(min_lr=float("inf")), ValueError, "min_lr must be a finite number"),
    ("skipgram.SkipGramConfig", lambda: sg.SkipGramConfig(lr=0.01, min_lr=0.1), ValueError, "need 0 < min_lr <= lr"),
    ("skipgram.training_corpus", lambda: sg.training_corpus("yes"), TypeError, "drop_punctuation must be True or False"),
    ("skipgram.training_corpus", lambda: sg.training_corpus(None), TypeError, "drop_punctuation must be True or False"),
    ("skipgram.encode_corpus", lambda: sg.encode_corpus(None, _VOCAB), TypeError, "sentences must be an iterable of word sequences"),
    ("skipgram.encode_corpus", lambda: sg.encode_corpus("a b", _VOCAB), TypeError, "sentences must be an iterable of word sequences"),
    ("skipgram.encode_corpus", lambda: sg.encode_corpus([3], _VOCAB), TypeError, "sentences[0] must be a sequence of words"),
    ("skipgram.encode_corpus", lambda: sg.encode_corpus([["a"]], None), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("skipgram.encode_corpus", lambda: sg.encode_corpus([["zzz"]], _VOCAB), ValueError, "no word of sentences is in the vocabulary"),
    ("skipgram.count_vector", lambda: sg.count_vector(["a"]), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("skipgram.keep_probs", lambda: sg.keep_probs(None, 1e-3), TypeError, "counts must be a tensor"),
    ("skipgram.keep_probs", lambda: sg.keep_probs(torch.tensor([1.0, _NAN]), 1e-3), ValueError, "counts must hold finite numbers"),
    ("skipgram.keep_probs", lambda: sg.keep_probs(torch.tensor([1.0, -2.0]), 1e-3), ValueError, "counts must be non-negative"),
    ("skipgram.keep_probs", lambda: sg.keep_probs(torch.ones(3), "1e-3"), TypeError, "sample must be a number"),
    ("skipgram.keep_probs", lambda: sg.keep_probs(torch.ones(3), -1.0), ValueError, "sample must be a number > 0"),
    ("skipgram.noise_distribution", lambda: sg.noise_distribution([1.0]), TypeError, "counts must be a tensor"),
    ("skipgram.noise_distribution", lambda: sg.noise_distribution(torch.zeros(3)), ValueError, "counts must have at least one positive entry"),
    ("skipgram.noise_distribution", lambda: sg.noise_distribution(torch.ones(3), power=0), ValueError, "power must be a number > 0"),
    ("skipgram.noise_distribution", lambda: sg.noise_distribution(torch.ones(3), power=_NAN), ValueError, "power must be a finite number"),
    ("skipgram.noise_table", lambda: sg.noise_table(None), TypeError, "noise must be a tensor"),
    ("skipgram.noise_table", lambda: sg.noise_table(torch.tensor([1, 0])), ValueError, "noise must have a floating-point dtype"),
    ("skipgram.noise_table", lambda: sg.noise_table(torch.tensor([0.5, _NAN])), ValueError, "noise must hold finite numbers"),
    ("skipgram.noise_table", lambda: sg.noise_table(torch.tensor([0.7, 0.7])), ValueError, "probabilities summing to 1"),
    ("skipgram.noise_table", lambda: sg.noise_table(torch.tensor([0.5, 0.5]), size=10.0), TypeError, "size must be an int"),
    ("skipgram.noise_table", lambda: sg.noise_table(torch.tensor([0.5, 0.5]), size=10**12), ValueError, "size must be an int >= len(noise)"),
    ("skipgram.sample_noise", lambda: sg.sample_noise([1, 2], (2,), torch.Generator()), TypeError, "table must be a tensor"),
    ("skipgram.sample_noise", lambda: sg.sample_noise(torch.tensor([1.0]), (2,), torch.Generator()), ValueError, "table must have dtype"),
    ("skipgram.sample_noise", lambda: sg.sample_noise(_TABLE[:0], (2,), torch.Generator()), ValueError, "table must hold at least one slot"),
    ("skipgram.sample_noise", lambda: sg.sample_noise(_TABLE, (2, -1), torch.Generator()), ValueError, "shape[1] must be an int >= 0"),
    ("skipgram.sample_noise", lambda: sg.sample_noise(_TABLE, 5, torch.Generator()), TypeError, "shape must be a list or tuple"),
    ("skipgram.sample_noise", lambda: sg.sample_noise(_TABLE, (2,), 0), TypeError, "generator must be a torch.Generator"),
    ("skipgram.subsample", lambda: sg.subsample(*_toy_corpus(), _KEEP, None), TypeError, "generator must be a torch.Generator"),
    ("skipgram.subsample", lambda: sg.subsample(torch.tensor([2, 9]), torch.tensor([0, 0]), _KEEP, torch.Generator()), ValueError, "token_ids must hold ids in [0, 5]"),
    ("skipgram.subsample", lambda: sg.subsample(torch.tensor([2.0]), torch.tensor([0]), _KEEP, torch.Generator()), ValueError, "token_ids must have dtype torch.int64"),
    ("skipgram.subsample", lambda: sg.subsample(torch.tensor([2]), torch.tensor([0, 0]), _KEEP, torch.Generator()), ValueError, "token_ids and sentence_ids must be 1-D of one shape"),
    ("skipgram.subsample", lambda: sg.subsample(*_toy_corpus(), _KEEP * 2, torch.Generator()), ValueError, "keep must be a non-empty (V,) tensor of probabilities"),
    ("skipgram.subsample", lambda: sg.subsample(*_toy_corpus(), [1.0] * 6, torch.Generator()), TypeError, "keep must be a tensor"),
    ("skipgram.window_slots", lambda: sg.window_slots(*_toy_corpus(), torch.tensor([0, 4]), 1), ValueError, "centres must hold ids in [0, 3]"),
    ("skipgram.window_slots", lambda: sg.window_slots(*_toy_corpus(), [0], 1), TypeError, "centres must be a tensor"),
    ("skipgram.window_slots", lambda: sg.window_slots(*_toy_corpus(), torch.tensor([0]), 1.0), TypeError, "reach must be an int"),
    ("skipgram.window_slots", lambda: sg.window_slots(*_toy_corpus(), torch.tensor([0]), 0), ValueError, "reach must be an int >= 1"),
    ("skipgram.window_slots", lambda: sg.window_slots(None, torch.tensor([0]), torch.tensor([0]), 1), TypeError, "token_ids must be a tensor"),
    ("skipgram.window_slots", lambda: sg.window_slots(torch.tensor([-1, 2]), torch.tensor([0, 0]), torch.tensor([0]), 1), ValueError, "token_ids must hold ids in"),
    ("skipgram.window_slots", lambda: sg.window_slots(torch.tensor([1]), torch.tensor([0.0]), torch.tensor([0]), 1), ValueError, "sentence_ids must have dtype torch.int64"),
    ("skipgram.context_windows", lambda: sg.context_windows(*_toy_corpus(), 2, "seed"), TypeError, "generator must be a torch.Generator"),
    ("skipgram.context_windows", lambda: sg.context_windows(*_toy_corpus(), True, torch.Generator()), TypeError, "window must be an int"),
    ("skipgram.context_windows", lambda: sg.context_windows(*_toy_corpus(), -2, torch.Generator()), ValueError, "window must be an int >= 1"),
    ("skipgram.context_windows", lambda: sg.context_windows(torch.tensor([[2]]), torch.tensor([[0]]), 2, torch.Generator()), ValueError, "token_ids must have shape (N,)"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(None, torch.zeros(1, 2, 3), torch.ones(1, 1, 2)), TypeError, "context_vecs must be a tensor"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(torch.zeros(1, 1, 3), torch.zeros(1, 2, 3, dtype=torch.float64), torch.ones(1, 1, 2)), ValueError, "must share one dtype"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(torch.zeros(1, 1, 3, dtype=torch.long), torch.zeros(1, 2, 3), torch.ones(1, 1, 2)), ValueError, "context_vecs must have a floating-point dtype"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(torch.zeros(1, 1, 3), torch.zeros(1, 2, 4), torch.ones(1, 1, 2)), ValueError, "target_vecs must be (B=1, 1+K >= 2, D=3)"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(torch.zeros(1, 1, 3), torch.zeros(1, 2, 3), torch.ones(1, 2, 2)), ValueError, "weights must be (B, n, 1+K)"),
    ("skipgram.sgns_loss", lambda: sg.sgns_loss(torch.full((1, 1, 3), _NAN), torch.zeros(1, 2, 3), torch.ones(1, 1, 2)), ValueError, "context_vecs must hold finite numbers"),
    ("skipgram.sgns_grads", lambda: sg.sgns_grads(torch.zeros(1, 1, 3), torch.zeros(1, 2, 3), torch.ones(1, 1, 2, dtype=torch.float64)), ValueError, "must share one dtype"),
    ("skipgram.sgns_grads", lambda: sg.sgns_grads(torch.zeros(1, 1, 3), [[0.0]], torch.ones(1, 1, 2)), TypeError, "target_vecs must be a tensor"),
    ("skipgram.sgns_grads", lambda: sg.sgns_grads(torch.zeros(1, 1, 3), torch.zeros(1, 2, 3), torch.full((1, 1, 2), float("inf"))), ValueError, "weights must hold finite numbers"),
    ("skipgram.SkipGram", lambda: sg.SkipGram(0, 4), ValueError, "vocab_size must be an int >= 1"),
    ("skipgram.SkipGram", lambda: sg.SkipGram(6.0, 4), TypeError, "vocab_size must be an int"),
    ("skipgram.SkipGram", lambda: sg.SkipGram(6, None), TypeError, "emb_dim must be an int"),
    ("skipgram.SkipGram", lambda: sg.SkipGram(6, 4, seed=-1), ValueError, "seed must be an int >= 0"),
    ("skipgram.SkipGram", lambda: sg.SkipGram(6, 4, seed=2**40), ValueError, "seed must be an int >= 0"),
    ("skipgram.SkipGram.forward", lambda: _MODEL(torch.tensor([[2, 6]]), _T, _W), ValueError, "contexts must hold ids in [0, 5]"),
    ("skipgram.SkipGram.forward", lambda: _MODEL(_C, torch.tensor([[-1, 2, 3]]), _W), ValueError, "targets must hold ids in [0, 5]"),
    ("skipgram.SkipGram.forward", lambda: _MODEL(_C.float(), _T, _W), ValueError, "contexts must have dtype torch.int64"),
    ("skipgram.SkipGram.forward", lambda: _MODEL([[2, 3]], _T, _W), TypeError, "contexts must be a tensor"),
    ("skipgram.SkipGram.forward", lambda: _MODEL(_C[0], _T, _W), ValueError, "contexts must have shape (B, n)"),
    ("skipgram.SkipGram.forward", lambda: _MODEL(_C, _T, _W.double()), ValueError, "must share one dtype"),
    ("skipgram.TrainedSkipGram", lambda: sg.TrainedSkipGram(None, *_TRAINED_ARGS[1:]), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("skipgram.TrainedSkipGram", lambda: sg.TrainedSkipGram(_VOCAB, None, _TRAINED_ARGS[2]), TypeError, "model must be a SkipGram"),
    ("skipgram.TrainedSkipGram", lambda: sg.TrainedSkipGram(_VOCAB, _TRAINED_ARGS[1], {}), TypeError, "config must be a SkipGramConfig"),
    ("skipgram.TrainedSkipGram", lambda: sg.TrainedSkipGram(_VOCAB, sg.SkipGram(99, 4), _TRAINED_ARGS[2]), ValueError, "model must have one row per vocabulary entry"),
    ("skipgram.epoch_batches", lambda: sg.epoch_batches(*_toy_corpus(), _KEEP, _TABLE, {}, torch.Generator()), TypeError, "config must be a SkipGramConfig"),
    ("skipgram.epoch_batches", lambda: sg.epoch_batches(*_toy_corpus(), _KEEP, torch.tensor([2, 7], dtype=torch.int32), sg.SkipGramConfig(), torch.Generator()), ValueError, "table must hold ids in [0, 5]"),
    ("skipgram.epoch_batches", lambda: sg.epoch_batches(*_toy_corpus(), _KEEP, _TABLE, sg.SkipGramConfig(), 1), TypeError, "generator must be a torch.Generator"),
    ("skipgram.epoch_batches", lambda: sg.epoch_batches(*_toy_corpus(), None, _TABLE, sg.SkipGramConfig(), torch.Generator()), TypeError, "keep must be a tensor"),
    ("skipgram.epoch_batches", lambda: sg.epoch_batches(torch.tensor([2, 8]), torch.tensor([0, 0]), _KEEP, _TABLE, sg.SkipGramConfig(), torch.Generator()), ValueError, "token_ids must hold ids in [0, 5]"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(None, _OUT, _C, _T, _W), TypeError, "in_w must be a tensor"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT[:3], _C, _T, _W), ValueError, "out_w must have shape (V, D)"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT.double(), _C, _T, _W), ValueError, "out_w must have dtype torch.float32"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, torch.tensor([[2, 6]]), _T, _W), ValueError, "contexts must hold ids in [0, 5]"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, _C, torch.tensor([[2, 3, 99]]), _W), ValueError, "targets must hold ids in [0, 5]"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, _C, _T[:, :1], _W[..., :1]), ValueError, "targets must be (B=1, 1+K >= 2)"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, _C, _T, _W[:, :1]), ValueError, "weights must have shape (B, n, 1+K)"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, _C, _T, _W.double()), ValueError, "weights must have the tables' dtype"),
    ("skipgram.batch_grads", lambda: sg.batch_grads(_IN, _OUT, _C.int(), _T, _W), ValueError, "contexts must have dtype torch.int64"),
    ("skipgram.sgd_step", lambda: sg.sgd_step(_IN.clone(), _OUT.clone(), _C, _T, _W, lr=0.0), ValueError, "lr must be a number > 0"),
    ("skipgram.sgd_step", lambda: sg.sgd_step(_IN.clone(), _OUT.clone(), _C, _T, _W, lr=_NAN), ValueError, "lr must be a finite number"),
    ("skipgram.sgd_step", lambda: sg.sgd_step(_IN.clone(), _OUT.clone(), _C, _T, _W, lr="0.1"), TypeError, "lr must be a number"),
    ("skipgram.sgd_step", lambda: sg.sgd_step(_IN.clone(), _OUT.clone(), torch.tensor([[2, 7]]), _T, _W, 0.1), ValueError, "contexts must hold ids in [0, 5]"),
    ("skipgram.sgd_step", lambda: sg.sgd_step(torch.full((6, 4), _NAN), _OUT.clone(), _C, _T, _W, 0.1), ValueError, "in_w must hold finite numbers"),
    ("skipgram.train", lambda: sg.train(None, progress=False), TypeError, "sentences must be an iterable of word sequences"),
    ("skipgram.train", lambda: sg.train("a b c", progress=False), TypeError, "sentences must be an iterable of word sequences"),
    ("skipgram.train", lambda: sg.train([["a"]], {"epochs": 1}), TypeError, "config must be a SkipGramConfig"),
    ("skipgram.train", lambda: sg.train([["a"]], vocab=["a"], progress=False), TypeError, "vocab must be an embedlab.text.Vocab or None"),
    ("skipgram.train", lambda: sg.train([["a"]], progress="no"), TypeError, "progress must be True or False"),
    ("skipgram.train", lambda: sg.train([["a", "b"]], sg.SkipGramConfig(min_count=5), progress=False), ValueError, "the vocabulary is empty"),
]


def test_the_good_calls_next_to_the_bad_ones_work():
    assert sg.sample_noise(_TABLE, (2, 3), torch.Generator()).shape == (2, 3)
    assert sg.subsample(*_toy_corpus(), _KEEP, torch.Generator())[0].tolist() == [2, 3, 4, 2]
    assert _MODEL(_C, _T, _W).shape == ()
    loss, grad_context, grad_target = sg.batch_grads(_IN, _OUT, _C, _T, _W)
    assert grad_context.shape == (1, 2, 4) and grad_target.shape == (1, 3, 4)
    in_w, out_w = torch.ones(6, 4), torch.ones(6, 4)
    assert float(sg.sgd_step(in_w, out_w, _C, _T, _W, 0.1)) > 0
    assert len(sg.epoch_batches(*_toy_corpus(), _KEEP, _TABLE, sg.SkipGramConfig(window=1), torch.Generator())) >= 1
    assert sg.TrainedSkipGram(*_TRAINED_ARGS).vectors.shape == (len(_VOCAB), 4)
