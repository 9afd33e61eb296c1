"""Tests of embedlab.device: device choice, seeding, determinism."""

import random

import numpy as np
import pytest
import torch

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
