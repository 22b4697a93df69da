"""The dry-run CLI (reward_kit.dryrun): counts, stats, malformed input, exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from reward_kit import dryrun
from reward_kit.scoring import Scorer
from tests import ROOT

EXAMPLES = ROOT / "examples"
LABEL_DATA = EXAMPLES / "label" / "samples.jsonl"
LABEL_SPEC = EXAMPLES / "label" / "spec.json"
EXAMPLE_DIRS = sorted(p for p in EXAMPLES.iterdir() if (p / "spec.json").exists())


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = dryrun.main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def field(report: str, name: str) -> str:
    """Value of a 'name: value' header line of the report."""
    for line in report.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].split()[0]
    raise AssertionError(f"no '{name}:' line in report:\n{report}")


def failure_table(report: str) -> dict[str, int]:
    table: dict[str, int] = {}
    lines = report.split("failure reasons:\n", 1)[1].splitlines()
    for line in lines:
        if not line.startswith("  ") or line.strip() == "(none)":
            break
        reason, count = line.split()[:2]
        table[reason] = int(count)
    return table


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sample(sample_id: str, answer: str, reference: str = "positive") -> str:
    return json.dumps(
        {
            "id": sample_id,
            "messages": [{"role": "user", "content": "感情は?"}, {"role": "assistant", "content": answer}],
            "metadata": {"reference_answer": {"answer": reference}},
        },
        ensure_ascii=False,
    )


# --- the shipped label example --------------------------------------------------------------


def test_label_example_counts_match_an_independent_scoring() -> None:
    code, report, err = run("--data", LABEL_DATA, "--spec", LABEL_SPEC)
    assert code == 0, err
    events = [json.loads(line) for line in LABEL_DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = Scorer(json.loads(LABEL_SPEC.read_text(encoding="utf-8"))).score_event(events)

    assert int(field(report, "samples")) == len(events)
    assert int(field(report, "failed")) == expected.failed_samples
    assert failure_table(report) == dict(expected.failures)
    # The example deliberately carries broken samples so the reasons show up.
    assert {"missing_id", "no_assistant_message", "missing_reference", "multiple_answers"} <= set(expected.failures)
    mean = sum(expected.values["aggregate"]) / len(events)
    assert f"mean {mean:.4f}" in report
    assert f"== aggregate (n={len(events)})" in report


def test_histogram_counts_add_up_to_the_sample_count() -> None:
    code, report, _ = run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--bins", "4")
    assert code == 0
    section = report.split("== aggregate", 1)[1].split("\n==", 1)[0]
    bars = [line for line in section.splitlines() if line.strip().startswith("[")]
    assert len(bars) == 4
    assert bars[-1].strip().startswith("[0.75, 1.00]")  # the last bin includes the top edge
    assert sum(int(line.split()[2]) for line in bars) == int(field(report, "samples"))


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_every_example_dry_runs(example: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "scores.jsonl"
    judge = ["--fake-judge"] if example.name == "judge" else []  # no Bedrock in tests
    code, report, err = run("--data", example / "samples.jsonl", "--spec", example / "spec.json", "--out", out_file,
                            *judge)
    assert code == 0, err
    n_lines = sum(1 for line in (example / "samples.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
    outputs = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(outputs) == n_lines == int(field(report, "samples"))


def test_report_is_deterministic_and_independent_of_batch_size() -> None:
    first = run("--data", LABEL_DATA, "--spec", LABEL_SPEC)
    again = run("--data", LABEL_DATA, "--spec", LABEL_SPEC)
    tiny_batches = run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--batch-size", "3")
    assert first == again == tiny_batches


def test_multi_dimension_spec_reports_each_dimension() -> None:
    code, report, _ = run("--data", EXAMPLES / "multi" / "samples.jsonl", "--spec", EXAMPLES / "multi" / "spec.json")
    assert code == 0
    for name in ("aggregate", "correctness", "format"):
        assert f"== {name} (n=" in report
    assert "[-1.00, -0.80)" in report  # bins span the spec's [-1, 1] range


# --- malformed input ------------------------------------------------------------------------


def test_malformed_line_is_a_failed_sample_and_the_rest_is_scored(tmp_path: Path) -> None:
    data = write_lines(
        tmp_path / "s.jsonl",
        [
            sample("a", "\\boxed{positive}"),
            '{"id": "b", "messages": [',  # truncated line
            "",  # blank lines are not samples
            "[1, 2]",  # valid JSON, not a sample object: the contract layer's reason
            sample("c", "\\boxed{negative}"),
        ],
    )
    out_file = tmp_path / "out.jsonl"
    code, report, err = run("--data", data, "--spec", LABEL_SPEC, "--out", out_file)
    assert code == 0, err
    assert field(report, "samples") == "4"
    assert field(report, "failed") == "2"
    assert failure_table(report) == {"invalid_json_line": 1, "not_an_object": 1}
    assert "invalid_json_line" in report and "lines 2" in report
    assert "lines that are not JSON:\n  line 2: Expecting value: line 1 column 26 (char 25)\n" in report

    outputs = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in outputs][:2] == ["a", "line-2"]  # input order, line number as id
    assert outputs[-1]["id"] == "c"
    assert [o["aggregate_reward_score"] for o in outputs] == [1.0, 0.0, 0.0, 0.1]
    assert {"name": "failure_invalid_json_line", "value": 1.0, "type": "Metric"} in outputs[1]["metrics_list"]
    assert outputs[1]["metrics_list"][0] == {"name": "sentiment", "value": 0.0, "type": "Reward"}


def test_pathological_lines_cost_one_sample_each(tmp_path: Path) -> None:
    # Nesting deeper than the JSON parser's recursion limit raises RecursionError, not
    # ValueError; bytes that are not UTF-8 (a Shift-JIS export) are not JSON text either.
    # Neither may abort the run or be silently altered and scored.
    data = tmp_path / "s.jsonl"
    data.write_bytes(
        b"\n".join(
            [
                sample("a", "\\boxed{positive}").encode(),
                b"[" * 100_000,
                sample("b", "\\boxed{ポジティブ}").encode("shift_jis"),
                sample("c", "\\boxed{negative}").encode(),
            ]
        )
        + b"\n"
    )
    out_file = tmp_path / "out.jsonl"
    code, report, err = run("--data", data, "--spec", LABEL_SPEC, "--out", out_file)
    assert code == 0, err
    assert field(report, "samples") == "4"
    assert failure_table(report) == {"invalid_json_line": 2}
    assert "lines 2,3" in report
    # Each is listed with the parser's own message, so the user knows what to fix.
    assert "\n  line 2: maximum recursion depth exceeded" in report
    assert "\n  line 3: 'utf-8' codec can't decode byte" in report
    outputs = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in outputs] == ["a", "line-2", "line-3", "c"]


def test_line_numbers_follow_every_newline_convention(tmp_path: Path) -> None:
    data = tmp_path / "s.jsonl"
    lines = [sample("a", "\\boxed{positive}"), "{", sample("c", "\\boxed{positive}"), "{", sample("e", "x")]
    data.write_bytes("\r\n".join(lines[:2]).encode() + b"\r" + "\n".join(lines[2:]).encode() + b"\n")
    code, report, _ = run("--data", data, "--spec", LABEL_SPEC)
    assert code == 0
    assert field(report, "samples") == "5"
    assert "lines 2,4" in report


def test_all_lines_malformed_still_reports(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "s.jsonl", ["not json", "{"])
    code, report, _ = run("--data", data, "--spec", LABEL_SPEC)
    assert code == 0
    assert field(report, "samples") == "2"
    assert failure_table(report) == {"invalid_json_line": 2}


def test_many_malformed_lines_are_listed_up_to_a_limit(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "s.jsonl", ["{"] * (dryrun.MAX_LISTED_LINES + 5))
    code, report, _ = run("--data", data, "--spec", LABEL_SPEC)
    assert code == 0
    assert failure_table(report) == {"invalid_json_line": dryrun.MAX_LISTED_LINES + 5}
    listed = report.split("lines that are not JSON:\n", 1)[1].splitlines()
    assert len(listed) == dryrun.MAX_LISTED_LINES + 1 and listed[-1] == "  ... and 5 more"


def test_empty_file(tmp_path: Path) -> None:
    code, report, _ = run("--data", write_lines(tmp_path / "s.jsonl", [""]), "--spec", LABEL_SPEC)
    assert code == 0
    assert field(report, "samples") == "0"
    assert "(none)" in report


# --- unusable input: exit 2 with one line -----------------------------------------------------


def test_invalid_spec_exits_2_with_the_validator_message(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"grader": "labels"}), encoding="utf-8")
    code, out, err = run("--data", LABEL_DATA, "--spec", spec)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {spec}: REWARD_SPEC.grader: must be one of")


def test_spec_that_is_not_json_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text("{grader: label}", encoding="utf-8")
    code, _, err = run("--data", LABEL_DATA, "--spec", spec)
    assert code == 2
    assert "not valid JSON" in err and err.count("\n") == 1


def test_missing_files_exit_2(tmp_path: Path) -> None:
    assert run("--data", tmp_path / "nope.jsonl", "--spec", LABEL_SPEC)[0] == 2
    assert run("--data", LABEL_DATA, "--spec", tmp_path / "nope.json")[0] == 2


def test_png_without_matplotlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code, out, err = run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--png", tmp_path / "h.png")
    assert code == 2
    assert "pip install matplotlib" in err
    assert out == ""  # checked before any scoring


@pytest.mark.slow
def test_png_with_matplotlib(tmp_path: Path) -> None:
    # matplotlib is pinned in requirements-dev.txt, so this runs (never skips) in make test.
    png = tmp_path / "h.png"
    code, _, err = run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--png", png)
    assert code == 0, err
    assert png.read_bytes().startswith(b"\x89PNG")


def test_unwritable_out_exits_2_before_scoring(tmp_path: Path) -> None:
    code, out, err = run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--out", tmp_path / "no" / "such" / "dir.jsonl")
    assert code == 2 and out == "" and "cannot write outputs" in err


def test_byte_order_mark_is_not_a_broken_line(tmp_path: Path) -> None:
    data = tmp_path / "s.jsonl"
    data.write_text("\ufeff" + sample("a", "\\boxed{positive}") + "\n", encoding="utf-8")
    code, report, _ = run("--data", data, "--spec", LABEL_SPEC)
    assert code == 0 and field(report, "failed") == "0"


def test_bad_bins_exits_2() -> None:
    assert run("--data", LABEL_DATA, "--spec", LABEL_SPEC, "--bins", "0")[0] == 2


# --- stats helpers --------------------------------------------------------------------------


def test_histogram_edges() -> None:
    # 0.3 * 10 is 2.9999999999999996 in floating point: it still belongs to bin 3.
    assert dryrun.histogram([0.0, 0.1, 0.3, 0.99, 1.0], 0.0, 1.0, 10) == [1, 1, 0, 1, 0, 0, 0, 0, 0, 2]
    assert dryrun.histogram([-1.0, 0.0, 1.0], -1.0, 1.0, 2) == [1, 2]


def test_summarize() -> None:
    s = dryrun.summarize([0.0, 1.0, 0.5, 0.5, 1.0])
    assert (s["count"], s["min"], s["max"], s["p50"]) == (5, 0.0, 1.0, 0.5)
    assert s["mean"] == pytest.approx(0.6)
    assert dryrun.summarize([0.7])["p90"] == 0.7  # one value: every percentile is that value
    assert dryrun.summarize([]) == {"count": 0}
