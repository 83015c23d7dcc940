"""`python -m lib.data split`: any valid JSONL → train/eval/test + report.json, validated first, written atomically."""
import json

import pytest

from lib.data.__main__ import main
from lib.data.generate import Generator, norm_text
from lib.data.split import shares_for, split_rows
from lib.jsonl import DatasetMismatchError, read_jsonl, write_jsonl
from lib.models import load_tokenizer
from lib.profile import load_profile


@pytest.fixture(scope="module")
def rows():
    return Generator(11, load_tokenizer(load_profile("smoke")), 2048).build(total=40)   # fits the length check


def own_rows(n, repeat=False):
    """Bring-your-own rows: no meta at all; with `repeat`, every fifth request repeats the one before."""
    out = []
    for i in range(n):
        text = f"구조 질문 {i - 1 if repeat and i % 5 == 4 else i}번"
        out.append({"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": f"답 {i}"}]})
    return out


@pytest.mark.parametrize("train, eval_, expected", [
    (0.8, None, {"train": 0.8, "eval": 0.1, "test": 0.1}), (0.9, None, {"train": 0.9, "eval": 0.05, "test": 0.05}),
    (0.7, 0.3, {"train": 0.7, "eval": 0.3, "test": 0.0}), (0.6, 0.1, {"train": 0.6, "eval": 0.1, "test": 0.3})])
def test_shares(train, eval_, expected):
    assert shares_for(train, eval_) == pytest.approx(expected)


@pytest.mark.parametrize("train, eval_", [(0, None), (1.0, None), (1.2, None), (0.8, 0.3), (0.8, -0.1)])
def test_bad_shares_are_refused(train, eval_):
    with pytest.raises(ValueError, match="ratio"):
        shares_for(train, eval_)


def test_rows_without_meta_still_split_and_same_requests_stay_together():
    rows = own_rows(100, repeat=True)
    parts, note = split_rows(rows, seed=5, shares=shares_for(0.8))
    assert sum(map(len, parts.values())) == 100 and "100 of 100 rows have no meta" in note
    where = {norm_text(r["messages"][0]["content"]): name for name, part in parts.items() for r in part}
    for name, part in parts.items():
        assert all(where[norm_text(r["messages"][0]["content"])] == name for r in part)
    assert 70 <= len(parts["train"]) <= 90 and parts["eval"] and parts["test"]
    assert split_rows(rows, seed=5, shares=shares_for(0.8)) == (parts, note)   # seeded
    assert "meta" not in parts["train"][0]   # rows come back as they were


def test_the_cli_splits_a_generated_file_with_a_checked_report(rows, tmp_path, capsys):
    source = tmp_path / "mine.jsonl"
    write_jsonl(source, rows)
    out = tmp_path / "my_data"
    code = main(["split", "--input", str(source), "--train-ratio", "0.7", "--seed", "1", "--out", str(out), "--profile", "smoke"])
    assert code == 0, capsys.readouterr()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    parts = {name: read_jsonl(out / f"{name}.jsonl") for name in ("train", "eval", "test")}   # checked against report.json
    assert report["splits"] == {name: len(part) for name, part in parts.items()} and sum(report["splits"].values()) == len(rows)
    assert report["shares"] == pytest.approx({"train": 0.7, "eval": 0.15, "test": 0.15}) and report["note"] == ""
    assert set(report["files"]) == {"train.jsonl", "eval.jsonl", "test.jsonl"} and report["validation"]["invalid"] == 0
    groups = {name: {r["meta"]["group"] for r in part} for name, part in parts.items()}
    assert not (groups["train"] & groups["test"]) and not (groups["train"] & groups["eval"]) and not (groups["eval"] & groups["test"])
    with (out / "test.jsonl").open("a", encoding="utf-8") as handle:   # a file changed after the split is caught
        handle.write(json.dumps(rows[0], ensure_ascii=False) + "\n")
    with pytest.raises(DatasetMismatchError):
        read_jsonl(out / "test.jsonl")


def test_invalid_lines_stop_the_split_unless_dropped(tmp_path, capsys):
    rows = own_rows(40)
    bad = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "make_coffee", "arguments": "{}"}}]}]}
    source = tmp_path / "mixed.jsonl"
    write_jsonl(source, rows[:10] + [bad] + rows[10:])
    out = tmp_path / "out"
    args = ["split", "--input", str(source), "--train-ratio", "0.8", "--out", str(out), "--profile", "smoke"]
    assert main(args) == 1 and not out.exists()
    assert "mixed.jsonl:11: tool name: 'make_coffee'" in capsys.readouterr().out
    assert main(args + ["--drop-invalid"]) == 1   # written, but the exit code still says lines were dropped
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sum(report["splits"].values()) == 40 and report["validation"]["invalid"] == 1 and "no meta" in report["note"]


def test_a_bad_ratio_or_a_missing_file_is_exit_code_2(tmp_path, capsys):
    assert main(["split", "--input", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"), "--profile", "smoke"]) == 2
    source = tmp_path / "ok.jsonl"
    write_jsonl(source, own_rows(5))
    assert main(["split", "--input", str(source), "--train-ratio", "1.5", "--out", str(tmp_path / "o"), "--profile", "smoke"]) == 2
    assert "train-ratio" in capsys.readouterr().err
