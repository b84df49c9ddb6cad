"""The own-network example and its benchmark: one class, one setting, one record."""

# SPDX-License-Identifier: BSD-3-Clause

import ast
import json

import pytest
import torch

from benchmarks import bench_network

TREE = ast.parse(bench_network.EXAMPLE.read_text())


def _keywords(function):
    """The keyword-argument nodes of each call to `function` in the example."""
    return [
        {kw.arg: kw.value for kw in node.keywords}
        for node in ast.walk(TREE)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == function
    ]


def test_network_benchmark_trains_the_example_class():
    """Check that the benchmark's network is the class the example defines."""
    network = bench_network.load_network()
    classes = {node.name for node in TREE.body if isinstance(node, ast.ClassDef)}
    assert network.__name__ in classes
    assert network.__module__ == bench_network.EXAMPLE.stem
    module = network(n_features=5, n_components=2, **bench_network.NETWORK_PARAMS)
    assert isinstance(module.encoder, torch.nn.Module)
    assert isinstance(module.decoder, torch.nn.Module)


def test_network_example_start_linear_makes_each_half_affine():
    """Check that start_linear makes each half exactly X @ weight.T + bias."""
    network = bench_network.load_network()
    module = network(n_features=5, n_components=2, width=8, depth=2)
    generator = torch.Generator().manual_seed(0)
    for half, (n_in, n_out) in [(module.encoder, (5, 2)), (module.decoder, (2, 5))]:
        weight = torch.randn(n_out, n_in, generator=generator)
        bias = torch.randn(n_out, generator=generator)
        half.start_linear(weight, bias)
        X = torch.randn(7, n_in, generator=generator)
        torch.testing.assert_close(half(X), X @ weight.T + bias)


def test_network_example_matches_its_benchmark():
    """Check that the example's fit and split are a setting the benchmark measures."""
    (fit,) = _keywords("AutoencoderTransformer")
    assert ast.literal_eval(fit["network_params"]) == bench_network.NETWORK_PARAMS
    assert ast.literal_eval(fit["n_components"]) in bench_network.KS
    assert ast.literal_eval(fit["random_state"]) == bench_network.SEED
    regime = {
        name: ast.literal_eval(fit[name]) for name in ("early_stopping",) if name in fit
    }
    assert regime in bench_network.REGIMES.values()
    (split,) = _keywords("train_test_split")
    assert ast.literal_eval(split["test_size"]) == bench_network.TEST_SIZE
    assert ast.literal_eval(split["random_state"]) == bench_network.SEED
    assert "stratify" in split


def test_network_record_holds_what_the_example_plots():
    """Check that docs/results/network.json has every row the example reads."""
    if not bench_network.OUT.exists():
        pytest.skip("no committed record yet: python -m benchmarks.bench_network")
    record = json.loads(bench_network.OUT.read_text())
    assert record["benchmark"] == "network"
    settings = record["settings"]
    rows = {(r["model"], r["regime"], r["k"]) for r in record["summary"]}
    for k in settings["ks"]:
        assert ("pca", "none", k) in rows
        for model in ("mlp", "residual"):
            for regime in settings["regimes"]:
                assert (model, regime, k) in rows
    assert len(record["results"]) == settings["n_repeats"] * len(rows)
