"""Odd rows are reported per line (never stop the file), one line reader for all, and a dataset build that
is all-or-nothing and checked by every reader against its report.json."""
import copy
import json

import pytest

from lib.data import __main__ as data_cli
from lib.data import build
from lib.data.validate import validate_file
from lib.evaluate.inputs import DatasetFormatError, read_rows
from lib.jsonl import DatasetMismatchError, JsonlError, read_jsonl
from lib.paths import DATA

SAMPLES = DATA / "samples" / "gennx_tool_calling_samples.jsonl"
GOOD = read_jsonl(SAMPLES)[0]      # create_node with its tool message, context "empty"


def odd(change):
    row = copy.deepcopy(GOOD)
    change(row)
    return row


ODD_ROWS = [   # valid JSON, wrong shapes: each must be one reported line, not the end of the file
    (odd(lambda r: r["messages"][1].update(content=5)), "messages[1].content: expected a string, got int"),
    (odd(lambda r: r["messages"][2].update(tool_calls=["create_node"])), "messages[2].tool_calls[0]: expected an object, got str"),
    (odd(lambda r: r["messages"][2]["tool_calls"][0].update(function="create_node")), "tool_calls[0].function: expected an object, got str"),
    (odd(lambda r: r["tools"][0].update(function=[1])), "tools[0].function: expected an object, got list"),
    (odd(lambda r: r["messages"][2]["tool_calls"][0]["function"].update(name=["create_node"])), "function.name: expected a non-empty string, got list"),
    (odd(lambda r: r.update(meta="frame")), "meta: expected an object, got str"),
    (odd(lambda r: r["meta"].update(context="moon")), "meta.context: unknown context 'moon'"),
    (odd(lambda r: r["messages"][3].update(content="OK")), "the tool message for create_node is not JSON"),
    (odd(lambda r: r["messages"][1].update(content="\ud800 절점")), "lone surrogate"),
]


def write(path, rows, prefix=""):
    path.write_text(prefix + "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_odd_rows_are_reported_one_by_one_and_the_valid_ones_kept(tmp_path, capsys):
    rows = [GOOD] + [row for row, _ in ODD_ROWS]
    path = write(tmp_path / "odd.jsonl", rows)
    report = validate_file(path, tmp_path / "keep.jsonl")
    assert report.valid_lines == [1] and sorted(report.problems) == list(range(2, len(rows) + 1))
    for line, (_, reason) in enumerate(ODD_ROWS, start=2):
        assert any(reason in r for r in report.problems[line]), (line, report.problems[line])
    assert read_jsonl(tmp_path / "keep.jsonl") == [GOOD]
    assert data_cli.main(["validate", str(path), "--profile", "smoke"]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: structure: messages[1].content" in out and f"1 of {len(rows)} lines valid" in out


def test_the_evaluator_refuses_odd_rows_before_any_generation(tmp_path):
    for row, reason in ODD_ROWS[:-2]:
        with pytest.raises(DatasetFormatError, match="odd.jsonl:2: not a dataset row"):
            read_rows(write(tmp_path / "odd.jsonl", [GOOD, row]))


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_separators_inside_a_row_keep_it_one_row(tmp_path, separator):
    row = odd(lambda r: r["messages"][-1].update(content=f"절점 1번을{separator}추가했습니다."))
    path = write(tmp_path / "sep.jsonl", [row, GOOD])
    assert validate_file(path, tmp_path / "keep.jsonl").total == 2
    assert read_rows(path)[0] == row == read_jsonl(path)[0]
    assert read_jsonl(tmp_path / "keep.jsonl")[0] == row


def test_a_byte_order_mark_does_not_drop_the_first_row(tmp_path):
    path = write(tmp_path / "bom.jsonl", [GOOD], prefix="\ufeff")
    assert validate_file(path).valid_lines == [1]
    assert read_rows(path) == [GOOD] == read_jsonl(path)


def test_an_empty_file_is_an_error_not_a_pass(tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("\n \n", encoding="utf-8")
    assert data_cli.main(["validate", str(tmp_path / "empty.jsonl"), "--profile", "smoke"]) == 2
    assert "has no rows" in capsys.readouterr().err


def test_an_unknown_profile_is_a_clear_error(tmp_path, capsys):
    assert data_cli.main(["validate", str(SAMPLES), "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_the_shipped_samples_validate():
    report = validate_file(SAMPLES)
    assert report.problems == {} and report.total == 10 and report.executed_calls == 8


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "processed"
    result = build.build_dataset(total=40, seed=1, profile="smoke", out_dir=out, echo=lambda *_: None)
    return out, result


def test_the_report_records_counts_and_hashes_that_readers_check(built):
    out, result = built
    assert set(result["files"]) == {"train.jsonl", "eval.jsonl", "test.jsonl"}
    assert all(len(read_jsonl(out / name)) == entry["rows"] for name, entry in result["files"].items())
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]      # no temporary folder left


def test_an_interrupted_build_leaves_the_previous_dataset_whole(built, monkeypatch):
    out, _ = built
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def interrupted(path, rows):     # the second split file is never finished
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(path, rows)

    from lib import jsonl
    real = jsonl.write_jsonl
    monkeypatch.setattr(jsonl, "write_jsonl", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build.build_dataset(total=40, seed=2, profile="smoke", out_dir=out, echo=lambda *_: None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("damage", ["cut", "swap"])
def test_a_split_that_disagrees_with_its_report_is_refused_with_what_to_do(built, tmp_path, damage):
    out, _ = built
    copy_dir = tmp_path / "processed"
    copy_dir.mkdir()
    for p in out.iterdir():
        copy_dir.joinpath(p.name).write_bytes(p.read_bytes())
    lines = (copy_dir / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    if damage == "cut":       # a write stopped part-way
        (copy_dir / "train.jsonl").write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    else:                     # the same number of rows from another build
        (copy_dir / "train.jsonl").write_text("".join(lines[1:] + lines[:1]), encoding="utf-8")
    with pytest.raises(DatasetMismatchError, match="does not match .*report.json.*python -m lib.data build"):
        read_jsonl(copy_dir / "train.jsonl")
    with pytest.raises(DatasetFormatError, match="python -m lib.data build"):
        read_rows(copy_dir / "train.jsonl")
    with pytest.raises(JsonlError, match="report.json"):
        validate_file(copy_dir / "train.jsonl")
    assert read_jsonl(copy_dir / "eval.jsonl")      # the untouched split still reads


def test_ensure_dataset_builds_only_when_the_split_is_missing(tmp_path):
    from lib import profile
    p = profile.load_profile("smoke", overrides={"dataset.out": str(tmp_path / "processed"), "dataset.total": 30})
    out = build.ensure_dataset(p, echo=lambda *_: None)
    assert out == tmp_path / "processed" and (out / "train.jsonl").exists()
    stamp = (out / "report.json").stat().st_mtime_ns
    assert build.ensure_dataset(p, echo=lambda *_: None) == out and (out / "report.json").stat().st_mtime_ns == stamp
