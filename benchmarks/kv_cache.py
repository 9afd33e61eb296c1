"""Causal decoding with and without a KV cache: the time of one new token as the prefix grows.

One ``embedlab.attention.MultiHeadAttention`` layer (D = 256, H = 4 heads of Dh = 64, batch 1,
float32, one thread, inference_mode) decodes the token that follows a prefix of T_past tokens:

* **without a cache** it runs on the whole sequence (T_past + 1 tokens, causal mask) and keeps the
  last output row, as a decoder does when it keeps nothing between steps: every key and value is
  projected again, and all T_past + 1 queries attend (in a one-layer model only the last query
  would be needed, but in a stack every layer's outputs at every position are the next layer's
  keys and values, so without a cache the whole prefix is recomputed);
* **with a cache** it projects the new token only, appends its key and value to a
  ``KVCache`` that holds the T_past earlier ones, and lets one query attend to T_past + 1 keys.

Both outputs are checked equal (``torch.testing.assert_close``) at every length. The two are
timed interleaved (cache, no cache, cache, ...), so the ratio comes from one run under the same
load; the median of the repeats is reported (the minimum is recorded too). A least-squares fit of
log(time) against log(T_past) for T_past >= FIT_FROM gives the growth exponent of each; the
operation counts of the two (multiply-adds) are fitted the same way, so the measured exponents
can be read against the arithmetic. The load average is recorded (harness).

Run from the repository root: python -m benchmarks.kv_cache (or make bench BENCH=kv_cache)
Writes benchmarks/results/kv_cache.json and benchmarks/results/kv_cache.md.
"""

from __future__ import annotations

import math
import statistics
import time

import torch

from benchmarks import harness
from embedlab import attention, device

NAME = "kv_cache"
EMB_DIM = 256
HEADS = 4
BATCH = 1
LENGTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)  # T_past, tokens before the new one
FIT_FROM = 256  # fit exponents on T_past >= this
THREADS = 1
MIN_REPEATS = 7
TARGET_SECONDS = 1.0  # time per length for both routes together, roughly
SEED = 0


def multiply_adds(past: int, cached: bool, emb_dim: int = EMB_DIM) -> int:
    """Multiply-adds of one decoding step of one layer (projections + scores + weighted sum).

    Without a cache: 4 projections of T = past + 1 tokens (4 T D^2), T x T scores and their
    weighted sum over all heads (2 T^2 D). With a cache: 4 projections of one token (4 D^2), one
    query's T scores and weighted sum (2 T D).
    """
    tokens = past + 1
    if cached:
        return 4 * emb_dim**2 + 2 * tokens * emb_dim
    return 4 * tokens * emb_dim**2 + 2 * tokens**2 * emb_dim


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """Slope of log(y) against log(x), by least squares."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def build(dev: torch.device) -> attention.MultiHeadAttention:
    """The layer both routes use, built on the CPU from a fixed seed, then moved."""
    torch.manual_seed(SEED)
    return attention.MultiHeadAttention(EMB_DIM, HEADS).to(dev).eval()


def measure(layer: attention.MultiHeadAttention, past: int, dev: torch.device) -> dict:
    """Every repeat's time of one step with and without the cache, after checking they agree."""
    generator = device.cpu_generator(past)
    x = torch.randn(BATCH, past + 1, EMB_DIM, generator=generator).to(dev)  # (B, T_past + 1, D)
    mask = attention.causal_mask(past + 1, device=dev)  # (T, T)
    with torch.inference_mode():
        prefill = attention.KVCache(BATCH, HEADS, EMB_DIM // HEADS, device=dev)
        layer(x[:, :past], cache=prefill, mask=attention.causal_mask(past, device=dev))
        past_keys, past_values = prefill.keys, prefill.values  # (B, H, T_past, Dh) each

        def no_cache():
            return layer(x, mask=mask)[0][:, -1]  # (B, D)

        def with_cache():
            cache = attention.KVCache(BATCH, HEADS, EMB_DIM // HEADS, device=dev)
            cache.keys, cache.values = past_keys, past_values  # append makes new tensors
            return layer(x[:, past:], cache=cache)[0][:, -1]  # (B, D)

        torch.testing.assert_close(with_cache(), no_cache(), rtol=1e-4, atol=1e-5)
        sync = harness.synchronizer(dev)
        first = harness.seconds(with_cache, sync) + harness.seconds(no_cache, sync)
        repeats = harness.repeats_within(TARGET_SECONDS, first, at_least=MIN_REPEATS, at_most=200)
        timings = harness.interleaved({"cache": with_cache, "no_cache": no_cache}, repeats, warmup=1, sync=sync)
    return {
        "past_tokens": past,
        "repeats": repeats,
        "cache_ms_repeats": [round(1e3 * s, 5) for s in timings["cache"].seconds],
        "no_cache_ms_repeats": [round(1e3 * s, 5) for s in timings["no_cache"].seconds],
        "cache_multiply_adds": multiply_adds(past, cached=True),
        "no_cache_multiply_adds": multiply_adds(past, cached=False),
        "cache_shape": list(past_keys.shape),
    }


def summarise_row(row: dict) -> dict:
    """Medians and minima of a row's repeats, and the ratio of the medians (one interleaved run)."""
    cache = harness.Timing(tuple(row["cache_ms_repeats"]))
    no_cache = harness.Timing(tuple(row["no_cache_ms_repeats"]))
    return {
        **row,
        "cache_median_ms": round(cache.median, 4),
        "no_cache_median_ms": round(no_cache.median, 4),
        "cache_min_ms": round(cache.min, 4),
        "no_cache_min_ms": round(no_cache.min, 4),
        "speedup_median": round(no_cache.median / cache.median, 2),
    }


def fits_of(rows: list[dict]) -> dict:
    """Exponents p of cost ~ T_past^p for T_past >= FIT_FROM: measured medians and counted work."""
    part = [r for r in rows if r["past_tokens"] >= FIT_FROM]
    xs = [r["past_tokens"] for r in part]
    return {
        "fit_from_tokens": FIT_FROM,
        "cache_time_exponent": round(fit_exponent(xs, [r["cache_median_ms"] for r in part]), 3),
        "no_cache_time_exponent": round(fit_exponent(xs, [r["no_cache_median_ms"] for r in part]), 3),
        "cache_min_time_exponent": round(fit_exponent(xs, [r["cache_min_ms"] for r in part]), 3),
        "no_cache_min_time_exponent": round(fit_exponent(xs, [r["no_cache_min_ms"] for r in part]), 3),
        "cache_count_exponent": round(fit_exponent(xs, [r["cache_multiply_adds"] for r in part]), 3),
        "no_cache_count_exponent": round(fit_exponent(xs, [r["no_cache_multiply_adds"] for r in part]), 3),
    }


def markdown(result: dict) -> list[str]:
    """The title, and the tables when the result is summarised."""
    env = result["environment"]
    lines = [
        f"# kv_cache: one decoding step with and without a KV cache (torch {env['torch']}, {env['device']}, "
        f"{env['cpu_count']} CPUs, {env['torch_threads']} thread; D = {EMB_DIM}, H = {HEADS})",
    ]
    if "fits" not in result:
        return lines
    lines += [
        "",
        "| T_past | repeats | no cache ms (median) | cache ms (median) | speed-up | no cache MACs | cache MACs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['past_tokens']} | {r['repeats']} | {r['no_cache_median_ms']:.3f} | {r['cache_median_ms']:.3f} | "
            f"{r['speedup_median']:.1f} | {r['no_cache_multiply_adds']:,} | {r['cache_multiply_adds']:,} |"
        )
    f = result["fits"]
    lines += [
        "",
        f"Exponents p of a fit cost ~ T_past^p for T_past >= {f['fit_from_tokens']}:",
        "",
        "| | no cache | cache |",
        "|---|---:|---:|",
        f"| measured time (median) | {f['no_cache_time_exponent']:.2f} | {f['cache_time_exponent']:.2f} |",
        f"| measured time (fastest repeat) | {f['no_cache_min_time_exponent']:.2f} | {f['cache_min_time_exponent']:.2f} |",
        f"| counted multiply-adds | {f['no_cache_count_exponent']:.2f} | {f['cache_count_exponent']:.2f} |",
        "",
        f"Load average (1 min) before / after: {result['load']['before']['1min']} / {result['load']['after']['1min']}.",
    ]
    return lines


def main() -> None:
    torch.set_num_threads(THREADS)
    dev = device.get_device()
    layer = build(dev)
    before = harness.load_average()
    start = time.perf_counter()
    rows = []
    for past in LENGTHS:
        row = measure(layer, past, dev)
        rows.append(row)
        print(
            f"T_past = {past:5d}: no cache {statistics.median(row['no_cache_ms_repeats']):9.3f} ms, "
            f"cache {statistics.median(row['cache_ms_repeats']):7.3f} ms ({row['repeats']} repeats)",
            flush=True,
        )
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev)
    result = {
        "benchmark": "one decoding step of embedlab.attention.MultiHeadAttention with and without a KVCache",
        "environment": env,
        "load": load,
        "emb_dim": EMB_DIM,
        "heads": HEADS,
        "batch": BATCH,
        "dtype": "float32",
        "seed": SEED,
        "lengths": list(LENGTHS),
        "timing": "median (and minimum) of interleaved repeats, inference_mode, one thread, one warm-up "
        "round; without a cache the layer runs on all T_past + 1 tokens with a causal mask",
        "rows": rows,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    if harness.refusal(load) is None:
        result["rows"] = [summarise_row(r) for r in rows]
        result["fits"] = fits_of(result["rows"])
    harness.write_results(NAME, result, markdown(result))


if __name__ == "__main__":
    main()
