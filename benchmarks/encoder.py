"""Chapter 07's encoder classifier, trained to convergence over seeds, against the same model without attention.

Chinese reviews (``corpora.reviews()``, its fixed split): the first 4,000 training reviews, every
review cut to its first 48 characters, the vocabulary built from those training reviews; the full
validation and test splits (1,736 reviews each). The size is a budget choice: one pass of the
encoder over 4,000 reviews costs about 4 s of one CPU core, and the whole benchmark must stay under
about 15 minutes of CPU. One CPU thread (``device.setup``), as in the chapter, so its live run
computes what this file records.

Three starts for the embedding matrix:

* ``random``: N(0, 0.1^2) rows (``EncoderConfig.init_std``), drawn from the run's seed;
* ``lac``: Baidu LAC's pretrained character vectors as they are (chapter 04), std about 1.5;
* ``lac_rescaled``: the same vectors multiplied by one number so that their std is 0.1, the
  random start's scale: the control that separates what LAC's vectors say from how large they are.

Three models, each ``embedlab.encoder.EncoderClassifier`` (embeddings + sinusoidal positions,
masked mean pooling, a final LayerNorm, a linear head):

* ``encoder``: one pre-norm block, attention and feed-forward (the chapter's model);
* ``feed_forward_only``: the same block with its attention removed (the residual stream passes
  it untouched), so what attention adds is the difference to ``encoder``;
* ``no_block``: no block at all (``num_layers=0``): a mean-pooling classifier on the same
  embeddings, positions and final LayerNorm, the model without attention.

Every run trains with ``embedlab.train.fit``: Adam (AdamW without weight decay), learning rate
1e-3, batches of 64, at most 30 epochs, early stopping on validation accuracy with patience 3;
the best epoch's weights are tested. The same settings for every model and start (not tuned per
model). A seed sets both the model's initial parameters (``EncoderConfig.seed``) and the order
of the batches (``TrainConfig.seed``). Seeds: 5 for the encoder and the model without a block
from the random and the LAC start (the headline), 3 elsewhere; the feed-forward-only control is
not trained from the rescaled start (budget).

Also recorded: for every run, the sizes of the residual stream and of what each sublayer adds to
it (``encoder.sublayer_norms``) at initialisation and after training; per epoch, the training loss
and the validation accuracy; per test review, whether it was classified correctly (for the paired
bootstrap intervals); the CPU seconds of each run. For the figure of chapter 07, a 6-block
pre-norm and a 6-block post-norm classifier from the LAC start: the std of the hidden states
after every block (``encoder.hidden_stds``) at initialisation and after one epoch. And TF-IDF of
character 1-2 grams + logistic regression (scikit-learn, C = 1) on the same characters, as a
reference.

Run from the repository root: python -m benchmarks.encoder (or make bench BENCH=encoder)
Writes benchmarks/results/encoder.json and benchmarks/results/encoder.md.
"""

from __future__ import annotations

import time

import numpy as np
import sklearn
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from torch import nn

from benchmarks import harness
from embedlab import corpora, device, encoder, pretrained, text, train

NAME = "encoder"
SETTINGS = {
    "train_reviews": 4000,  # the first 4,000 training reviews
    "max_len": 48,  # characters kept from the start of each review (white space dropped)
    "min_freq": 1,  # vocabulary: every character seen in those training reviews
    "emb_dim": 128,  # fixed by the LAC vectors
    "num_heads": 4,
    "ffn_dim": 256,
    "init_std": 0.1,  # std of the random start, and the std the rescaled LAC start is given
    "batch_size": 64,
    "lr": 1e-3,
    "max_epochs": 30,
    "patience": 3,
    "probe_reviews": 256,  # the first training reviews, the batch the norms and stds are measured on
    "bootstrap_samples": 5000,
    "deep_layers": 6,  # the pre-norm vs post-norm stack of the figure
    "deep_epochs": 1,
}
STARTS = ("random", "lac", "lac_rescaled")
MODELS = ("encoder", "feed_forward_only", "no_block")
HEADLINE = {("random", "encoder"), ("random", "no_block"), ("lac", "encoder"), ("lac", "no_block")}
HEADLINE_SEEDS, OTHER_SEEDS = 5, 3


def seeds_of(start: str, model: str) -> int:
    """How many seeds a (start, model) pair is trained with (0: not trained)."""
    if (start, model) == ("lac_rescaled", "feed_forward_only"):
        return 0  # not in the budget
    return HEADLINE_SEEDS if (start, model) in HEADLINE else OTHER_SEEDS


class NoAttention(nn.Module):
    """Stands in for a block's attention and adds nothing: the block keeps only its feed-forward layer."""

    def __init__(self, emb_dim: int):
        super().__init__()
        self.emb_dim = emb_dim  # read by EncoderBlock's input check

    def forward(self, query: torch.Tensor, padding_mask: torch.Tensor | None = None):
        return torch.zeros_like(query), None  # (B, T, D) of zeros, no weights


def data() -> dict:
    """The examples, the vocabulary and the three starting matrices."""
    s = SETTINGS
    split = corpora.reviews()
    parts = {"train": split.train[: s["train_reviews"]], "val": split.val, "test": split.test}
    tokens = {p: [text.tokenize_zh_chars(r.text)[: s["max_len"]] for r in rs] for p, rs in parts.items()}
    vocab = text.Vocab.build(tokens["train"], min_freq=s["min_freq"])
    lac = pretrained.load_lac_embeddings()
    matrix, _ = pretrained.build_embedding_matrix(vocab, lac.tokens, lac.vectors)  # (V, 128)
    lac_std = matrix[2:].std().item()  # rows 0 and 1 are <pad> and <unk>
    examples = {p: [(vocab.encode(t), r.label) for t, r in zip(tokens[p], parts[p])] for p in parts}
    return {
        "tokens": tokens,
        "labels": {p: [r.label for r in rs] for p, rs in parts.items()},
        "vocab": vocab,
        "examples": examples,
        "starts": {"random": None, "lac": matrix, "lac_rescaled": matrix * (s["init_std"] / lac_std)},
        "lac_std": lac_std,
    }


def build(d: dict, start: str, model_name: str, seed: int, num_layers: int = 1,
          norm_first: bool = True) -> encoder.EncoderClassifier:
    """A classifier of one start and model, initialised from ``seed``, on the CPU."""
    s = SETTINGS
    config = encoder.EncoderConfig(
        vocab_size=len(d["vocab"]), emb_dim=s["emb_dim"], num_heads=s["num_heads"], ffn_dim=s["ffn_dim"],
        num_layers=0 if model_name == "no_block" else num_layers, max_len=s["max_len"], norm_first=norm_first,
        init_std=s["init_std"], seed=seed,
    )
    model = encoder.EncoderClassifier(config, pretrained=d["starts"][start])
    if model_name == "feed_forward_only":
        for block in model.blocks:
            block.attention = NoAttention(s["emb_dim"])
    return model


def probe(d: dict, collate, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch the norms and stds are measured on."""
    (ids, mask), _ = collate(d["examples"]["train"][: SETTINGS["probe_reviews"]])
    return ids.to(dev), mask.to(dev)


@torch.no_grad()
def norms(model: encoder.EncoderClassifier, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Mean norm of the residual stream entering the first block, and of what each sublayer adds."""
    x = model.positions(model.embedding(ids))  # (B, T, D)
    if not model.blocks:
        return {"input": round((x[~mask]).norm(dim=-1).mean().item(), 4)}
    return {k: round(v, 4) for k, v in encoder.sublayer_norms(model.blocks[0], x, mask).items()}


def run_one(d: dict, start: str, model_name: str, seed: int, collate, dev: torch.device) -> dict:
    """Train one (start, model, seed) to its best validation epoch; its curves, scores and norms."""
    s = SETTINGS
    model = build(d, start, model_name, seed).to(dev)
    ids, mask = probe(d, collate, dev)
    model.eval()
    at_init = norms(model, ids, mask)
    config = train.TrainConfig(epochs=s["max_epochs"], batch_size=s["batch_size"], lr=s["lr"],
                               patience=s["patience"], seed=seed, progress=False)
    cpu, wall = time.process_time(), time.perf_counter()
    history = train.fit(model, d["examples"]["train"], d["examples"]["val"], collate, config, device=dev)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    logits = train.predict(model, d["examples"]["test"], collate, device=dev)  # (N, C)
    correct = (logits.argmax(dim=1) == torch.tensor(d["labels"]["test"])).tolist()
    model.eval()
    return {
        "start": start,
        "model": model_name,
        "seed": seed,
        "parameters": train.count_parameters(model),
        "best_epoch": history.best_epoch,
        "epochs_run": len(history.train_loss),
        "train_loss": [round(x, 6) for x in history.train_loss],
        "val_accuracy": [round(x, 6) for x in history.val_accuracy],
        "test_accuracy": round(sum(correct) / len(correct), 6),
        "test_correct": "".join("1" if c else "0" for c in correct),
        "norms_init": at_init,
        "norms_trained": norms(model, ids, mask),
        "cpu_seconds": round(cpu, 1),
        "wall_seconds": round(wall, 1),
    }


def runner(d: dict, start: str, model_name: str, collate, dev: torch.device):
    """A callable that trains the pair's next seed on each call (None once its seeds are done)."""
    seeds = iter(range(seeds_of(start, model_name)))

    def run() -> dict | None:
        seed = next(seeds, None)
        if seed is None:
            return None
        r = run_one(d, start, model_name, seed, collate, dev)
        print(f"[{NAME}] seed {seed} {start:12} {model_name:17}: best epoch {r['best_epoch']:2d} of "
              f"{r['epochs_run']:2d}, test {r['test_accuracy']:.1%}, {r['cpu_seconds']:.0f} s CPU", flush=True)
        return r

    return run


def deep_stds(d: dict, collate, dev: torch.device) -> dict:
    """Std of the hidden states after each of 6 blocks, pre-norm and post-norm, at init and after 1 epoch."""
    s = SETTINGS
    ids, mask = probe(d, collate, dev)
    out = {}
    for norm_first in (True, False):
        model = build(d, "lac", "encoder", 0, num_layers=s["deep_layers"], norm_first=norm_first).to(dev)
        model.eval()
        at_init = encoder.hidden_stds(model, ids, mask)
        config = train.TrainConfig(epochs=s["deep_epochs"], batch_size=s["batch_size"], lr=s["lr"], patience=0,
                                   seed=0, progress=False)
        history = train.fit(model, d["examples"]["train"], d["examples"]["val"], collate, config, device=dev)
        model.eval()
        out["pre_norm" if norm_first else "post_norm"] = {
            "init": [round(x, 5) for x in at_init],
            "trained": [round(x, 5) for x in encoder.hidden_stds(model, ids, mask)],
            "val_accuracy": [round(x, 6) for x in history.val_accuracy],
        }
    return out


def tfidf(d: dict) -> dict:
    """TF-IDF of character 1-2 grams of the same characters, then logistic regression (C = 1)."""
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    features = vectorizer.fit_transform(["".join(t) for t in d["tokens"]["train"]])
    logreg = LogisticRegression(max_iter=1000).fit(features, d["labels"]["train"])
    predicted = logreg.predict(vectorizer.transform(["".join(t) for t in d["tokens"]["test"]]))
    correct = predicted == np.array(d["labels"]["test"])
    return {"features": int(features.shape[1]), "test_accuracy": round(float(correct.mean()), 6),
            "test_correct": "".join("1" if c else "0" for c in correct)}


def correctness(runs: list[dict]) -> np.ndarray:
    """(seeds, N) 0/1 matrix of which test reviews each run got right."""
    return np.array([[c == "1" for c in r["test_correct"]] for r in runs], dtype=float)


def paired_interval(a: np.ndarray, b: np.ndarray, samples: int, seed: int = 0) -> tuple[float, float, float]:
    """Mean accuracy difference a - b and its 95% paired bootstrap interval over test items.

    Each model's correctness is first averaged over its seeds, per test review; the bootstrap then
    resamples test reviews (with replacement), the same ones for both models.
    """
    diff = a.mean(axis=0) - b.mean(axis=0)  # (N,), per review
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)  # (samples,)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def summarise(runs: list[dict]) -> tuple[dict, list[dict]]:
    """Mean and spread per (start, model); paired intervals for the comparisons the chapter makes."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["start"], r["model"]), []).append(r)
    table = {}
    for (start, model), rs in groups.items():
        acc = np.array([r["test_accuracy"] for r in rs])
        table[f"{start}/{model}"] = {
            "start": start, "model": model, "seeds": [r["seed"] for r in rs],
            "test_accuracy_mean": round(float(acc.mean()), 6),
            "test_accuracy_std": round(float(acc.std(ddof=1)), 6) if len(rs) > 1 else None,
            "test_accuracy_min": round(float(acc.min()), 6), "test_accuracy_max": round(float(acc.max()), 6),
            "best_epochs": [r["best_epoch"] for r in rs], "epochs_run": [r["epochs_run"] for r in rs],
        }
    pairs = [((start, "encoder"), (start, "no_block")) for start in STARTS]
    pairs += [((start, "encoder"), (start, "feed_forward_only")) for start in STARTS]
    pairs += [((start, "feed_forward_only"), (start, "no_block")) for start in STARTS]
    pairs += [((start, model), ("lac", model)) for model in ("encoder", "no_block") for start in ("random", "lac_rescaled")]
    comparisons = []
    for a, b in pairs:
        if a not in groups or b not in groups:
            continue
        common = sorted({r["seed"] for r in groups[a]} & {r["seed"] for r in groups[b]})
        ra = [r for r in groups[a] if r["seed"] in common]
        rb = [r for r in groups[b] if r["seed"] in common]
        mean, low, high = paired_interval(correctness(ra), correctness(rb), SETTINGS["bootstrap_samples"])
        comparisons.append({"a": "/".join(a), "b": "/".join(b), "seeds": common, "difference": round(mean, 6),
                            "ci95": [round(low, 6), round(high, 6)]})
    return table, comparisons


def main() -> None:
    dev = device.setup(seed=0, num_threads=1)  # one thread, deterministic; EMBEDLAB_DEVICE picks the device
    before = harness.load_average()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    d = data()
    collate = train.PadCollate(max_len=SETTINGS["max_len"])
    # Round robin over the (start, model) pairs, one seed per round: round k trains seed k of every
    # pair that has that many seeds. Every run is seeded on its own, so the order changes nothing
    # but which runs exist when a long benchmark is stopped.
    calls = {f"{start}/{model_name}": runner(d, start, model_name, collate, dev)
             for start in STARTS for model_name in MODELS if seeds_of(start, model_name)}
    by_pair = harness.round_robin(calls, HEADLINE_SEEDS)
    runs = [by_pair[key][seed] for seed in range(HEADLINE_SEEDS) for key in calls if by_pair[key][seed]]
    deep = deep_stds(d, collate, dev)
    reference = tfidf(d)
    table, comparisons = summarise(runs)
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev, sklearn=sklearn.__version__)
    result = {
        "benchmark": "chapter 07's encoder classifier trained to convergence over seeds, from three starts, "
        "against the same model without attention and without a block; Chinese reviews",
        "environment": env,
        "load": load,
        "settings": SETTINGS,
        "starts": {"lac_std": round(d["lac_std"], 6), "rescale_factor": round(SETTINGS["init_std"] / d["lac_std"], 6)},
        "data": {"train_reviews": len(d["examples"]["train"]), "val_reviews": len(d["examples"]["val"]),
                 "test_reviews": len(d["examples"]["test"]), "vocab_size": len(d["vocab"])},
        "note": "accuracies are deterministic on one CPU thread and do not depend on the load; cpu_seconds "
        "(time.process_time of train.fit) and wall_seconds do",
        "summary": table,
        "comparisons": comparisons,
        "deep_stds": deep,
        "tfidf_logreg": reference,
        "runs": runs,
        "total_cpu_seconds": round(time.process_time() - start_cpu, 1),
        "total_wall_seconds": round(time.perf_counter() - start_wall, 1),
    }
    lines = [
        f"# encoder classifier over seeds: starts x models (torch {env['torch']}, {env['device']}, "
        f"{env['torch_threads']} thread, {result['total_cpu_seconds']:.0f} s CPU)",
        "",
        f"{SETTINGS['train_reviews']} training reviews, first {SETTINGS['max_len']} characters; Adam, lr "
        f"{SETTINGS['lr']}, early stopping on validation (patience {SETTINGS['patience']}, at most "
        f"{SETTINGS['max_epochs']} epochs). Accuracies are deterministic and do not depend on the load.",
        "",
        "| start | model | seeds | test accuracy, mean +- sd | best epochs |",
        "|---|---|---|---|---|",
    ]
    for row in table.values():
        sd = f" +- {row['test_accuracy_std']:.1%}" if row["test_accuracy_std"] is not None else ""
        lines.append(f"| {row['start']} | {row['model']} | {len(row['seeds'])} | {row['test_accuracy_mean']:.1%}{sd} | "
                     f"{', '.join(map(str, row['best_epochs']))} |")
    lines += ["", "| comparison | seeds | difference | 95% paired bootstrap over test reviews |", "|---|---|---|---|"]
    for c in comparisons:
        lines.append(f"| {c['a']} - {c['b']} | {len(c['seeds'])} | {c['difference']:+.1%} | "
                     f"[{c['ci95'][0]:+.1%}, {c['ci95'][1]:+.1%}] |")
    lines += ["", f"TF-IDF + logistic regression (reference): {reference['test_accuracy']:.1%}"]
    harness.write_results(NAME, result, lines)


if __name__ == "__main__":
    main()
