"""The IWAE benchmark's quick mode runs both parts, records them and renders them;
a part run alone keeps the other one of the record it writes."""

# SPDX-License-Identifier: BSD-3-Clause

import json

import numpy as np

from benchmarks import bench_iwae


def _quick(parts=bench_iwae.PARTS):
    return bench_iwae.run(
        "digits",
        parts=parts,
        quick=True,
        budget=0.5,
        n_rows=40,
        log=lambda _: None,
        command="test",
    )


def test_binarised_once_and_scored_on_the_same_rows():
    data = bench_iwae.make_data("digits", quick=True)
    again = bench_iwae.make_data("digits", quick=True)
    for X in (data["X_train"], data["X_test"]):
        assert X.dtype == np.float32
        assert set(np.unique(X)) <= {0.0, 1.0}
    np.testing.assert_array_equal(data["X_train"], again["X_train"])
    rows = bench_iwae.eval_rows(len(data["X_test"]), 40)
    np.testing.assert_array_equal(rows, bench_iwae.eval_rows(len(data["X_test"]), 40))
    assert len(np.unique(rows)) == 40


def test_quick_run_records_and_renders_both_parts(tmp_path, capsys):
    record = _quick()
    assert set(record["parts"]) == {"iwae", "defaults"}
    iwae = record["parts"]["iwae"]
    assert iwae["command"] == "test"
    models = [row["model"] for row in iwae["results"]]
    assert models == ["ELBO", "IWAE (k=5)"]
    for row in iwae["results"]:
        assert row["epochs"] >= 1
        assert np.isfinite(row["log_likelihood"])
        assert len(bench_iwae.decode(row["per_image"])) == 40
    versus = iwae["results"][1]["vs_elbo"]
    assert versus["se"] > 0
    # Only the IWAE model of 50 samples is held to the target.
    assert versus["target_met"] is None
    defaults = record["parts"]["defaults"]["results"]
    assert [row["k"] for row in defaults] == [2]
    assert defaults[0]["defaults"]["epochs"] == bench_iwae.QUICK["defaults_max_iter"]
    assert isinstance(defaults[0]["vs_defaults"]["better"], bool)

    path = tmp_path / "iwae.json"
    path.write_text(json.dumps(record))
    bench_iwae.main(["--table", str(path)])
    text = capsys.readouterr().out
    assert "| ELBO | ELBO |" in text
    assert bench_iwae.ANCHOR in text
    assert "| 2 | 2 |" in text


def test_part_run_alone_keeps_the_other_part(tmp_path):
    path = tmp_path / "iwae.json"
    path.write_text(json.dumps(_quick()))
    alone = _quick(parts=("defaults",))
    full = bench_iwae.merged(alone, path)
    assert set(full["parts"]) == {"iwae", "defaults"}
    assert full["parts"]["defaults"] is alone["parts"]["defaults"]
