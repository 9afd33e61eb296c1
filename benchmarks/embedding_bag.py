"""nn.EmbeddingBag against lookup + masked mean on padded batches: time and memory, forward + backward.

Three routes compute the same (B, D) mean of each review's character vectors:

* ``padded``: ``nn.Embedding`` on a (B, T) padded batch, then a masked mean (the form of chapter 03).
* ``bag_2d``: ``nn.EmbeddingBag(mode="mean", padding_idx=0)`` on the same padded (B, T) batch.
* ``bag_offsets``: ``nn.EmbeddingBag(mode="mean")`` on the flat ids and offsets (no padding at all).

Data: batches of real reviews (``corpora.reviews()``, characters), each padded to its longest review.
Time: forward + backward of the three routes timed in turn, repeat after repeat, on each batch
(``benchmarks.harness.interleaved``, one thread); the median of each batch's repeats, averaged over
the batches, reported as ratios to ``padded`` measured in this one run. Memory: bytes of every tensor
that the operators allocate during forward + backward (counted exactly by a dispatch mode; views and
in-place results are not allocations), and on CUDA also the peak of ``torch.cuda.max_memory_allocated``.
Device: ``embedlab.device.get_device()`` (``make bench`` defaults ``EMBEDLAB_DEVICE`` to cpu).

Run from the repository root: ``python -m benchmarks.embedding_bag`` (or ``make bench BENCH=embedding_bag``)
-> benchmarks/results/embedding_bag.json and embedding_bag.md
"""

from __future__ import annotations

import sys

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks import harness
from embedlab import corpora, device, pooling, text

NAME = "embedding_bag"
BATCH = 64  # reviews per batch
NUM_BATCHES = 12  # consecutive batches of the training split
EMB_DIMS = (64, 300)  # D values measured
SCENARIOS = {"pad_to_longest": None, "cut_at_64": 64}  # name -> max_len (None: every review whole)
TARGET_SECONDS = 0.9  # measuring time per batch, all three routes together, roughly
SEED = 0
ROUTES = ("padded", "bag_2d", "bag_offsets")


class AllocationCounter(TorchDispatchMode):
    """Adds up the bytes of every new tensor an operator returns (views and in-place ops excluded)."""

    def __init__(self):
        super().__init__()
        self.bytes = 0
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in _tensors((args, kwargs or {}))}
        for t in _tensors(out):
            if t.untyped_storage().data_ptr() not in inputs and t.numel() > 0:
                size = t.untyped_storage().nbytes()
                self.bytes += size
                self.largest = max(self.largest, size)
        return out


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(item)
    elif isinstance(tree, dict):
        for item in tree.values():
            yield from _tensors(item)


def make_batches(vocab: text.Vocab, reviews, max_len: int | None) -> list[dict]:
    batches = []
    for start in range(0, BATCH * NUM_BATCHES, BATCH):
        id_lists = [vocab.encode(text.tokenize_zh_chars(r.text))[:max_len] for r in reviews[start:start + BATCH]]
        token_ids, padding_mask = text.pad_batch(id_lists)  # (B, T), (B, T)
        flat_ids, offsets = text.to_bag(id_lists)  # (N,), (B,)
        batches.append({"token_ids": token_ids, "padding_mask": padding_mask, "flat_ids": flat_ids, "offsets": offsets})
    return batches


def padded_route(embed: nn.Embedding, batch: dict) -> torch.Tensor:
    embedded = embed(batch["token_ids"])  # (B, T) -> (B, T, D)
    return pooling.mean_pool(embedded, batch["padding_mask"])  # (B, T, D) -> (B, D)


def bag_2d_route(bag: nn.EmbeddingBag, batch: dict) -> torch.Tensor:
    return bag(batch["token_ids"])  # (B, T) -> (B, D), padding_idx left out of each mean


def bag_offsets_route(bag: nn.EmbeddingBag, batch: dict) -> torch.Tensor:
    return bag(batch["flat_ids"], batch["offsets"])  # (N,), (B,) -> (B, D)


def step(route, module, batch, probe):
    module.weight.grad = None
    pooled = route(module, batch)  # (B, D)
    (pooled * probe).sum().backward()


def measure(modules: dict, batches: list[dict], emb_dim: int, dev: torch.device) -> dict:
    """Check that the three routes agree, then time them and count their allocations."""
    routes = {"padded": padded_route, "bag_2d": bag_2d_route, "bag_offsets": bag_offsets_route}
    probe = torch.randn(BATCH, emb_dim, generator=device.cpu_generator(SEED + 1)).to(dev)
    reference = padded_route(modules["padded"], batches[0])  # (B, D)
    grads_seen = {}
    for name, route in routes.items():
        torch.testing.assert_close(route(modules[name], batches[0]), reference)
        step(route, modules[name], batches[0], probe)
        grads_seen[name] = modules[name].weight.grad.clone()
    for name in routes:
        torch.testing.assert_close(grads_seen[name], grads_seen["padded"])
    entry = {}
    sync = harness.synchronizer(dev)
    calls_per_batch = [
        {name: (lambda route=route, module=modules[name], batch=batch: step(route, module, batch, probe))
         for name, route in routes.items()}
        for batch in batches
    ]
    medians = {name: [] for name in routes}
    for calls in calls_per_batch:
        first = sum(harness.seconds(fn, sync) for fn in calls.values())
        repeats = harness.repeats_within(TARGET_SECONDS, first)
        for name, timing in harness.interleaved(calls, repeats, warmup=0, sync=sync).items():
            medians[name].append(timing.median)
    for name, route in routes.items():
        allocated, largest, peak = 0, 0, 0
        for batch in batches:
            counter = AllocationCounter()
            with counter:
                step(route, modules[name], batch, probe)
            allocated += counter.bytes
            largest = max(largest, counter.largest)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
                step(route, modules[name], batch, probe)
                torch.cuda.synchronize(dev)
                peak = max(peak, torch.cuda.max_memory_allocated(dev) - base)
        entry[name] = {
            "batch_median_seconds": medians[name],
            "bytes_allocated_per_batch": allocated / len(batches),
            "largest_allocation_bytes": largest,
            "cuda_peak_bytes": peak if dev.type == "cuda" else None,
        }
    for name in routes:
        entry[name]["bytes_vs_padded"] = (
            entry[name]["bytes_allocated_per_batch"] / entry["padded"]["bytes_allocated_per_batch"]
        )
    return entry


def summarise(entry: dict) -> None:
    """Add each route's seconds per batch (mean of the batch medians) and its ratio to ``padded``."""
    for name in ROUTES:
        times = entry[name]["batch_median_seconds"]
        entry[name]["seconds_per_batch"] = sum(times) / len(times)
    for name in ROUTES:
        entry[name]["time_vs_padded"] = entry[name]["seconds_per_batch"] / entry["padded"]["seconds_per_batch"]


def main() -> int:
    device.seed_everything(SEED)
    torch.set_num_threads(1)  # the machine is shared; one thread keeps the ratios stable
    dev = device.get_device()
    reviews = corpora.reviews(seed=SEED).train
    vocab = text.Vocab.build(text.tokenize_zh_chars(r.text) for r in reviews)
    before = harness.load_average()
    scenarios = {}
    for scenario, max_len in SCENARIOS.items():
        batches = [{k: v.to(dev) for k, v in b.items()} for b in make_batches(vocab, reviews, max_len)]
        real = sum(int((~b["padding_mask"]).sum()) for b in batches)
        slots = sum(b["padding_mask"].numel() for b in batches)
        info = {
            "max_len": max_len,
            "real_tokens": real,
            "padded_slots": slots,
            "padding_share": 1 - real / slots,
            "mean_padded_length": slots / (BATCH * NUM_BATCHES),
            "by_emb_dim": {},
        }
        for emb_dim in EMB_DIMS:
            weight = torch.randn(len(vocab), emb_dim, generator=device.cpu_generator(SEED))
            weight[text.PAD_ID] = 0.0
            modules = {
                "padded": nn.Embedding.from_pretrained(weight.clone(), freeze=False, padding_idx=text.PAD_ID).to(dev),
                "bag_2d": nn.EmbeddingBag.from_pretrained(
                    weight.clone(), freeze=False, mode="mean", padding_idx=text.PAD_ID
                ).to(dev),
                "bag_offsets": nn.EmbeddingBag.from_pretrained(weight.clone(), freeze=False, mode="mean").to(dev),
            }
            entry = measure(modules, batches, emb_dim, dev)
            entry["dense_weight_grad_bytes"] = len(vocab) * emb_dim * 4
            info["by_emb_dim"][str(emb_dim)] = entry
        scenarios[scenario] = info
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev)
    results = {
        "benchmark": NAME,
        "what": "mean of each review's character vectors, forward + backward; padded lookup + masked mean vs nn.EmbeddingBag",
        "environment": env,
        "load": load,
        # read by chapter 03 at the top level
        "torch": env["torch"],
        "cpu_count": env["cpu_count"],
        "torch_threads": env["torch_threads"],
        "device": env["device"],
        "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
        "vocab_size": len(vocab),
        "batch_size": BATCH,
        "num_batches": NUM_BATCHES,
        "timing": "forward + backward, the three routes interleaved on each batch (benchmarks.harness.interleaved); "
        "seconds_per_batch is the mean over the batches of each batch's median",
        "note": "bytes include the dense (V, D) gradient of the weight, the same for every route",
        "scenarios": scenarios,
    }
    summarised = harness.refusal(load) is None
    lines = [f"# embedding_bag: padded lookup + masked mean vs nn.EmbeddingBag (torch {env['torch']}, "
             f"{env['device']}, {env['cpu_count']} CPUs, {env['torch_threads']} thread)"]
    if summarised:
        lines += ["", "| scenario | padding share | D | route | ms per batch | time vs padded | MiB allocated | bytes vs padded |",
                  "|---|---|---|---|---|---|---|---|"]
    for scenario, info in scenarios.items():
        print(f"{scenario}: padding share {info['padding_share']:.1%}, mean padded length {info['mean_padded_length']:.0f}")
        for emb_dim, entry in info["by_emb_dim"].items():
            if not summarised:
                continue
            summarise(entry)
            for name in ROUTES:
                e = entry[name]
                print(
                    f"  D={emb_dim:>3} {name:<12} {e['seconds_per_batch'] * 1e3:7.2f} ms  x{e['time_vs_padded']:.2f}  "
                    f"{e['bytes_allocated_per_batch'] / 2**20:7.2f} MiB allocated  x{e['bytes_vs_padded']:.2f}"
                )
                lines.append(
                    f"| {scenario} | {info['padding_share']:.1%} | {emb_dim} | {name} | {e['seconds_per_batch'] * 1e3:.2f} | "
                    f"{e['time_vs_padded']:.2f} | {e['bytes_allocated_per_batch'] / 2**20:.2f} | {e['bytes_vs_padded']:.2f} |"
                )
    harness.write_results(NAME, results, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
