"""A person reads the data: a reproducible random sample of rows rendered as one HTML table.

The plan (docs/plan.md §3-2) has a person review 200–300 generated examples. The validator proves that
every call is well-formed and runs; only a reader can tell whether the call is what the words asked for.
`sample_rows` draws the same rows for the same seed; `render_html` writes one row per example (category,
request, tools offered, the assistant's calls, the tool responses, the final answer) under a checklist of
what to look for, with an empty column for the reader's verdict.

    python -m lib.data review --input data/processed/train.jsonl --n 200 --seed 0 --out artifacts/review/sample-200.html

>>> rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(10)]
>>> [line for line, _ in sample_rows(rows, n=3, seed=1)] == [line for line, _ in sample_rows(rows, n=3, seed=1)]
True
>>> review_record(rows[0])["request"]
'q0'
"""
from __future__ import annotations

import html
import json
import random
from collections import Counter
from pathlib import Path

from .generate import norm_text

CHECKLIST = [
    "요청의 말에 맞는 도구를 불렀나? (예: '반력 보여줘' → 해석 결과 조회, '지지 조건' → add_support)",
    "인자 값이 말과 같은가? 번호·좌표·하중·단면 치수·강종·이름이 요청에 쓴 그대로인가?",
    "단위가 맞나? mm ↔ m, kN ↔ tonf, kN/m ↔ kN/m² 처럼 요청의 단위가 인자에 올바르게 옮겨졌나?",
    "호출이 없는 행(도메인 Q&A, 기준 비교, 부정 예시)은 정말 도구가 필요 없는 요청인가? 필요한데 말로만 답하지 않았나?",
    "한국어·영어가 자연스러운가? 사람이 실제로 그렇게 쓰나? 어색한 조사, 번역투, 섞인 언어가 있나?",
    "중복: 같은 그룹(템플릿)에서 나온 행이 말만 조금 바뀐 채 여러 번 보이나? 데이터가 실제보다 다양해 보이게 하나?",
    "도구 응답과 최종 답이 어긋나지 않나? 답이 응답에 없는 숫자를 지어내지 않나?",
]
COLUMNS = ["#", "line", "category", "request", "tools offered", "tool calls", "tool responses", "final answer", "검토"]
STYLE = """body{font-family:system-ui,'Malgun Gothic',sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}th{background:#f0f0f0;position:sticky;top:0}
td.calls,td.resp{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}td.verdict{min-width:6em}
tr.dup td{background:#fff6e0}"""
RESPONSE_CHARS = 300


def sample_rows(rows: list, n: int = 200, seed: int = 0) -> list[tuple[int, dict]]:
    """(1-based line, row) for `n` rows drawn without replacement with `random.Random(seed)`, in file order.

    Fewer rows than `n` gives all of them.
    """
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(n, len(rows))))
    return [(i + 1, rows[i]) for i in picked]


def _calls(message: dict) -> list[str]:
    out = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call)
        arguments = fn.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                pass
        out.append(f"{fn.get('name')}({json.dumps(arguments, ensure_ascii=False)})")
    return out


def review_record(row: dict) -> dict:
    """The fields a reader needs from one row (strings), in the course's row format (docs/data-format.md)."""
    messages = row.get("messages") or []
    meta = row.get("meta") or {}
    user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
    calls = [c for m in messages if m.get("role") == "assistant" for c in _calls(m)]
    responses = [str(m.get("content") or "") for m in messages if m.get("role") == "tool"]
    final = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "assistant" and not m.get("tool_calls")), "")
    category = meta.get("category") or ("tool call" if calls else "no call")
    if meta.get("tier"):
        category += f" / tier {meta['tier']}"
    return {"category": category, "lang": meta.get("lang", ""), "group": meta.get("group", ""), "request": user,
            "tools": [t.get("function", {}).get("name", "?") for t in row.get("tools") or []],
            "calls": calls, "responses": [r if len(r) <= RESPONSE_CHARS else r[:RESPONSE_CHARS] + " …" for r in responses],
            "final": final}


def table_html(sample: list[tuple[int, dict]]) -> str:
    """An HTML <table> of the sampled rows; rows whose group or request repeats in the sample are shaded."""
    records = [(line, review_record(row)) for line, row in sample]
    repeats = Counter(r["group"] for _, r in records if r["group"]) + Counter(norm_text(r["request"]) for _, r in records)
    esc = html.escape
    out = ["<table>", "<tr>" + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS) + "</tr>"]
    for number, (line, r) in enumerate(records, start=1):
        dup = (r["group"] and repeats[r["group"]] > 1) or repeats[norm_text(r["request"])] > 1
        group = f"<br><small>{esc(r['group'])}</small>" if r["group"] else ""
        out.append(f"<tr{' class=dup' if dup else ''}><td>{number}</td><td>{line}</td><td>{esc(r['category'])}"
                   f"<br><small>{esc(r['lang'])}</small>{group}</td><td>{esc(r['request'])}</td>"
                   f"<td>{esc(', '.join(r['tools']))}</td><td class=calls>{esc(chr(10).join(r['calls'])) or '—'}</td>"
                   f"<td class=resp>{esc(chr(10).join(r['responses'])) or '—'}</td><td>{esc(r['final'])}</td>"
                   f"<td class=verdict></td></tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(sample: list[tuple[int, dict]], title: str, note: str = "") -> str:
    """A whole HTML page: title, note, the checklist, then the table."""
    checklist = "".join(f"<li>{html.escape(item)}</li>" for item in CHECKLIST)
    return (f"<!doctype html>\n<html lang=ko><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n<p>{html.escape(note)}</p>\n"
            f"<h2>확인할 것</h2><ol>{checklist}</ol>\n<p>노란 행: 같은 그룹(템플릿)이나 같은 요청이 표본에 두 번 이상 나온 행. "
            f"마지막 열(검토)에 OK / 문제를 적으며 읽으세요.</p>\n{table_html(sample)}\n</body></html>\n")


def write_review(rows: list, out, n: int = 200, seed: int = 0, source: str = "") -> dict:
    """Sample, render and write the page to `out`; returns {"path", "rows", "lines", "category"}."""
    sample = sample_rows(rows, n, seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    note = f"{source}: {len(rows)}행 중 {len(sample)}행 (seed {seed}). 같은 seed면 같은 행이 뽑힙니다."
    out.write_text(render_html(sample, f"데이터 검토 표본 {len(sample)}행", note), encoding="utf-8")
    return {"path": str(out), "rows": len(sample), "lines": [line for line, _ in sample],
            "category": dict(Counter(review_record(row)["category"].split(" / ")[0] for _, row in sample))}
