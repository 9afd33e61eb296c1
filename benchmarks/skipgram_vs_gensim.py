"""embedlab's skip-gram against gensim's Word2Vec (and PPMI + SVD): same corpus, same settings.

Both skip-gram tools train with negative sampling on People's Daily 1998-01 (punctuation dropped)
with dimension 100, window 5, 5 noise words, min_count 5, subsampling 1e-3, 5 epochs, learning
rate 0.025 -> 0.0001, 2 threads. A third method counts instead of predicting: PPMI of the same
window's co-occurrences (context smoothing 0.75) and a rank-100 randomized SVD
(``wordvec.ppmi_svd``, one thread). Each run is timed end to end (sentences in, vectors out) and
scored on the evaluation set in benchmarks/data/ (Spearman; analogy top-1 and top-5 by 3CosAdd).

The methods alternate within each seed (gensim, embedlab, ppmi_svd, then the next seed), at least
three seeds, so that a busy spell of the machine hits all of them. The 1-minute load average is
recorded before and after every run. When any of those readings exceeds the number of cores, the
machine was busy: the runs and their scores are kept, but no timing summary is written (the files
say "machine busy, not summarised"). Quality does not depend on load, so the per-seed scores and
their spread are always summarised, with a paired bootstrap interval over analogy questions.

Usage (from the repository root): python -m benchmarks.skipgram_vs_gensim [--seeds 0 1 2]
(or make bench BENCH=skipgram_vs_gensim). ``--summarise-only`` recomputes the summaries and the
table from the runs already in the results file, without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict

import gensim
import torch
from gensim.models import Word2Vec

from benchmarks import harness
from embedlab import device, wordvec
from embedlab import skipgram as sg
from embedlab.text import Vocab

NAME = "skipgram_vs_gensim"
DATA = harness.RESULTS.parent / "data"
SETTINGS = dict(emb_dim=100, window=5, negatives=5, min_count=5, sample=1e-3, epochs=5, lr=0.025, min_lr=0.0001)
PPMI_SETTINGS = dict(cds=0.75, eig=0.5, n_iter=3)  # Levy, Goldberg and Dagan (2015)'s usual choices
THREADS = 2
SEEDS = (0, 1, 2)
TOOLS = ("gensim", "embedlab", "ppmi_svd")
TARGET = {"time_ratio_at_most": 1.0, "quality": "embedlab's spearman and analogy top-1 and top-5 at least gensim's"}
BUSY = "machine busy, not summarised"
BOOTSTRAP = 2000  # resamples of the analogy questions


def run_gensim(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    start = time.perf_counter()
    model = Word2Vec(
        sentences, sg=1, vector_size=SETTINGS["emb_dim"], window=SETTINGS["window"],
        negative=SETTINGS["negatives"], min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
        epochs=SETTINGS["epochs"], alpha=SETTINGS["lr"], min_alpha=SETTINGS["min_lr"],
        workers=THREADS, seed=seed,
    )
    seconds = time.perf_counter() - start
    word_vectors = torch.cat([torch.zeros(2, SETTINGS["emb_dim"]), torch.from_numpy(model.wv.vectors.copy())])
    return seconds, word_vectors, wordvec.vocab_from_words(model.wv.index_to_key)


def run_embedlab(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    config = sg.SkipGramConfig(**SETTINGS, workers=THREADS, seed=seed)
    start = time.perf_counter()
    result = sg.train(sentences, config, progress=False)
    seconds = time.perf_counter() - start
    return seconds, result.vectors, result.vocab


def run_ppmi_svd(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    start = time.perf_counter()
    vocab = Vocab.build(sentences, min_freq=SETTINGS["min_count"])
    token_ids, sentence_ids = sg.encode_corpus(sentences, vocab)
    vectors = wordvec.ppmi_svd(token_ids, sentence_ids, len(vocab), emb_dim=SETTINGS["emb_dim"],
                               window=SETTINGS["window"], seed=seed, **PPMI_SETTINGS)
    seconds = time.perf_counter() - start
    return seconds, vectors, vocab


def scores_dict(scores: wordvec.VectorScores) -> dict:
    out = asdict(scores)
    out["by_relation"] = dict(scores.by_relation)
    out["analogy_hits"] = "".join("1" if h else "0" for h in scores.analogy_hits)  # top-1, per question
    out.pop("pair_cosines")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                        help=f"seeds, at least {harness.MIN_REPEATS} (one run of each tool per seed)")
    parser.add_argument("--summarise-only", action="store_true",
                        help="recompute the summary from the runs in the results file; measure nothing")
    args = parser.parse_args(argv)
    if args.summarise_only:
        results = json.loads((harness.RESULTS / f"{NAME}.json").read_text(encoding="utf-8"))
        write(results)
        return 0
    harness.check_repeats(len(args.seeds))

    sentences = sg.training_corpus()
    pairs = wordvec.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = wordvec.load_analogies(DATA / "zh_analogy_pairs.tsv")
    runners = {"gensim": run_gensim, "embedlab": run_embedlab, "ppmi_svd": run_ppmi_svd}
    tool_seeds = {tool: iter(args.seeds) for tool in TOOLS}  # each call takes its tool's next seed

    def runner(tool: str):
        def one() -> dict:
            seed = next(tool_seeds[tool])
            before = harness.load_average()
            seconds, word_vectors, vocab = runners[tool](sentences, seed)
            after = harness.load_average()
            scores = wordvec.evaluate(word_vectors, vocab, pairs, analogies)
            print(f"{tool:>8} seed {seed}: {seconds:6.1f} s, spearman {scores.spearman:.3f}, "
                  f"analogy top-1 {scores.analogy_top1:.3f}, top-5 {scores.analogy_top5:.3f}, "
                  f"load {before['1min']} -> {after['1min']}", flush=True)
            return {"tool": tool, "seed": seed, "seconds": round(seconds, 2), "load_before": before,
                    "load_after": after, "vocab_size": len(vocab) - 2, "scores": scores_dict(scores)}
        return one

    # the methods alternate within each seed: gensim, embedlab, ppmi_svd, then the next seed
    by_tool = harness.round_robin({tool: runner(tool) for tool in TOOLS}, len(args.seeds))
    runs = [run for same_seed in zip(*(by_tool[tool] for tool in TOOLS)) for run in same_seed]
    load = run_load(runs)
    env = harness.environment(device.get_device("cpu"), gensim=gensim.__version__)  # skipgram.train: CPU only
    results = {
        "benchmark": NAME,
        "what": "skip-gram with negative sampling, embedlab.skipgram.train vs gensim.models.Word2Vec(sg=1)",
        "environment": env,
        "load": load,
        "corpus": {"name": "People's Daily 1998-01, punctuation dropped", "sentences": len(sentences),
                   "tokens": sum(map(len, sentences))},
        "settings": {**SETTINGS, "threads": THREADS, "seeds": args.seeds, "ppmi_svd": PPMI_SETTINGS},
        "evaluation": {"word_pairs": len(pairs), "analogies": len(analogies),
                       "files": ["benchmarks/data/zh_word_similarity.tsv", "benchmarks/data/zh_analogy_pairs.tsv"]},
        # read by chapter 02 (machine.cpu_count, machine.load_average_1min_before)
        "machine": {"cpu_count": env["cpu_count"], "python": env["python"],
                    "torch": env["torch"].split("+")[0], "gensim": gensim.__version__,
                    "load_average_1min_before": load["before"]["1min"],
                    "load_average_1min_after": load["after"]["1min"],
                    "load_average_1min_max": load["max_1min"]},
        "runs": runs,
    }
    write(results)
    return 0


def run_load(runs: list[dict], cpu_count: int | None = None) -> dict:
    """The load record of a benchmark: first reading, last reading, the highest, busy or not.

    Busy when any reading before or after any run exceeds the number of cores.
    """
    cores = os.cpu_count() if cpu_count is None else cpu_count
    readings = [r[key]["1min"] for r in runs for key in ("load_before", "load_after")]
    record = harness.load_record(runs[0]["load_before"], runs[-1]["load_after"], cores)
    record["max_1min"] = max(readings)
    record["busy"] = max(readings) > cores
    record["rule"] = "busy when the 1-minute load average before or after any run exceeds cpu_count"
    return record


def _bootstrap(diffs: list[float], seed: int = 0) -> list[float]:
    """95% percentile interval of the mean of ``diffs`` over questions resampled with replacement."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.tensor(diffs, dtype=torch.float64)
    picks = torch.randint(len(values), (BOOTSTRAP, len(values)), generator=generator)
    means = values[picks].mean(dim=1)
    return [round(float(means.quantile(0.025)), 4), round(float(means.quantile(0.975)), 4)]


def quality(runs: list[dict]) -> dict:
    """Scores per method over seeds (mean, sd, min, max) and paired intervals over analogy questions."""
    out: dict = {}
    hits: dict[str, list[float]] = {}
    for tool in TOOLS:
        mine = [r for r in runs if r["tool"] == tool]
        if not mine:
            continue
        row = {"seeds": [r["seed"] for r in mine]}
        for key in ("spearman", "analogy_top1", "analogy_top5"):
            values = [r["scores"][key] for r in mine]
            row[key] = {"mean": round(statistics.mean(values), 4),
                        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                        "min": round(min(values), 4), "max": round(max(values), 4)}
        out[tool] = row
        per_question = [[int(c) for c in r["scores"]["analogy_hits"]] for r in mine]
        hits[tool] = [statistics.mean(col) for col in zip(*per_question)]  # mean over seeds
    for first, second in (("embedlab", "gensim"), ("ppmi_svd", "embedlab")):
        if first in hits and second in hits:
            diffs = [a - b for a, b in zip(hits[first], hits[second])]
            out[f"top1_{first}_minus_{second}"] = {"mean": round(statistics.mean(diffs), 4),
                                                   "ci95": _bootstrap(diffs)}
    return out


def summarise(runs: list[dict]) -> dict:
    """Wall times per method, embedlab / gensim ratios per seed and their median, the targets."""
    seconds = {(r["tool"], r["seed"]): r["seconds"] for r in runs}
    per_tool = {tool: {"seconds_median": round(statistics.median(s for (t, _), s in seconds.items() if t == tool), 2),
                       "seconds_min": round(min(s for (t, _), s in seconds.items() if t == tool), 2)}
                for tool in TOOLS if any(t == tool for t, _ in seconds)}
    per_seed = {str(seed): round(seconds[("embedlab", seed)] / seconds[("gensim", seed)], 3)
                for tool, seed in seconds if tool == "gensim" and ("embedlab", seed) in seconds}
    median_ratio = statistics.median(per_seed.values())
    q = quality(runs)
    quality_met = all(q["embedlab"][k]["mean"] >= q["gensim"][k]["mean"]
                      for k in ("spearman", "analogy_top1", "analogy_top5"))
    return {
        **per_tool,
        "time_ratio_per_seed": per_seed,
        "time_ratio_median": round(median_ratio, 3),
        "target": TARGET,
        "time_target_met": median_ratio <= TARGET["time_ratio_at_most"],
        "quality_target_met": quality_met,
    }


def write(results: dict) -> None:
    """Summarise quality always and timing unless the machine was busy; write the JSON and Markdown."""
    machine, settings, runs = results["machine"], results["settings"], results["runs"]
    results["quality"] = q = quality(runs)
    results.pop("summary", None)
    table = [
        "# skip-gram: embedlab vs gensim, and PPMI + SVD",
        "",
        f"People's Daily 1998-01, {results['corpus']['tokens']:,} words; dim 100, window 5, 5 negatives, "
        f"min_count 5, 5 epochs, {settings['threads']} threads; seeds {settings['seeds']}, the methods "
        f"alternated within each seed; {machine['cpu_count']} CPUs, 1-min load average "
        f"{machine['load_average_1min_before']:.1f} at the start, {machine['load_average_1min_after']:.1f} "
        f"at the end, {machine['load_average_1min_max']:.1f} at most.",
        "",
        "| method | seed | seconds | load before -> after | Spearman | analogy top-1 | analogy top-5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        sc = r["scores"]
        table.append(f"| {r['tool']} | {r['seed']} | {r['seconds']:.1f} | {r['load_before']['1min']:.1f} -> "
                     f"{r['load_after']['1min']:.1f} | {sc['spearman']:.3f} | {sc['analogy_top1']:.3f} | "
                     f"{sc['analogy_top5']:.3f} |")
    table += ["", "Quality over seeds (mean ± sd; load does not change it):", ""]
    for tool in TOOLS:
        if tool in q:
            row = q[tool]
            table.append(f"- {tool}: Spearman {row['spearman']['mean']:.3f} ± {row['spearman']['sd']:.3f}, "
                         f"top-1 {row['analogy_top1']['mean']:.3f} ± {row['analogy_top1']['sd']:.3f}, "
                         f"top-5 {row['analogy_top5']['mean']:.3f} ± {row['analogy_top5']['sd']:.3f}")
    labels = {"top1_embedlab_minus_gensim": "top-1 embedlab - gensim",
              "top1_ppmi_svd_minus_embedlab": "top-1 ppmi_svd - embedlab"}
    for key, label in labels.items():
        if key in q:
            table.append(f"- {label} (per question, mean over seeds): {q[key]['mean']:+.3f}, paired 95% bootstrap interval "
                         f"over questions [{q[key]['ci95'][0]:+.3f}, {q[key]['ci95'][1]:+.3f}]")
    if results["load"]["busy"]:
        results["timing"] = BUSY
        table += ["", f"Timing: {BUSY} (a 1-minute load average above {machine['cpu_count']} cores was "
                  f"recorded around a run; the per-run seconds above are raw measurements only)."]
    else:
        results["summary"] = summary = summarise(runs)
        results["timing"] = "summarised"
        per_seed = ", ".join(f"seed {seed}: {r:.2f}" for seed, r in summary["time_ratio_per_seed"].items())
        table += ["", f"Timing: wall-time ratio embedlab / gensim, median over seeds "
                  f"{summary['time_ratio_median']:.2f} ({per_seed}); target at most "
                  f"{TARGET['time_ratio_at_most']}; quality target met: {summary['quality_target_met']}."]
    harness.write_results(NAME, results, table)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
