"""embedlab's attention against PyTorch's fused F.scaled_dot_product_attention, on this machine.

For every head count H and sequence length T (64 .. 2048), with batch 1, head dim 64 and float32:

* time per call: the best of interleaved repeats (package, fused, package, fused, ...), so the
  ratio of the two comes from one run under the same load; noise from other processes only ever
  adds time, which is why the minimum is reported (the median is recorded too);
* on one thread: the machine is shared, and with two threads a single descheduled thread stalls
  every parallel region, which measures the scheduler rather than the algorithm;
* peak extra memory of one call, read from PyTorch's profiler (allocations and frees in time order);
* a least-squares fit of log(time) and log(memory) against log(T) for T >= 256, where the T^2
  work dominates the fixed overheads: the exponent says how cost grows with sequence length.

Device: ``embedlab.device.get_device()`` (``EMBEDLAB_DEVICE``; ``make bench`` defaults it to cpu, the
device of the committed results); on CUDA the memory is ``torch.cuda.max_memory_allocated``.

Run from the repository root: python -m benchmarks.attention (or make bench BENCH=attention)
Writes benchmarks/results/attention.json and benchmarks/results/attention.md.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from benchmarks import harness
from embedlab import device
from embedlab.attention import causal_mask, scaled_dot_product_attention

NAME = "attention"
HEADS = (1, 4, 8)
TOKENS = (64, 128, 256, 512, 1024, 2048)
HEAD_DIM = 64
BATCH = 1
FIT_FROM = 256  # fit exponents on T >= this
THREADS = 1
MIN_REPEATS = 5
TARGET_SECONDS = 0.25  # time spent per implementation and configuration, roughly


def package_attention(q, k, v, mask):
    return scaled_dot_product_attention(q, k, v, mask)[0]


def fused_attention(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, is_causal=mask is not None)


def peak_bytes(fn, dev: torch.device) -> int:
    """Largest amount of memory allocated at once during ``fn()``, beyond what existed before.

    On a CPU, from the profiler: it gives each operator its own allocations minus its own frees;
    positive amounts are counted when the operator starts, negative ones when it ends, plus the
    standalone free events. On CUDA, from the allocator's peak statistics.
    """
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        out = fn()
        torch.cuda.synchronize(dev)
        del out
        return torch.cuda.max_memory_allocated(dev) - base
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
        del out
    changes = []
    for event in prof.events():
        delta = event.self_cpu_memory_usage
        if delta > 0:
            changes.append((event.time_range.start, delta))
        elif delta < 0:
            changes.append((event.time_range.end, delta))
    current = peak = 0
    for _, delta in sorted(changes, key=lambda c: (c[0], -c[1])):
        current += delta
        peak = max(peak, current)
    return peak


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """Slope of log(y) against log(x), by least squares."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def measure(heads: int, tokens: int, causal: bool, dev: torch.device) -> dict:
    """Raw measurements of one configuration: every repeat's time, and the peak memory of one call."""
    generator = device.cpu_generator(heads * 10_000 + tokens)
    q, k, v = (torch.randn(BATCH, heads, tokens, HEAD_DIM, generator=generator).to(dev) for _ in range(3))
    mask = causal_mask(tokens, device=dev) if causal else None
    sync = harness.synchronizer(dev)
    calls = {"package": lambda: package_attention(q, k, v, mask), "fused": lambda: fused_attention(q, k, v, mask)}
    with torch.inference_mode():
        torch.testing.assert_close(calls["package"](), calls["fused"]())  # also the warm-up call of each
        first = sum(harness.seconds(fn, sync) for fn in calls.values())
        repeats = harness.repeats_within(2 * TARGET_SECONDS, first, at_least=MIN_REPEATS)
        timings = harness.interleaved(calls, repeats, warmup=0, sync=sync)  # both see the same load
        mine_peak = peak_bytes(calls["package"], dev)
        fused_peak = peak_bytes(calls["fused"], dev)
    return {
        "heads": heads,
        "tokens": tokens,
        "causal": causal,
        "repeats": repeats,
        "package_ms_repeats": [round(1e3 * x, 4) for x in timings["package"].seconds],
        "fused_ms_repeats": [round(1e3 * x, 4) for x in timings["fused"].seconds],
        "package_peak_mib": round(mine_peak / 2**20, 3),
        "fused_peak_mib": round(fused_peak / 2**20, 3),
        "scores_mib": round(BATCH * heads * tokens * tokens * 4 / 2**20, 3),  # one (B, H, T, T) float32
    }


def summarise_row(row: dict) -> dict:
    """The row's best and median times and the ratio of the bests (both from one interleaved run)."""
    mine = harness.Timing(tuple(row["package_ms_repeats"]))
    fused = harness.Timing(tuple(row["fused_ms_repeats"]))
    return {
        **row,
        "package_ms": mine.min,
        "fused_ms": fused.min,
        "ratio_package_over_fused": round(mine.min / fused.min, 3),
        "package_median_ms": round(mine.median, 4),
        "fused_median_ms": round(fused.median, 4),
    }


def fits_of(rows: list[dict]) -> list[dict]:
    """Exponents p of time ~ T^p and memory ~ T^p for T >= FIT_FROM, per causal and head count."""
    fits = []
    for causal in (False, True):
        for heads in HEADS:
            part = [
                r for r in rows if r["heads"] == heads and r["causal"] == causal and r["tokens"] >= FIT_FROM
            ]
            xs = [r["tokens"] for r in part]
            fits.append({
                "heads": heads,
                "causal": causal,
                "package_time_exponent": round(fit_exponent(xs, [r["package_ms"] for r in part]), 3),
                "fused_time_exponent": round(fit_exponent(xs, [r["fused_ms"] for r in part]), 3),
                "package_memory_exponent": round(fit_exponent(xs, [r["package_peak_mib"] for r in part]), 3),
                "fused_memory_exponent": round(fit_exponent(xs, [r["fused_peak_mib"] for r in part]), 3),
            })
    return fits


def markdown(result: dict) -> list[str]:
    """The title, and the tables when the result is summarised."""
    env = result["environment"]
    lines = [
        f"# attention: embedlab vs F.scaled_dot_product_attention (torch {env['torch']}, "
        f"{env['device']}, {env['cpu_count']} CPUs, {env['torch_threads']} threads)",
    ]
    if "fits" not in result:
        return lines
    lines += [
        "",
        "| causal | H | T | package ms | fused ms | ratio | package peak MiB | fused peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['causal']} | {r['heads']} | {r['tokens']} | {r['package_ms']:.2f} | {r['fused_ms']:.2f} | "
            f"{r['ratio_package_over_fused']:.2f} | {r['package_peak_mib']:.2f} | {r['fused_peak_mib']:.2f} |"
        )
    lines += ["", f"Exponents of a fit time ~ T^p (and memory ~ T^p) for T >= {FIT_FROM}:", ""]
    lines += [
        "| causal | H | package time | fused time | package memory | fused memory |",
        "|---|---|---|---|---|---|",
    ]
    for f in result["fits"]:
        lines.append(
            f"| {f['causal']} | {f['heads']} | {f['package_time_exponent']:.2f} | {f['fused_time_exponent']:.2f} | "
            f"{f['package_memory_exponent']:.2f} | {f['fused_memory_exponent']:.2f} |"
        )
    return lines


def main() -> None:
    torch.set_num_threads(THREADS)
    dev = device.get_device()
    before = harness.load_average()
    start = time.perf_counter()
    rows = []
    for causal in (False, True):
        for heads in HEADS:
            for tokens in TOKENS:
                row = measure(heads, tokens, causal, dev)
                rows.append(row)
                print(
                    f"causal={causal!s:5} H={heads} T={tokens:5}: package {min(row['package_ms_repeats']):9.2f} ms, "
                    f"fused {min(row['fused_ms_repeats']):8.2f} ms, "
                    f"peak {row['package_peak_mib']:8.2f} vs {row['fused_peak_mib']:6.2f} MiB",
                    flush=True,
                )
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev)
    result = {
        "benchmark": "embedlab.attention.scaled_dot_product_attention vs "
        "torch.nn.functional.scaled_dot_product_attention",
        "environment": env,
        "load": load,
        # read by chapter 06 at the top level
        "torch": env["torch"],
        "cpu_count": env["cpu_count"],
        "torch_threads": env["torch_threads"],
        "dtype": "float32",
        "batch": BATCH,
        "head_dim": HEAD_DIM,
        "heads": list(HEADS),
        "tokens": list(TOKENS),
        "fit_from_tokens": FIT_FROM,
        "timing": "best (minimum) time per call of interleaved repeats, inference_mode, one thread, "
        "after one warm-up call each; medians are recorded as package_median_ms and fused_median_ms",
        "memory": "peak extra bytes during one call, from torch.profiler (profile_memory=True) on a CPU, "
        "torch.cuda.max_memory_allocated on CUDA",
        "fused_backend_note": "on a CPU, PyTorch dispatches to its flash-attention CPU kernel; "
        "causal uses is_causal=True",
        "rows": rows,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    if harness.refusal(load) is None:
        result["rows"] = [summarise_row(r) for r in rows]
        result["fits"] = fits_of(result["rows"])
    harness.write_results(NAME, result, markdown(result))


if __name__ == "__main__":
    main()
