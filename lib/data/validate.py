"""Check a dataset file line by line (plan §3-5, docs/plan.md) and keep only the valid lines.

Per line: JSON parse; message structure; every tool call names a catalogue tool that the example offers;
arguments are a JSON object valid against the tool's schema; the calls run in the GEN NX sandbox and give
the responses the example carries; the token length fits the profile's max length (so the assistant
header is never cut). Across lines: duplicates (same request text after normalisation) and
contradictions (the same request mapped to different calls).

>>> rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "tools": []}]
>>> report = validate_rows(rows)
>>> report.valid_lines, report.problems
([1], {})
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..gennx.catalogue import load_catalogue
from ..jsonl import JsonlError, check_against_report, parse_line, parsed_lines
from .contexts import sandbox_for
from .generate import norm_text
from .rows import row_problem
NOT_SIMULATED = "the sandbox does not simulate"


@dataclass
class Report:
    total: int = 0
    valid_lines: list[int] = field(default_factory=list)
    problems: dict[int, list[str]] = field(default_factory=dict)      # line → reasons
    not_simulated_calls: int = 0
    executed_calls: int = 0
    longest: int = 0

    def reject(self, line: int, reason: str):
        self.problems.setdefault(line, []).append(reason)

    def summary(self) -> dict:
        reasons = defaultdict(int)
        for items in self.problems.values():
            for r in items:
                reasons[r.split(":")[0]] += 1
        return {"lines": self.total, "valid": len(self.valid_lines), "invalid": len(self.problems),
                "valid_share": len(self.valid_lines) / self.total if self.total else 0.0,
                "executed_calls": self.executed_calls, "not_simulated_calls": self.not_simulated_calls,
                "longest_tokens": self.longest, "reasons": dict(reasons)}


def read_lines(path) -> list[tuple[int, object]]:
    """(line number, parsed value or the JSON error) for each non-empty line; a non-JSONL file raises one error."""
    path = Path(path)
    check_against_report(path)
    out = list(parsed_lines(path, keep_errors=True))
    if not out:
        raise JsonlError(f"{path} has no rows (the file is empty)")
    if not any(isinstance(v, dict) for _, v in out):
        raise JsonlError(f"{path} is not a JSONL file: no line is a JSON object (line {out[0][0]}: {out[0][1]})")
    return out


def _structure(row) -> str | None:
    problem = row_problem(row)
    if problem:
        return f"structure: {problem}"
    if row["messages"][-1]["role"] != "assistant":
        return "structure: a conversation must end with the assistant"
    return None


def _calls(row) -> list[tuple[int, str, object]]:
    out = []
    for i, m in enumerate(row["messages"]):
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call) if isinstance(call, dict) else {}
            out.append((i, fn.get("name"), fn.get("arguments", {})))
    return out


def check_row(row: dict, catalogue, tokenizer=None, max_length: int | None = None) -> tuple[list[str], dict]:
    """Reasons this example is invalid (empty when valid) and facts about it (calls, tokens)."""
    facts = {"calls": [], "tokens": 0, "not_simulated": 0, "executed": 0}
    problem = _structure(row)
    if problem:
        return [problem], facts
    reasons = []
    offered = {t["function"]["name"] for t in row.get("tools", [])}
    parsed = []
    for index, name, arguments in _calls(row):
        if name not in catalogue:
            reasons.append(f"tool name: '{name}' is not in the catalogue (message {index})")
            continue
        if name not in offered:
            reasons.append(f"tool name: '{name}' is called but not offered in 'tools' (message {index})")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as err:
                reasons.append(f"arguments: {name} arguments are not JSON ({err.msg})")
                continue
        problems = catalogue.check_call(name, arguments)
        reasons += [f"schema: {p}" for p in problems]
        if not problems:
            parsed.append((index, name, arguments))
    facts["calls"] = [(n, a) for _, n, a in parsed]
    if not reasons and parsed:
        reasons += _replay(row, parsed, catalogue, facts)
    if tokenizer is not None:
        from ..chat_format import encode

        ids = encode(tokenizer, row["messages"], row.get("tools"))["input_ids"]
        facts["tokens"] = len(ids)
        if max_length and len(ids) > max_length:
            reasons.append(f"length: {len(ids)} tokens > max length {max_length} (the end of the conversation would be cut)")
    return reasons, facts


def _replay(row, parsed, catalogue, facts) -> list[str]:
    """Run the calls in order in the example's context sandbox; tool messages must match the responses."""
    reasons = []
    box = sandbox_for(row.get("meta", {}).get("context") or "empty")
    tool_contents = [m.get("content") for m in row["messages"] if m["role"] == "tool"]
    for position, (_, name, arguments) in enumerate(parsed):
        response = box.execute(catalogue.to_request(name, arguments))
        if "error" in response:
            if response["error"]["message"].startswith(NOT_SIMULATED):
                facts["not_simulated"] += 1
                continue
            reasons.append(f"sandbox: {name} failed: {response['error']['message']}")
            continue
        facts["executed"] += 1
        if position < len(tool_contents):
            try:
                said = parse_line(tool_contents[position])
            except json.JSONDecodeError:
                said = None
                reasons.append(f"sandbox: the tool message for {name} is not JSON (the API answers a JSON object)")
                continue
            if said != response:
                reasons.append(f"sandbox: the tool message for {name} is not what the sandbox answers")
    return reasons


def validate_rows(rows: list, tokenizer=None, max_length: int | None = None, first_line: int = 1) -> Report:
    """Validate parsed rows (or parse errors) and the cross-line rules; see the module docstring."""
    catalogue = load_catalogue()
    report = Report(total=len(rows))
    by_request: dict[str, list[tuple[int, str]]] = defaultdict(list)
    numbered = rows if rows and isinstance(rows[0], tuple) else list(enumerate(rows, start=first_line))
    for line, row in numbered:
        if isinstance(row, json.JSONDecodeError):
            report.reject(line, f"json: line is not valid JSON ({row.msg}, column {row.colno})")
            continue
        reasons, facts = check_row(row, catalogue, tokenizer, max_length)
        report.executed_calls += facts["executed"]
        report.not_simulated_calls += facts["not_simulated"]
        report.longest = max(report.longest, facts["tokens"])
        for r in reasons:
            report.reject(line, r)
        if not reasons:
            user = next(m["content"] for m in row["messages"] if m["role"] == "user")
            by_request[norm_text(user)].append((line, json.dumps(facts["calls"], sort_keys=True, ensure_ascii=False)))
    for entries in by_request.values():
        if len(entries) < 2:
            continue
        first_line_, first_calls = entries[0]
        for line, calls in entries[1:]:
            kind = "duplicate" if calls == first_calls else "contradiction"
            report.reject(line, f"{kind}: same request as line {first_line_}" + ("" if kind == "duplicate" else " but different calls"))
    report.valid_lines = [line for line, _ in numbered if line not in report.problems]
    return report


def validate_file(path, out_valid=None, tokenizer=None, max_length=None) -> Report:
    """Validate a JSONL file; write the valid lines to `out_valid` (when given)."""
    lines = read_lines(path)
    report = validate_rows(lines, tokenizer, max_length)
    if out_valid:
        keep = set(report.valid_lines)
        with open(out_valid, "w", encoding="utf-8") as handle:
            for line, row in lines:
                if line in keep:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report
