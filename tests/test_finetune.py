"""Tests of embedlab.finetune: the tweet split, masks, caching that is exact, and every input error.

The model tests use a tiny, randomly initialised BERT (transformers' BertModel) so they run in
well under a second; the pretrained MiniLM has the same architecture.
"""

from __future__ import annotations

import functools
import importlib.util
import re

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from conftest import assert_perturbed
from embedlab import encoder, finetune, train
from embedlab.attention import additive_mask
from embedlab.finetune import (
    CacheCollate,
    FromLayer,
    PretrainedClassifier,
    cache_layer_inputs,
    disable_dropout,
    encode_texts,
    to_examples,
)

if importlib.util.find_spec("transformers") is None:  # imported where used: it takes a second
    pytest.skip("needs transformers", allow_module_level=True)

NUM_LAYERS = 3


def tiny_bert(seed: int = 0):
    import transformers

    config = transformers.BertConfig(
        vocab_size=60, hidden_size=16, num_hidden_layers=NUM_LAYERS, num_attention_heads=4,
        intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    torch.manual_seed(seed)
    return transformers.BertModel(config, add_pooling_layer=False).eval()


def tiny_classifier(seed: int = 0, dropout: bool = False) -> PretrainedClassifier:
    bert = tiny_bert(seed)
    if not dropout:
        disable_dropout(bert)
    torch.manual_seed(seed + 1)
    return PretrainedClassifier(bert, num_classes=2)


def ids_and_mask(lengths: list[int], num_tokens: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(5, 60, (len(lengths), num_tokens), generator=torch.Generator().manual_seed(seed))
    mask = torch.arange(num_tokens)[None, :] >= torch.tensor(lengths)[:, None]  # (B, T), True at padding
    return ids.masked_fill(mask, 0), mask


def test_to_examples_drops_padding():
    ids = torch.tensor([[101, 7, 102, 0], [101, 102, 0, 0]])
    examples = to_examples(ids, ids == 0, [1, 0])
    assert examples == [([101, 7, 102], 1), ([101, 102], 0)]


# --- tokenization and masks ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(minilm):
    return minilm[0]


@pytest.mark.parametrize("max_len", [4, 8, 32])
def test_encode_texts_cuts_and_marks_padding(tokenizer, max_len):
    texts = ["I love it", "self-driving cars will never be safe on a crowded highway at night"]
    ids, mask = encode_texts(tokenizer, texts, max_len)
    assert ids.dtype == torch.long and mask.dtype == torch.bool
    assert ids.shape == mask.shape and ids.shape[1] <= max_len
    assert torch.all(ids[mask] == tokenizer.pad_token_id)
    assert ids[0, 0] == tokenizer.cls_token_id
    real = (~mask).sum(dim=1)
    assert ids[1, real[1] - 1] == tokenizer.sep_token_id  # [SEP] survives the cut
    assert real[0] == min(max_len, 5)  # [CLS] i love it [SEP]


# --- PretrainedClassifier and caching ----------------------------------------------------------


def test_forward_pools_the_real_tokens_of_the_last_layer():
    model = tiny_classifier()
    ids, mask = ids_and_mask([7, 4, 1], 7)
    hidden = model.encoder(input_ids=ids, attention_mask=(~mask).long()).last_hidden_state
    pooled = torch.stack([hidden[0].mean(0), hidden[1, :4].mean(0), hidden[2, :1].mean(0)])
    assert_close(model(ids, mask), model.head(pooled))


def test_padding_does_not_change_logits():
    model = tiny_classifier()
    ids, mask = ids_and_mask([5], 5)
    longer_ids, longer_mask = ids_and_mask([5], 9)
    longer_ids[:, :5] = ids
    assert_close(model(longer_ids, longer_mask), model(ids, mask))


@pytest.mark.parametrize("start_layer", range(NUM_LAYERS + 1))
def test_forward_from_any_layer_equals_the_full_forward(start_layer):
    model = tiny_classifier()
    ids, mask = ids_and_mask([6, 3, 6, 1], 6)
    states = model.layer_inputs(ids, mask)
    assert len(states) == NUM_LAYERS + 1
    assert_close(model.forward_from(states[start_layer], mask, start_layer), model(ids, mask))
    assert_close(FromLayer(model, start_layer)(states[start_layer], mask), model(ids, mask))


def test_cache_holds_every_example_and_matches_batch_by_batch():
    model = tiny_classifier()
    ids, mask = ids_and_mask([6, 3, 6, 1, 2], 6)
    cache = cache_layer_inputs(model, ids, mask, layers=[0, 2, NUM_LAYERS], batch_size=2)
    assert set(cache) == {0, 2, NUM_LAYERS}
    assert cache[2].shape == (5, 6, 16) and not cache[2].requires_grad
    assert_close(model.forward_from(cache[2], mask, 2), model(ids, mask))


def test_a_training_step_through_the_cache_equals_one_through_the_full_model():
    """Frozen bottom + no dropout: the cached path trains exactly like the full one."""
    ids, mask = ids_and_mask([6, 3, 6, 2], 6)
    labels = torch.tensor([0, 1, 1, 0])
    results = []
    for cached in (False, True):
        model = tiny_classifier()
        train.freeze(model.encoder.embeddings, model.layers[:2])
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
        if cached:
            hidden = cache_layer_inputs(model, ids, mask, layers=[2])[2]
            logits = FromLayer(model, 2)(hidden, mask)
        else:
            logits = model(ids, mask)
        F.cross_entropy(logits, labels).backward()
        optimizer.step()
        results.append(model.state_dict())
    for name, value in results[0].items():
        assert_close(results[1][name], value, msg=name)
    assert not torch.equal(results[1]["head.weight"], tiny_classifier().state_dict()["head.weight"])


def test_train_fit_from_the_cache_equals_fit_of_the_full_model():
    """Two epochs of embedlab.train.fit: through CacheCollate, and through the full model from token ids."""
    from embedlab import train

    ids, mask = ids_and_mask([6, 3, 5, 2, 6, 4, 1, 3], 6, seed=3)
    labels = [0, 1, 1, 0, 1, 0, 0, 1]
    config = train.TrainConfig(epochs=2, batch_size=3, lr=1e-2, patience=0, progress=False)
    trained = []
    for cached in (False, True):
        model = tiny_classifier()
        train.freeze(model.encoder.embeddings, model.layers[:2])
        if cached:
            collate = CacheCollate(cache_layer_inputs(model, ids, mask, layers=[2])[2], mask)
            examples = collate.examples(labels)
            train.fit(FromLayer(model, 2), examples, examples, collate, config)
        else:
            examples = to_examples(ids, mask, labels)
            train.fit(model, examples, examples, train.PadCollate(), config)
        trained.append(model.state_dict())
    for name, value in trained[0].items():
        assert_close(trained[1][name], value, msg=name)
    assert not torch.equal(trained[1]["head.weight"], tiny_classifier().state_dict()["head.weight"])


def test_disable_dropout_makes_training_mode_deterministic():
    model = tiny_classifier(dropout=True).train()
    ids, mask = ids_and_mask([6, 3], 6)
    assert not torch.equal(model(ids, mask), model(ids, mask))  # dropout on: two different answers
    assert disable_dropout(model) > 0
    assert disable_dropout(model) == 0  # nothing left to switch off
    assert model.encoder.config.hidden_dropout_prob == 0.0
    assert torch.equal(model(ids, mask), model(ids, mask))
    assert_close(model(ids, mask), model.eval()(ids, mask))


def test_cache_collate_serves_rows_cut_to_the_longest():
    model = tiny_classifier()
    ids, mask = ids_and_mask([6, 2, 3, 1], 6)
    cache = cache_layer_inputs(model, ids, mask, layers=[2])[2]
    collate = CacheCollate(cache, mask)
    examples = collate.examples([0, 1, 1, 0])
    assert examples[2] == ([2], 1)
    (hidden, batch_mask), labels = collate([examples[1], examples[2]])
    assert hidden.shape == (2, 3, 16) and batch_mask.shape == (2, 3)  # cut to 3, the longer of 2 and 3
    assert torch.equal(hidden, cache[[1, 2], :3]) and labels.tolist() == [1, 1]
    assert_close(FromLayer(model, 2)(hidden, batch_mask), model(ids[[1, 2]], mask[[1, 2]]))


def test_bert_layer_is_our_post_norm_encoder_block():
    """A BERT layer is embedlab.encoder.EncoderBlock with norm_first=False (and BERT's epsilon)."""
    bert = tiny_bert()
    layer = bert.encoder.layer[0]
    block = encoder.EncoderBlock(16, 4, 32, norm_first=False, layer_norm_eps=bert.config.layer_norm_eps)
    pairs = [
        (block.attention.q_proj, layer.attention.self.query),
        (block.attention.k_proj, layer.attention.self.key),
        (block.attention.v_proj, layer.attention.self.value),
        (block.attention.out_proj, layer.attention.output.dense),
        (block.norm1, layer.attention.output.LayerNorm),
        (block.feed_forward.linear1, layer.intermediate.dense),
        (block.feed_forward.linear2, layer.output.dense),
        (block.norm2, layer.output.LayerNorm),
    ]
    for ours, theirs in pairs:
        ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))
    padding_mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    theirs = finetune._first(layer(x, additive_mask(padding_mask)))
    ours, _ = block(x, padding_mask)
    assert_close(ours[~padding_mask], theirs[~padding_mask])


@pytest.mark.parametrize("seed", [0, 5])
def test_head_drawn_from_the_seed_equals_nn_linear_after_manual_seed(seed):
    """Chapter 07 seeds torch's global generator, then builds the classifier: the same head, bit for bit."""
    bert = tiny_bert()
    torch.manual_seed(seed)
    reference = torch.nn.Linear(16, 2)
    after_reference = torch.get_rng_state()
    torch.manual_seed(seed)
    model = PretrainedClassifier(bert, num_classes=2, seed=seed)
    assert torch.equal(model.head.weight, reference.weight) and torch.equal(model.head.bias, reference.bias)
    assert torch.equal(torch.get_rng_state(), after_reference)  # the global generator moves as before


# --- BitFit, LoRA (by hand and peft's), schedules, what changed, baseline, bootstrap ---------------


def test_lora_linear_starts_as_the_base_layer_and_adds_the_scaled_low_rank_update():
    base = torch.nn.Linear(6, 5)
    lora = finetune.LoRALinear(base, rank=2, alpha=4.0, generator=torch.Generator().manual_seed(0))
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(lora(x), base(x))  # B = 0: exactly the pretrained layer
    lora.lora_B.data = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    expected = x @ base.weight.T + base.bias + 2.0 * (x @ lora.lora_A.T @ lora.lora_B.T)
    assert_close(lora(x), expected)
    assert_close(torch.nn.functional.linear(x, lora.merged_weight(), base.bias), expected)
    assert not base.weight.requires_grad and lora.lora_A.requires_grad and lora.lora_B.requires_grad
    assert lora.lora_A.abs().max() <= 1 / 6**0.5


def test_hand_written_lora_equals_peft_on_the_same_weights():
    ours, theirs = tiny_bert(), tiny_bert()
    disable_dropout(ours), disable_dropout(theirs)
    wrapped = finetune.add_lora(ours, rank=4, alpha=8.0, seed=0)
    peft_bert = finetune.peft_lora(theirs, rank=4, alpha=8.0)
    generator = torch.Generator().manual_seed(3)
    for i, layer in enumerate(peft_bert.encoder.layer):
        for j, name in enumerate(("query", "value")):
            mine = wrapped[2 * i + j]
            mine.lora_B.data = torch.randn(mine.lora_B.shape, generator=generator)
            theirs_layer = getattr(layer.attention.self, name)
            theirs_layer.lora_A.default.weight.data.copy_(mine.lora_A.data)
            theirs_layer.lora_B.default.weight.data.copy_(mine.lora_B.data)
    ids, mask = ids_and_mask([6, 3], 6)
    a = ours(input_ids=ids, attention_mask=(~mask).long()).last_hidden_state
    b = peft_bert(input_ids=ids, attention_mask=(~mask).long()).last_hidden_state
    plain = tiny_bert()(input_ids=ids, attention_mask=(~mask).long()).last_hidden_state
    assert_close(a, b)
    assert not torch.allclose(a, plain)  # the updates are not zero, so the check means something
    trainable = {n for n, p in peft_bert.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)


@pytest.mark.parametrize("regime, start", [("frozen", 3), ("top_k", 1), ("full", None), ("bitfit", None),
                                           ("lora", None)])
def test_build_regime_trains_what_the_regime_names(regime, start):
    bert = tiny_bert()
    model, cache_from = finetune.build_regime(bert, regime, seed=0, top_k=2, lora_rank=2)
    assert cache_from == start
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {"head.weight", "head.bias"} <= trainable
    encoder_names = {n for n in trainable if n.startswith("encoder.")}
    if regime == "frozen":
        assert not encoder_names
    elif regime == "top_k":
        assert encoder_names and all(".layer.1." in n or ".layer.2." in n for n in encoder_names)
    elif regime == "full":
        assert encoder_names == {"encoder." + n for n, _ in bert.named_parameters()}
    elif regime == "bitfit":
        assert encoder_names and all(n.endswith(".bias") for n in encoder_names)
        assert len(encoder_names) == sum(n.endswith(".bias") for n, _ in bert.named_parameters())
    else:
        assert len(encoder_names) == 2 * 2 * NUM_LAYERS and all("lora_" in n for n in encoder_names)
    assert all(p.requires_grad for p in bert.parameters()) or regime != "full"  # the original is a copy


def test_unfreeze_biases_counts_every_bias():
    bert = tiny_bert()
    train.freeze(bert)
    assert finetune.unfreeze_biases(bert) == sum(p.numel() for n, p in bert.named_parameters() if n.endswith("bias"))


def test_steps_per_epoch_rounds_up():
    assert finetune.steps_per_epoch(256, 32) == 8 and finetune.steps_per_epoch(257, 32) == 9


def _tiny_data(n=12):
    ids, mask = ids_and_mask([6, 3, 5, 2, 6, 4] * (n // 6), 6, seed=4)
    labels = tuple([0, 1] * (n // 2))
    parts = {"train": slice(0, n // 2), "val": slice(n // 2, 3 * n // 4), "test": slice(3 * n // 4, n)}
    return finetune.EncodedSplit(ids, mask, labels, parts, tuple(f"t{i}" for i in range(n)))


def test_fit_scheduled_warms_up_then_decays_linearly_to_zero():
    data = _tiny_data()
    model = tiny_classifier()
    rows = to_examples(data.token_ids, data.padding_mask, list(data.labels))
    config = train.TrainConfig(epochs=5, batch_size=2, lr=0.1, patience=0, progress=False)
    run = finetune.fit_scheduled(model, rows[:6], rows[6:9], train.PadCollate(), config, warmup_fraction=0.2)
    assert run.steps_per_epoch == 3 and len(run.step_losses) == 15
    warmup = 3
    expected = [0.1 * s / warmup if s < warmup else 0.1 * (15 - s) / (15 - warmup) for s in range(15)]
    assert run.learning_rates == pytest.approx(expected)
    constant = finetune.fit_scheduled(tiny_classifier(), rows[:6], rows[6:9], train.PadCollate(), config,
                                      schedule="constant")
    assert constant.learning_rates == pytest.approx([0.1] * 15)


def test_fit_scheduled_with_a_constant_rate_equals_train_fit():
    data = _tiny_data()
    rows = to_examples(data.token_ids, data.padding_mask, list(data.labels))
    config = train.TrainConfig(epochs=2, batch_size=3, lr=1e-2, patience=0, progress=False)
    a, b = tiny_classifier(), tiny_classifier()
    train.fit(a, rows[:6], rows[6:9], train.PadCollate(), config)
    finetune.fit_scheduled(b, rows[:6], rows[6:9], train.PadCollate(), config, schedule="constant")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert_close(y, x, msg=name)


def test_train_regime_from_the_cache_equals_training_from_token_ids():
    data = _tiny_data()
    settings = finetune.RegimeSettings(epochs=2, patience=0, batch_size=3, lr=1e-2, encoder_lr_scale=0.1)
    probe, _ = finetune.build_regime(tiny_bert(), "frozen")
    cache = cache_layer_inputs(probe, data.token_ids, data.padding_mask, [1])
    cached = finetune.train_regime(tiny_bert(), "top_k", data, settings, seed=0, cache=cache)
    direct = finetune.train_regime(tiny_bert(), "top_k", data, settings, seed=0, cache=None)
    assert cached.trainable_parameters == direct.trainable_parameters
    assert cached.test_correct == direct.test_correct
    for (name, x), y in zip(direct.classifier.state_dict().items(), cached.classifier.state_dict().values()):
        assert_close(y, x, msg=name)


def test_layer_weight_change_and_row_drift():
    before, after = tiny_bert(), tiny_bert()
    with torch.no_grad():
        after.encoder.layer[1].output.dense.weight.mul_(2.0)
        after.embeddings.word_embeddings.weight[7] += 1.0
    change = finetune.layer_weight_change(before, after)
    assert list(change) == ["embeddings", "layer 0", "layer 1", "layer 2"]
    assert change["layer 0"] == 0.0 and change["layer 2"] == 0.0 and 0 < change["layer 1"] < 1
    layer = dict(before.encoder.layer[1].named_parameters())
    norm = sum(p.pow(2).sum() for p in layer.values()).sqrt()
    assert change["layer 1"] == pytest.approx((layer["output.dense.weight"].norm() / norm).item(), rel=1e-6)
    drift = finetune.row_drift(before.embeddings.word_embeddings.weight, after.embeddings.word_embeddings.weight)
    assert drift.shape == (60,) and drift[7] == pytest.approx(16**0.5) and drift.sum() == drift[7]


def test_token_counts_skip_padding():
    ids = torch.tensor([[1, 2, 2, 0], [2, 0, 0, 0]])
    counts = finetune.token_counts(ids, ids == 0, 4)
    assert counts.tolist() == [0, 1, 3, 0]


def test_tfidf_baseline_is_chosen_on_validation_and_predicts_every_test_text():
    train_texts = ["good great fun", "great good", "bad awful", "awful bad sad", "fun good", "sad bad"]
    labels = [1, 1, 0, 0, 1, 0]
    out = finetune.tfidf_baseline(train_texts, labels, ["good fun", "bad sad"], [1, 0], ["great", "awful", "x"])
    assert out["val_accuracy"] == 1.0 and out["test_predictions"][:2] == [1, 0] and len(out["test_predictions"]) == 3
    assert out["features"] == "word 1" and out["C"] == 0.3  # the first setting that reaches the best accuracy


def test_paired_bootstrap_centres_on_the_mean_difference_and_covers_it():
    a = [1] * 80 + [0] * 20
    b = [1] * 70 + [0] * 30
    mean, low, high = finetune.paired_bootstrap(a, b, num_resamples=2000, seed=0)
    assert mean == pytest.approx(0.1) and low < 0.1 < high and low > 0
    same = finetune.paired_bootstrap(a, a)
    assert same == (0.0, 0.0, 0.0)  # identical systems: no spread at all, as pairing promises


def test_regime_settings_checks_its_fields():
    with pytest.raises(ValueError, match="schedule must be one of"):
        finetune.RegimeSettings(schedule="cosine")


# --- every bad input a docstring rules out --------------------------------------------------------

# The model and what it computes are built on first use, by the cases that call them, not when the
# module is imported: every test process imports this module to collect the contract suite
# (tests/test_contract.py), and building a BertModel there costs seconds of transformers imports.
IDS, MASK = ids_and_mask([4, 2], 4)


@functools.cache
def _model() -> PretrainedClassifier:
    return tiny_classifier()


@functools.cache
def _hidden() -> torch.Tensor:
    return _model().layer_inputs(IDS, MASK)[1]


@functools.cache
def _cache() -> CacheCollate:
    return CacheCollate(_hidden(), MASK)

LORA = finetune.LoRALinear(torch.nn.Linear(4, 3), 2, 4.0, torch.Generator().manual_seed(0))


def fake_tokenizer(texts, **kwargs):
    raise AssertionError("the checks come before the tokenizer")



def test_noise_mode_perturbs_the_new_head_only(monkeypatch):
    off = tiny_classifier()
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    on = tiny_classifier()
    assert_perturbed(off.head, on.head)
    for (name, a), b in zip(off.encoder.named_parameters(), on.encoder.parameters()):
        assert torch.equal(a, b), name  # the pretrained encoder is loaded, not drawn

BAD_CALLS = [
    ("finetune.to_examples", lambda: to_examples(IDS, MASK, [1]), ValueError, "labels must hold one class per row (2), got 1"),
    ("finetune.to_examples", lambda: to_examples(IDS, IDS, [1, 0]), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.to_examples", lambda: to_examples(IDS.float(), MASK, [1, 0]), ValueError, "token_ids must have dtype torch.int64"),
    ("finetune.to_examples", lambda: to_examples(IDS.tolist(), MASK, [1, 0]), TypeError, "token_ids must be a tensor"),
    ("finetune.to_examples", lambda: to_examples(IDS, MASK, [1, 0.5]), TypeError, "labels[1] must be an int class, got float 0.5"),
    ("finetune.to_examples", lambda: to_examples(IDS, MASK, [1, -1]), ValueError, "labels[1] must be an int class >= 0"),
    ("finetune.to_examples", lambda: to_examples(IDS, MASK, None), TypeError, "labels must be a list or tuple of int classes"),
    ("finetune.to_examples", lambda: to_examples(IDS - 9, MASK, [1, 0]), ValueError, "token_ids must hold ids in [0, any], got -"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, "one text", 8), TypeError, "texts must be a list of str, got a single str"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, [], 8), ValueError, "texts must hold at least one of its str"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, None, 8), TypeError, "texts must be a list or tuple of str"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, ["a", 3], 8), TypeError, "texts[1] must be a str"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, ["a"], 1), ValueError, "max_len must be an int >= 2"),
    ("finetune.encode_texts", lambda: encode_texts(fake_tokenizer, ["a"], 8.0), TypeError, "max_len must be an int"),
    ("finetune.encode_texts", lambda: encode_texts(None, ["a"], 8), TypeError, "tokenizer must be a transformers tokenizer"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(torch.nn.Linear(2, 2)), TypeError, "encoder must be a BERT-style model"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(None), TypeError, "encoder must be a BERT-style model"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(_model().encoder, num_classes=1), ValueError, "num_classes must be an int >= 2"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(_model().encoder, num_classes=2.0), TypeError, "num_classes must be an int"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(_model().encoder, seed=-1), ValueError, "seed must be an int >= 0"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(_model().encoder, seed=2**32), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(IDS.float(), MASK), ValueError, "token_ids must have dtype torch.int64"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(IDS, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(IDS, MASK[:, :3]), ValueError, "padding_mask must have shape (B, T)"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(IDS + 60, MASK), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(IDS - 60, MASK), ValueError, "token_ids must hold ids in [0, 59], got -"),
    ("finetune.PretrainedClassifier.forward", lambda: _model()(None, MASK), TypeError, "token_ids must be a tensor"),
    ("finetune.PretrainedClassifier.layer_inputs", lambda: _model().layer_inputs(IDS + 60, MASK), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.PretrainedClassifier.layer_inputs", lambda: _model().layer_inputs(IDS, None), TypeError, "padding_mask must be a tensor"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from(_hidden(), MASK, 4), ValueError, "start_layer must be an int >= 0 and <= 3"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from(_hidden(), MASK, 1.0), TypeError, "start_layer must be an int"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from(_hidden()[0], MASK, 1), ValueError, "hidden must have shape (B, T, D)"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from(_hidden().double(), MASK, 1), ValueError, "hidden must have dtype torch.float32, got torch.float64"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from(_hidden(), MASK[:1], 1), ValueError, "padding_mask must have shape (B, T)"),
    ("finetune.PretrainedClassifier.forward_from", lambda: _model().forward_from("h", MASK, 1), TypeError, "hidden must be a tensor"),
    ("finetune.FromLayer", lambda: FromLayer(_model().encoder, 1), TypeError, "classifier must be a finetune.PretrainedClassifier"),
    ("finetune.FromLayer", lambda: FromLayer(_model(), -1), ValueError, "start_layer must be an int >= 0 and <= 3"),
    ("finetune.FromLayer", lambda: FromLayer(_model(), True), TypeError, "start_layer must be an int"),
    ("finetune.FromLayer.forward", lambda: FromLayer(_model(), 1)(_hidden(), MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.disable_dropout", lambda: disable_dropout("model"), TypeError, "module must be an nn.Module"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model().encoder, IDS, MASK, [1]), TypeError, "classifier must be a finetune.PretrainedClassifier"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS, MASK, []), ValueError, "layers must hold at least one of its layer numbers"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS, MASK, [5]), ValueError, "layers[0] must be an int >= 0 and <= 3, got 5"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS, MASK, [1.0]), TypeError, "layers[0] must be an int"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS, MASK, 2), TypeError, "layers must be a list or tuple of layer numbers"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS, MASK, [1], batch_size=0), ValueError, "batch_size must be an int >= 1"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(_model(), IDS + 60, MASK, [1]), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(tiny_classifier(dropout=True), IDS, MASK, [1]), ValueError, "call finetune.disable_dropout first"),
    ("finetune.CacheCollate", lambda: CacheCollate(_hidden()[0], MASK), ValueError, "hidden must have shape (S, T, D)"),
    ("finetune.CacheCollate", lambda: CacheCollate(_hidden().long(), MASK), ValueError, "hidden must have a floating-point dtype"),
    ("finetune.CacheCollate", lambda: CacheCollate(_hidden(), MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.CacheCollate", lambda: CacheCollate(_hidden(), MASK[:1]), ValueError, "padding_mask must have shape (S, T) = (2, 4)"),
    ("finetune.CacheCollate", lambda: CacheCollate(None, MASK), TypeError, "hidden must be a tensor"),
    ("finetune.CacheCollate.examples", lambda: _cache().examples([0, 1, 1]), ValueError, "labels must hold one class per row (2), got 3"),
    ("finetune.CacheCollate.examples", lambda: _cache().examples([0, 1.0]), TypeError, "labels[1] must be an int class"),
    ("finetune.CacheCollate.examples", lambda: _cache().examples("01"), TypeError, "labels must be a list or tuple of int classes"),
    ("finetune.CacheCollate.__call__", lambda: _cache()([([5], 0)]), ValueError, "examples[0] row must be an int >= 0 and < 2, got 5"),
    ("finetune.CacheCollate.__call__", lambda: _cache()([([0, 1], 0)]), ValueError, "examples[0] must name one cached row"),
    ("finetune.CacheCollate.__call__", lambda: _cache()([([0.0], 0)]), TypeError, "examples[0] row must be an int"),
    ("finetune.CacheCollate.__call__", lambda: _cache()(None), TypeError, "examples must be a list or tuple"),
    ("finetune.LoRALinear", lambda: finetune.LoRALinear(torch.nn.Conv1d(2, 2, 1), 1, 1.0, torch.Generator()), TypeError, "base must be an nn.Linear"),
    ("finetune.LoRALinear", lambda: finetune.LoRALinear(torch.nn.Linear(4, 3), 4, 1.0, torch.Generator()), ValueError, "rank must be an int >= 1 and <= 3"),
    ("finetune.LoRALinear", lambda: finetune.LoRALinear(torch.nn.Linear(4, 3), 1, 0.0, torch.Generator()), ValueError, "alpha must be"),
    ("finetune.LoRALinear", lambda: finetune.LoRALinear(torch.nn.Linear(4, 3), 1, 1.0, 0), TypeError, "generator must be a torch.Generator"),
    ("finetune.LoRALinear.forward", lambda: LORA(torch.zeros(2, 5)), ValueError, "x must be a tensor of shape (..., 4)"),
    ("finetune.LoRALinear.forward", lambda: LORA([1.0]), TypeError, "x must be a tensor of shape (..., 4)"),
    ("finetune.LoRALinear.merged_weight", lambda: LORA.merged_weight(1), TypeError, "positional argument"),
    ("finetune.add_lora", lambda: finetune.add_lora(torch.nn.Linear(2, 2)), TypeError, "encoder must be a BERT-style model"),
    ("finetune.add_lora", lambda: finetune.add_lora(tiny_bert(), targets=("dense",)), ValueError, "targets[0] must be one of"),
    ("finetune.add_lora", lambda: finetune.add_lora(tiny_bert(), seed=-1), ValueError, "seed must be an int >= 0"),
    ("finetune.add_lora", lambda: finetune.add_lora(tiny_bert(), rank=0), ValueError, "rank must be an int >= 1"),
    ("finetune.unfreeze_biases", lambda: finetune.unfreeze_biases(None), TypeError, "module must be an nn.Module"),
    ("finetune.peft_lora", lambda: finetune.peft_lora("bert"), TypeError, "encoder must be a BERT-style model"),
    ("finetune.peft_lora", lambda: finetune.peft_lora(tiny_bert(), rank=0), ValueError, "rank must be an int >= 1"),
    ("finetune.build_regime", lambda: finetune.build_regime(tiny_bert(), "half"), ValueError, "regime must be one of"),
    ("finetune.build_regime", lambda: finetune.build_regime(tiny_bert(), "top_k", top_k=4), ValueError, "top_k must be an int >= 1 and <= 3"),
    ("finetune.build_regime", lambda: finetune.build_regime(None, "full"), TypeError, "encoder must be a BERT-style model"),
    ("finetune.build_regime", lambda: finetune.build_regime(tiny_bert(), "full", head="h"), TypeError, "head must be an nn.Linear"),
    ("finetune.Run", lambda: finetune.Run(history=None), TypeError, "history must be a train.History"),
    ("finetune.Run", lambda: finetune.Run(history=train.History(), steps_per_epoch=-1), ValueError, "steps_per_epoch must be an int >= 0"),
    ("finetune.steps_per_epoch", lambda: finetune.steps_per_epoch(0, 32), ValueError, "num_examples must be an int >= 1"),
    ("finetune.steps_per_epoch", lambda: finetune.steps_per_epoch(10, 2.0), TypeError, "batch_size must be an int"),
    ("finetune.fit_scheduled", lambda: finetune.fit_scheduled(_model(), [([1, 2], 0)], [([1, 2], 0)], train.PadCollate(), train.TrainConfig(), schedule="cosine"), ValueError, "schedule must be one of"),
    ("finetune.fit_scheduled", lambda: finetune.fit_scheduled(_model(), [([1, 2], 0)], [([1, 2], 0)], train.PadCollate(), train.TrainConfig(), warmup_fraction=1.0), ValueError, "warmup_fraction must be"),
    ("finetune.fit_scheduled", lambda: finetune.fit_scheduled(_model(), [([1, 2], 0)], [([1, 2], 0)], train.PadCollate(), "config"), TypeError, "config must be a train.TrainConfig"),
    ("finetune.fit_scheduled", lambda: finetune.fit_scheduled(_model(), None, [([1, 2], 0)], train.PadCollate(), train.TrainConfig()), TypeError, "train_set"),
    ("finetune.layer_weight_change", lambda: finetune.layer_weight_change(_model(), None), TypeError, "after must be an nn.Module"),
    ("finetune.layer_weight_change", lambda: finetune.layer_weight_change(_model(), torch.nn.Linear(2, 2)), ValueError, "the same parameter names"),
    ("finetune.layer_weight_change", lambda: finetune.layer_weight_change(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)), ValueError, "found no embeddings"),
    ("finetune.token_counts", lambda: finetune.token_counts(IDS, MASK, 0), ValueError, "vocab_size must be an int >= 1"),
    ("finetune.token_counts", lambda: finetune.token_counts(IDS, MASK, 5), ValueError, "token_ids must hold ids in [0, 4]"),
    ("finetune.row_drift", lambda: finetune.row_drift(torch.zeros(3, 2), torch.zeros(3, 4)), ValueError, "after must have shape (V, D)"),
    ("finetune.row_drift", lambda: finetune.row_drift(torch.zeros(3), torch.zeros(3)), ValueError, "before must have shape (V, D)"),
    ("finetune.tfidf_baseline", lambda: finetune.tfidf_baseline(["a"], [0, 1], ["a"], [0], ["a"]), ValueError, "labels must hold one class per row (1), got 2"),
    ("finetune.tfidf_baseline", lambda: finetune.tfidf_baseline("a", [0], ["a"], [0], ["a"]), TypeError, "train_texts must be a list of str"),
    ("finetune.tfidf_baseline", lambda: finetune.tfidf_baseline(["a"], [0], ["a"], [0], ["a"], grid_c=(0.0,)), ValueError, "grid_c[0] must be"),
    ("finetune.paired_bootstrap", lambda: finetune.paired_bootstrap([1, 0], [1]), ValueError, "must score the same items"),
    ("finetune.paired_bootstrap", lambda: finetune.paired_bootstrap("10", [1, 0]), TypeError, "correct_a must be a sequence"),
    ("finetune.paired_bootstrap", lambda: finetune.paired_bootstrap([1, 0], [1, 0], num_resamples=5), ValueError, "num_resamples must be an int >= 10"),
    ("finetune.paired_bootstrap", lambda: finetune.paired_bootstrap([1, 0], [1, 0], level=1.0), ValueError, "level must be"),
    ("finetune.EncodedSplit", lambda: finetune.EncodedSplit(IDS, MASK, (0,), {"train": slice(0, 1), "val": slice(1, 2), "test": slice(2, 2)}, ("a", "b")), ValueError, "labels must hold one class per row (2), got 1"),
    ("finetune.EncodedSplit", lambda: finetune.EncodedSplit(IDS, MASK, (0, 1), {"train": slice(0, 1)}, ("a", "b")), ValueError, "parts must name train, val and test"),
    ("finetune.EncodedSplit", lambda: finetune.EncodedSplit(IDS.float(), MASK, (0, 1), {}, ("a", "b")), ValueError, "token_ids must have dtype torch.int64"),
    ("finetune.encode_split", lambda: finetune.encode_split(fake_tokenizer, None, 8), TypeError, "split must be a corpora.Split"),
    ("finetune.RegimeSettings", lambda: finetune.RegimeSettings(epochs=0), ValueError, "epochs must be an int >= 1"),
    ("finetune.RegimeSettings", lambda: finetune.RegimeSettings(lr="1e-3"), TypeError, "lr must be"),
    ("finetune.RegimeSettings", lambda: finetune.RegimeSettings(schedule="cosine"), ValueError, "schedule must be one of"),
    ("finetune.RegimeResult", lambda: finetune.RegimeResult(None, None, 1, [1], 1.0), TypeError, "classifier must be a finetune.PretrainedClassifier"),
    ("finetune.RegimeResult", lambda: finetune.RegimeResult(_model(), None, 1, [1], 1.0), TypeError, "run must be a finetune.Run"),
    ("finetune.train_regime", lambda: finetune.train_regime(tiny_bert(), "full", None, finetune.RegimeSettings()), TypeError, "data must be a finetune.EncodedSplit"),
    ("finetune.train_regime", lambda: finetune.train_regime(tiny_bert(), "full", _tiny_data(), None), TypeError, "settings must be a finetune.RegimeSettings"),
    ("finetune.train_regime", lambda: finetune.train_regime(tiny_bert(), "full", _tiny_data(), finetune.RegimeSettings(), cache=[1]), TypeError, "cache must be a dict"),
    ("finetune.train_regime", lambda: finetune.train_regime(tiny_bert(), "most", _tiny_data(), finetune.RegimeSettings()), ValueError, "regime must be one of"),
]
