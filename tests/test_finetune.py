"""Tests of embedlab.finetune: the tweet split, masks, caching that is exact, and every input error.

The model tests use a tiny, randomly initialised BERT (transformers' BertModel) so they run in
well under a second; the pretrained MiniLM has the same architecture.
"""

from __future__ import annotations

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

transformers = pytest.importorskip("transformers")

NUM_LAYERS = 3


def tiny_bert(seed: int = 0):
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


# --- every bad input a docstring rules out --------------------------------------------------------

MODEL = tiny_classifier()
IDS, MASK = ids_and_mask([4, 2], 4)
HIDDEN = MODEL.layer_inputs(IDS, MASK)[1]
CACHE = CacheCollate(HIDDEN, MASK)


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
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(MODEL.encoder, num_classes=1), ValueError, "num_classes must be an int >= 2"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(MODEL.encoder, num_classes=2.0), TypeError, "num_classes must be an int"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(MODEL.encoder, seed=-1), ValueError, "seed must be an int >= 0"),
    ("finetune.PretrainedClassifier", lambda: PretrainedClassifier(MODEL.encoder, seed=2**32), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(IDS.float(), MASK), ValueError, "token_ids must have dtype torch.int64"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(IDS, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(IDS, MASK[:, :3]), ValueError, "padding_mask must have shape (B, T)"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(IDS + 60, MASK), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(IDS - 60, MASK), ValueError, "token_ids must hold ids in [0, 59], got -"),
    ("finetune.PretrainedClassifier.forward", lambda: MODEL(None, MASK), TypeError, "token_ids must be a tensor"),
    ("finetune.PretrainedClassifier.layer_inputs", lambda: MODEL.layer_inputs(IDS + 60, MASK), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.PretrainedClassifier.layer_inputs", lambda: MODEL.layer_inputs(IDS, None), TypeError, "padding_mask must be a tensor"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from(HIDDEN, MASK, 4), ValueError, "start_layer must be an int >= 0 and <= 3"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from(HIDDEN, MASK, 1.0), TypeError, "start_layer must be an int"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from(HIDDEN[0], MASK, 1), ValueError, "hidden must have shape (B, T, D)"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from(HIDDEN.double(), MASK, 1), ValueError, "hidden must have dtype torch.float32, got torch.float64"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from(HIDDEN, MASK[:1], 1), ValueError, "padding_mask must have shape (B, T)"),
    ("finetune.PretrainedClassifier.forward_from", lambda: MODEL.forward_from("h", MASK, 1), TypeError, "hidden must be a tensor"),
    ("finetune.FromLayer", lambda: FromLayer(MODEL.encoder, 1), TypeError, "classifier must be a finetune.PretrainedClassifier"),
    ("finetune.FromLayer", lambda: FromLayer(MODEL, -1), ValueError, "start_layer must be an int >= 0 and <= 3"),
    ("finetune.FromLayer", lambda: FromLayer(MODEL, True), TypeError, "start_layer must be an int"),
    ("finetune.FromLayer.forward", lambda: FromLayer(MODEL, 1)(HIDDEN, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.disable_dropout", lambda: disable_dropout("model"), TypeError, "module must be an nn.Module"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL.encoder, IDS, MASK, [1]), TypeError, "classifier must be a finetune.PretrainedClassifier"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS, MASK, []), ValueError, "layers must hold at least one of its layer numbers"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS, MASK, [5]), ValueError, "layers[0] must be an int >= 0 and <= 3, got 5"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS, MASK, [1.0]), TypeError, "layers[0] must be an int"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS, MASK, 2), TypeError, "layers must be a list or tuple of layer numbers"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS, MASK, [1], batch_size=0), ValueError, "batch_size must be an int >= 1"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(MODEL, IDS + 60, MASK, [1]), ValueError, "token_ids must hold ids in [0, 59]"),
    ("finetune.cache_layer_inputs", lambda: cache_layer_inputs(tiny_classifier(dropout=True), IDS, MASK, [1]), ValueError, "call finetune.disable_dropout first"),
    ("finetune.CacheCollate", lambda: CacheCollate(HIDDEN[0], MASK), ValueError, "hidden must have shape (S, T, D)"),
    ("finetune.CacheCollate", lambda: CacheCollate(HIDDEN.long(), MASK), ValueError, "hidden must have a floating-point dtype"),
    ("finetune.CacheCollate", lambda: CacheCollate(HIDDEN, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("finetune.CacheCollate", lambda: CacheCollate(HIDDEN, MASK[:1]), ValueError, "padding_mask must have shape (S, T) = (2, 4)"),
    ("finetune.CacheCollate", lambda: CacheCollate(None, MASK), TypeError, "hidden must be a tensor"),
    ("finetune.CacheCollate.examples", lambda: CACHE.examples([0, 1, 1]), ValueError, "labels must hold one class per row (2), got 3"),
    ("finetune.CacheCollate.examples", lambda: CACHE.examples([0, 1.0]), TypeError, "labels[1] must be an int class"),
    ("finetune.CacheCollate.examples", lambda: CACHE.examples("01"), TypeError, "labels must be a list or tuple of int classes"),
    ("finetune.CacheCollate.__call__", lambda: CACHE([([5], 0)]), ValueError, "examples[0] row must be an int >= 0 and < 2, got 5"),
    ("finetune.CacheCollate.__call__", lambda: CACHE([([0, 1], 0)]), ValueError, "examples[0] must name one cached row"),
    ("finetune.CacheCollate.__call__", lambda: CACHE([([0.0], 0)]), TypeError, "examples[0] row must be an int"),
    ("finetune.CacheCollate.__call__", lambda: CACHE(None), TypeError, "examples must be a list or tuple"),
]

