"""The benchmarks' record keeping: a partial re-run adds to a record, never loses
it; the main job runs every kind."""

# SPDX-License-Identifier: BSD-3-Clause

from benchmarks import bench_speed, compare, report
from benchmarks.bench_conv import BUDGET_MLP_SOURCE, _merged
from skae._registry import AUTOENCODERS


def _record(rows, mlp_source, command):
    images = {"k": 8, "reconstructed": {}, "denoised": {}}
    for model, _k, value in rows:
        images["reconstructed"][model] = value
    return {
        "budget_seconds": 300.0,
        "mlp_source": mlp_source,
        "rows": [{"model": m, "k": k, "value": v} for m, k, v in rows],
        "images": images,
        "command": command,
    }


def test_merged_keeps_budget_mlp_rows_over_committed_ones():
    """Check that a conv re-run without --mlp keeps the budget-trained MLP rows."""
    previous = _record(
        [("conv", 8, "old conv"), ("mlp", 8, "budget mlp")], BUDGET_MLP_SOURCE, "a"
    )
    result = _record(
        [("conv", 8, "new conv"), ("mlp", 8, "35-epoch mlp")], "committed", "b"
    )
    merged = _merged(previous, result)
    values = {(r["model"], r["k"]): r["value"] for r in merged["rows"]}
    assert values == {("conv", 8): "new conv", ("mlp", 8): "budget mlp"}
    assert merged["mlp_source"] == BUDGET_MLP_SOURCE
    assert merged["images"]["reconstructed"]["mlp"] == "budget mlp"
    assert merged["commands"] == ["a", "b"]


def test_merged_adds_new_code_sizes_and_replaces_redone_rows():
    """Check that a run of some k adds them and keeps the rows it did not redo."""
    previous = _record([("conv", 2, "old 2"), ("conv", 8, "old 8")], "committed", "a")
    result = _record([("conv", 8, "new 8"), ("conv", 16, "new 16")], "committed", "b")
    merged = _merged(previous, result)
    assert [(r["k"], r["value"]) for r in merged["rows"]] == [
        (2, "old 2"),
        (8, "new 8"),
        (16, "new 16"),
    ]
    assert merged["ks"] == [2, 8, 16]


def test_main_job_runs_every_kind_with_likelihoods():
    record = compare.run("digits", quick=True, ks=[2], max_iter=2, log=lambda _: None)
    models = record["settings"]["models"]
    # Every autoencoder kind, and the conv network on the images.
    assert {cls.__name__ for cls in AUTOENCODERS} | {"ConvAutoencoder"} <= set(models)
    rows = {row["model"]: row for row in record["results"]}
    assert set(rows) == set(models)
    assert {m for m, row in rows.items() if "log_likelihood" in row} == {
        "PCA",
        "VariationalAutoencoder",
    }
    text = report.render(record)
    assert "`VariationalAutoencoder.score`" in text
    assert all(report.SHORT[model] in text for model in models)


def test_speed_merge_replaces_only_the_rerun_rows_and_notes_their_run():
    old = {
        "notes": ["first"],
        "cases": [
            {"case": "a", "threads": 1, "value": 1},
            {"case": "a", "threads": 2, "value": 2},
            {"case": "b", "threads": 1, "value": 3},
        ],
    }
    run = {"created": "today", "command": "again"}
    new = [{"case": "a", "threads": 2, "value": 20}, {"case": "c", "threads": 1}]
    merged = bench_speed._merged(old, new, run)
    assert [(c["case"], c["threads"]) for c in merged["cases"]] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("c", 1),
    ]
    assert merged["cases"][1] == {"case": "a", "threads": 2, "value": 20, "run": run}
    assert "run" not in merged["cases"][0] and merged["notes"] == ["first"]
