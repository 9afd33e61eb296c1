"""Tests of embedlab.device: device choice, seeding, determinism."""

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import assert_perturbed
from embedlab import device


@pytest.mark.parametrize("name", ["cpu", "CPU ", "gpu", "cuda:0", "mps", ""])
def test_get_device_rejects_unknown_argument(name):
    if name == "cpu":
        assert device.get_device(name) == torch.device("cpu")
        return
    with pytest.raises(ValueError, match=r"argument 'name' must be one of \('cpu', 'cuda'\)"):
        device.get_device(name)


def test_get_device_reads_environment(monkeypatch):
    monkeypatch.setenv("EMBEDLAB_DEVICE", "cpu")
    assert device.get_device() == torch.device("cpu")
    monkeypatch.setenv("EMBEDLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"environment variable EMBEDLAB_DEVICE .* got 'tpu'"):
        device.get_device()


def test_get_device_unset_means_cuda_if_available(no_device_env):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.get_device().type == expected


def test_get_device_cuda_without_cuda_says_what_was_found(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("EMBEDLAB_DEVICE", "cuda")
    with pytest.raises(ValueError, match=r"asks for 'cuda', but torch.cuda.is_available\(\) is False"):
        device.get_device()


def test_get_device_rejects_non_string():
    with pytest.raises(TypeError, match="argument 'name' must be a str .* got int"):
        device.get_device(0)


def test_seed_everything_repeats_every_generator():
    device.seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    device.seed_everything(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)])
def test_bad_seeds_are_rejected(seed, error):
    with pytest.raises(error, match="seed must be"):
        device.seed_everything(seed)
    with pytest.raises(error, match="seed must be"):
        device.cpu_generator(seed)


def test_cpu_generator_is_on_cpu_and_repeatable():
    g = device.cpu_generator(7)
    assert g.device == torch.device("cpu")
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=device.cpu_generator(7)))


def test_randn_draws_on_cpu_then_moves():
    expected = torch.randn(3, 2, generator=torch.Generator().manual_seed(5))
    out = device.randn((3, 2), seed=5, device="cpu")
    assert torch.equal(out, expected)
    if torch.cuda.is_available():
        assert torch.equal(device.randn((3, 2), seed=5, device="cuda").cpu(), expected)


def test_setup_is_deterministic_and_sets_print_precision():
    dev = device.setup(seed=3, name="cpu")
    assert dev == torch.device("cpu")
    assert torch.are_deterministic_algorithms_enabled()
    assert "1.235" in repr(torch.tensor([1.23456]))
    a = torch.rand(2)
    device.setup(seed=3, name="cpu")
    assert torch.equal(a, torch.rand(2))


def test_describe_names_device_and_torch_version():
    line = device.describe("cpu")
    assert line.startswith("device: cpu")
    assert torch.__version__.split("+")[0] in line


def test_cublas_workspace_is_configured_before_cuda():
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")


def test_setup_sets_threads():
    before = torch.get_num_threads()
    try:
        device.setup(seed=0, name="cpu")
        assert torch.get_num_threads() == 1
        device.setup(seed=0, name="cpu", num_threads=2)
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="num_threads must be an int >= 1, got 0"):
            device.setup(seed=0, name="cpu", num_threads=0)
    finally:
        torch.set_num_threads(before)


def test_seeds_up_to_numpys_limit_are_accepted_and_beyond_refused():
    device.seed_everything(2**32 - 1)
    assert device.cpu_generator(2**32 - 1).initial_seed() == 2**32 - 1
    with pytest.raises(ValueError, match=r"seed must be an int >= 0 and < 4294967296, got 4294967296"):
        device.seed_everything(2**32)


def test_randn_accepts_torch_size_and_zero_sizes():
    assert device.randn(torch.Size([2, 3]), seed=0).shape == (2, 3)
    assert device.randn((0, 4), seed=0).shape == (0, 4)
    assert torch.equal(device.randn([3], seed=1), device.randn((3,), seed=1))


def test_set_deterministic_switches_both_ways():
    try:
        device.set_deterministic(False)
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    finally:
        device.set_deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()


BAD_CALLS = [
    ("device.get_device", lambda: device.get_device("gpu"), ValueError, "argument 'name' must be one of"),
    ("device.get_device", lambda: device.get_device(0), TypeError, "argument 'name' must be a str"),
    ("device.get_device", lambda: device.get_device(torch.device("cpu")), TypeError, "argument 'name' must be a str"),
    ("device.seed_everything", lambda: device.seed_everything(None), TypeError, "seed must be an int"),
    ("device.seed_everything", lambda: device.seed_everything(1.0), TypeError, "seed must be an int"),
    ("device.seed_everything", lambda: device.seed_everything(True), TypeError, "seed must be an int"),
    ("device.seed_everything", lambda: device.seed_everything(-1), ValueError, "seed must be an int >= 0"),
    ("device.seed_everything", lambda: device.seed_everything(2**32), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("device.cpu_generator", lambda: device.cpu_generator("0"), TypeError, "seed must be an int"),
    ("device.cpu_generator", lambda: device.cpu_generator(2**64), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("device.cpu_generator", lambda: device.cpu_generator(-5), ValueError, "seed must be an int >= 0"),
    ("device.randn", lambda: device.randn(None, 0), TypeError, "shape must be a list or tuple"),
    ("device.randn", lambda: device.randn(3, 0), TypeError, "shape must be a list or tuple"),
    ("device.randn", lambda: device.randn("23", 0), TypeError, "shape must be a list or tuple"),
    ("device.randn", lambda: device.randn((2, 2.5), 0), TypeError, "shape[1] must be an int"),
    ("device.randn", lambda: device.randn((True,), 0), TypeError, "shape[0] must be an int"),
    ("device.randn", lambda: device.randn((-1, 2), 0), ValueError, "shape[0] must be an int >= 0"),
    ("device.randn", lambda: device.randn((2,), 2**32), ValueError, "seed must be an int >= 0"),
    ("device.randn", lambda: device.randn((2,), 1.5), TypeError, "seed must be an int"),
    ("device.randn", lambda: device.randn((2,), 0, device="gpu"), ValueError, "device must name a device"),
    ("device.randn", lambda: device.randn((2,), 0, device=None), TypeError, "device must be a torch.device"),
    ("device.set_deterministic", lambda: device.set_deterministic("no"), TypeError, "enabled must be True or False"),
    ("device.set_deterministic", lambda: device.set_deterministic(1), TypeError, "enabled must be True or False"),
    ("device.set_deterministic", lambda: device.set_deterministic(None), TypeError, "enabled must be True or False"),
    ("device.setup", lambda: device.setup(seed=-1, name="cpu"), ValueError, "seed must be an int >= 0"),
    ("device.setup", lambda: device.setup(seed=2**32, name="cpu"), ValueError, "seed must be an int >= 0"),
    ("device.setup", lambda: device.setup(seed=0.5, name="cpu"), TypeError, "seed must be an int"),
    ("device.setup", lambda: device.setup(name="gpu"), ValueError, "argument 'name' must be one of"),
    ("device.setup", lambda: device.setup(name="cpu", num_threads=0), ValueError, "num_threads must be an int >= 1"),
    ("device.setup", lambda: device.setup(name="cpu", num_threads=2.0), TypeError, "num_threads must be an int"),
    ("device.describe", lambda: device.describe(None), TypeError, "device must be a torch.device"),
    ("device.describe", lambda: device.describe("gpu"), ValueError, "device must name a device"),
    ("device.describe", lambda: device.describe(0), TypeError, "device must be a torch.device"),
]



# --- the perturbed mode (EMBEDLAB_PERTURB), used by tools/fragility.py ------------------------


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), (" ", None), ("order", "order"), ("noise", "noise")])
def test_perturbation_reads_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("EMBEDLAB_PERTURB", raising=False)
    else:
        monkeypatch.setenv("EMBEDLAB_PERTURB", value)
    assert device.perturbation() == expected


@pytest.mark.parametrize("value", ["noisy", "Order", "order,noise", "1"])
def test_a_bad_perturbation_is_a_clear_error_from_setup_and_perturb(monkeypatch, value):
    monkeypatch.setenv("EMBEDLAB_PERTURB", value)
    message = rf"environment variable EMBEDLAB_PERTURB must be one of \('order', 'noise'\) .* got {value!r}"
    with pytest.raises(ValueError, match=message):
        device.perturbation()
    with pytest.raises(ValueError, match=message):
        device.setup(seed=0, name="cpu")
    with pytest.raises(ValueError, match=message):
        device.perturb_(torch.ones(2))


@pytest.mark.parametrize("mode", [None, "order"])
def test_perturb_is_a_bitwise_no_op_unless_noise(monkeypatch, mode):
    if mode is None:
        monkeypatch.delenv("EMBEDLAB_PERTURB", raising=False)
    else:
        monkeypatch.setenv("EMBEDLAB_PERTURB", mode)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    layer = torch.nn.Linear(3, 2)
    weight = layer.weight.detach().clone()
    state = torch.random.get_rng_state()
    assert device.perturb_(x) is x and device.perturb_(layer) is layer
    assert torch.equal(x, before) and torch.equal(layer.weight, weight)
    assert not hasattr(x, "_embedlab_perturbed")
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(device.randn((4, 2), seed=1), torch.randn(4, 2, generator=torch.Generator().manual_seed(1)))


def test_noise_moves_every_float_entry_by_about_1e_6_and_once(noise_mode):
    off = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    off[3] = 0.0  # a padding row
    on = off.clone()
    state = torch.random.get_rng_state()
    assert device.perturb_(on) is on
    assert torch.equal(torch.random.get_rng_state(), state)  # its own generator: the global one saw nothing
    assert_perturbed(off, on)
    relative = (on - off)[off != 0] / off[off != 0]
    assert 0.5e-6 < relative.std().item() < 2e-6  # the scale is NOISE_SCALE
    again = on.clone()
    device.perturb_(on)  # perturbed at most once
    assert torch.equal(on, again)
    ids = torch.arange(5)
    assert torch.equal(device.perturb_(ids), torch.arange(5))  # integers are left alone


def test_noise_is_reproducible_equal_for_equal_starts_and_reaches_randn_and_modules(noise_mode):
    first = device.randn((50, 4), seed=2)
    assert torch.equal(device.randn((50, 4), seed=2), first)  # seeded by the contents: reproducible
    assert_perturbed(torch.randn(50, 4, generator=torch.Generator().manual_seed(2)), first)
    assert not torch.equal(device.randn((50, 4), seed=3) / torch.randn(50, 4, generator=torch.Generator().manual_seed(3)),
                           first / torch.randn(50, 4, generator=torch.Generator().manual_seed(2)))
    torch.manual_seed(0)
    off = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    torch.manual_seed(0)
    on = device.perturb_(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)))
    assert_perturbed(off, on)  # the LayerNorm's zero bias stays zero, its ones move
    torch.manual_seed(0)
    twin = device.perturb_(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)))
    for a, b in zip(on.parameters(), twin.parameters()):
        assert torch.equal(a, b)  # two models from one seed start equal, perturbed or not
    half = torch.randn(3, 5, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16)
    assert device.perturb_(half.clone()).dtype == torch.bfloat16


ORDER_PROBE = """
import embedlab.device, torch
g = torch.Generator().manual_seed(0)
a, b = torch.randn(16, 128, generator=g), torch.randn(128, 16, generator=g)
x = torch.randn(64, 300, generator=g)
torch.save({"draws": torch.cat([a.flatten(), b.flatten(), x.flatten()]), "matmul": a @ b,
            "softmax": x.softmax(-1), "sum": x.sum(-1)}, __import__("sys").argv[1])
__import__("gc").freeze()  # spares the exit a collection of torch's whole heap (~0.3 s)
"""


def _order_probes(tmp_path: Path, modes: tuple[str | None, ...]) -> list[dict]:
    """ORDER_PROBE's tensors from one fresh process per mode, the processes run side by side."""
    root = Path(__file__).resolve().parents[1]
    runs = []
    for mode in modes:
        env = {k: v for k, v in os.environ.items() if k not in ("EMBEDLAB_PERTURB", *device.ORDER_ENVIRONMENT)}
        if mode:
            env["EMBEDLAB_PERTURB"] = mode
        out = tmp_path / f"{mode}.pt"
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
        runs.append((subprocess.Popen([sys.executable, "-c", ORDER_PROBE, str(out)], env=env), out))
    for process, _ in runs:
        assert process.wait(timeout=120) == 0, f"the order probe exited with {process.returncode}"
    return [torch.load(out) for _, out in runs]


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() != "AVX512" or not torch.backends.mkl.is_available(),
                    reason="the order perturbation changes kernels on an AVX-512 CPU with MKL")
def test_order_changes_the_summation_order_but_not_the_draws(tmp_path):
    off, on = _order_probes(tmp_path, (None, "order"))
    assert torch.equal(off["draws"], on["draws"])  # same random numbers
    assert not torch.equal(off["matmul"], on["matmul"])  # MKL_CBWR=COMPATIBLE: another GEMM kernel
    assert not torch.equal(off["softmax"], on["softmax"])  # ATen's AVX2 kernels: another vector width
    torch.testing.assert_close(off["matmul"], on["matmul"], rtol=1e-5, atol=1e-5)  # rounding only
    torch.testing.assert_close(off["softmax"], on["softmax"], rtol=1e-5, atol=1e-7)


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() != "AVX512", reason="needs a CPU that runs AVX-512 kernels")
def test_order_set_after_the_first_operation_is_refused(monkeypatch):
    monkeypatch.setenv("EMBEDLAB_PERTURB", "order")  # this process already ran torch ops on AVX-512
    with pytest.raises(RuntimeError, match="EMBEDLAB_PERTURB=order needs .* before the first torch operation"):
        device.setup(seed=0, name="cpu")


BAD_CALLS += [
    ("device.perturb_", lambda: device.perturb_(None), TypeError, "target must be a tensor or an nn.Module"),
    ("device.perturb_", lambda: device.perturb_([1.0]), TypeError, "target must be a tensor or an nn.Module"),
]
