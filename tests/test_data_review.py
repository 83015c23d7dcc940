"""The review sample: the same rows for the same seed, every field a reader needs, escaped HTML, the CLI."""
import html
import re

import pytest

from lib.data.__main__ import main
from lib.data.review import CHECKLIST, review_record, sample_rows, table_html, write_review
from lib.jsonl import write_jsonl

CALL_ROW = {
    "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "절점 1번을 <원점>에 만들어 줘"},
                 {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                     "name": "create_node", "arguments": "{\"id\": 1, \"x\": 0, \"y\": 0, \"z\": 0}"}}]},
                 {"role": "tool", "name": "create_node", "content": "{\"NODE\": {\"1\": {\"X\": 0, \"Y\": 0, \"Z\": 0}}}"},
                 {"role": "assistant", "content": "절점 1번을 만들었습니다."}],
    "tools": [{"type": "function", "function": {"name": "create_node", "parameters": {}}},
              {"type": "function", "function": {"name": "add_support", "parameters": {}}}],
    "meta": {"category": "single", "tier": 1, "lang": "ko", "group": "create_node.ko1"}}
TEXT_ROW = {"messages": [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "안녕하세요"}]}


def numbered(n):
    return [{"messages": [{"role": "user", "content": f"요청 {i}"}, {"role": "assistant", "content": "답"}],
             "meta": {"category": "negative", "group": f"g{i}"}} for i in range(n)]


@pytest.mark.parametrize("n, seed", [(200, 0), (20, 7), (500, 1)])
def test_the_sample_is_reproducible_and_in_file_order(n, seed):
    rows = numbered(300)
    first, again = sample_rows(rows, n, seed), sample_rows(rows, n, seed)
    lines = [line for line, _ in first]
    assert lines == [line for line, _ in again] and lines == sorted(lines) and len(set(lines)) == min(n, 300)
    assert all(rows[line - 1] is row for line, row in first)
    assert lines != [line for line, _ in sample_rows(rows, n, seed + 1)] or n >= 300


def test_a_record_has_what_a_reader_checks():
    r = review_record(CALL_ROW)
    assert r["request"] == "절점 1번을 <원점>에 만들어 줘" and r["tools"] == ["create_node", "add_support"]
    assert r["calls"] == ['create_node({"id": 1, "x": 0, "y": 0, "z": 0})'] and r["responses"][0].startswith('{"NODE"')
    assert r["final"] == "절점 1번을 만들었습니다." and r["category"] == "single / tier 1"
    bare = review_record(TEXT_ROW)   # bring-your-own rows without meta
    assert bare["category"] == "no call" and bare["calls"] == [] and bare["final"] == "안녕하세요"


def test_the_table_escapes_text_and_marks_repeated_groups():
    html = table_html([(1, CALL_ROW), (2, CALL_ROW), (3, TEXT_ROW)])
    assert "&lt;원점&gt;" in html and "<원점>" not in html
    assert html.count("<tr class=dup>") == 2 and html.count("<tr>") == 2   # header + the text row


def test_the_page_and_the_cli(tmp_path, capsys):
    rows = numbered(250)
    source = tmp_path / "rows.jsonl"
    write_jsonl(source, rows)
    out = tmp_path / "review" / "sample-200.html"
    assert main(["review", "--input", str(source), "--n", "200", "--seed", "3", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and all(html.escape(item) in page for item in CHECKLIST)
    assert len(re.findall(r"<tr[ >]", page)) == 201 and "200 of 250 rows (seed 3)" in capsys.readouterr().out
    again = write_review(rows, tmp_path / "again.html", 200, 3, source=str(source))
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == page and again["rows"] == 200
