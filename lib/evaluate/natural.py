"""The natural request set (data/eval/natural_requests.jsonl): hand-written requests scored as served.

Each row is one request an engineer typed, the sandbox state it starts from (`context`) and the API
requests it should produce (`expect`, essential fields only). `run_natural` sends every request through
the real chat session (router, prompt budget, parser, sandbox) and `score_sent` compares the requests the
session actually sent with the expectations, at the level of the API, so it does not matter how the
model splits an action into tools (one `create_nodes` or two `create_node`):
- requests go by endpoint: method + path without its trailing ids (+ TABLE_TYPE for /post/TABLE);
  several requests to one endpoint are merged (Assign records unioned, ids of DELETEs unioned);
- **right endpoint**: the set of endpoints sent equals the set expected;
- **exact request**: right endpoint, and each expected body pattern matches the merged body sent
  (every key of the pattern present with an equal value: numbers within 1e-6, strings ignoring case,
  lists element by element; the record key "*" matches any record), and DELETE ids are equal;
- **no call**: for a request that needs none, the model attempted no call at all.
The set is never used for training: a test fails if one of its requests appears in the generated data.

>>> sent = [{"method": "POST", "path": "/db/NODE", "body": {"Assign": {"5": {"X": 0, "Y": 0, "Z": 3.0}}}}]
>>> score_sent(sent, [{"method": "POST", "path": "/db/NODE", "body": {"Assign": {"*": {"Z": 3}}}}], attempted=1)
{'endpoint': True, 'exact': True, 'no_call': None}
"""
from __future__ import annotations

import json
import math

from ..paths import DATA

NATURAL = DATA / "eval" / "natural_requests.jsonl"
FIELDS = ("id", "lang", "context", "request", "expect")


class NaturalSetError(ValueError):
    """A row of the natural set that cannot be used; the message names the file and line."""


def load_natural(path=NATURAL, limit: int | None = None) -> list[dict]:
    """The rows of the natural set, each checked for the fields the scorer needs.

    With `limit`, that many rows spread evenly over the set (it is written topic by topic, so the first
    rows alone would test only a few tools)."""
    from ..jsonl import read_jsonl

    rows = read_jsonl(path)
    for line, row in enumerate(rows, start=1):
        missing = [f for f in FIELDS if f not in row]
        if missing or not isinstance(row.get("expect"), list) or not isinstance(row.get("request"), str):
            raise NaturalSetError(f"{path}: row {line}: needs {FIELDS} with 'request' a string and 'expect' a list"
                                  + (f" (missing {missing})" if missing else ""))
    if limit and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


def endpoint(request: dict) -> tuple[tuple, frozenset]:
    """((method, path without ids[, TABLE_TYPE]), ids) for one API request.

    >>> key, ids = endpoint({"method": "DELETE", "path": "/db/NODE/5,6"})
    >>> key, sorted(ids)
    (('DELETE', '/DB/NODE'), ['5', '6'])
    >>> endpoint({"method": "POST", "path": "/post/TABLE", "body": {"Argument": {"TABLE_TYPE": "REACTIONG"}}})[0]
    ('POST', '/POST/TABLE', 'REACTIONG')
    """
    parts = [p for p in str(request.get("path", "")).split("/") if p]
    base = "/" + "/".join(parts[:2]).upper()
    ids = frozenset(i.strip() for p in parts[2:] for i in p.split(",") if i.strip())
    key = (str(request.get("method", "")).upper(), base)
    body = request.get("body")
    if base == "/POST/TABLE" and isinstance(body, dict) and isinstance(body.get("Argument"), dict):
        key += (str(body["Argument"].get("TABLE_TYPE", "")).upper(),)
    return key, ids


def _merge(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = _merge(out[key], value) if key in out else value
        return out
    return b


def merged(requests: list[dict]) -> dict[tuple, dict]:
    """Requests merged per endpoint: {endpoint: {"body": merged body, "ids": set of ids}}."""
    out: dict[tuple, dict] = {}
    for request in requests:
        key, ids = endpoint(request)
        slot = out.setdefault(key, {"body": None, "ids": set()})
        if request.get("body") is not None:
            slot["body"] = _merge(slot["body"], request["body"]) if slot["body"] is not None else request["body"]
        slot["ids"] |= ids
    return out


def matches(pattern, actual) -> bool:
    """Whether `actual` holds everything `pattern` holds (see the module docstring).

    >>> matches({"Assign": {"*": {"X": 1}}}, {"Assign": {"7": {"X": 1.0, "Y": 2}}})
    True
    >>> matches({"A": "kn"}, {"A": "KN"}), matches([1, 2], [1]), matches({"A": 1}, {})
    (True, False, False)
    """
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        for key, value in pattern.items():
            if key == "*":
                if not any(matches(value, v) for v in actual.values()):
                    return False
            elif key not in actual or not matches(value, actual[key]):
                return False
        return True
    if isinstance(pattern, list):
        return isinstance(actual, list) and len(pattern) == len(actual) and all(map(matches, pattern, actual))
    if isinstance(pattern, bool) or isinstance(actual, bool):
        return pattern is actual
    if isinstance(pattern, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(pattern, actual, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(pattern, str) and isinstance(actual, str):
        return pattern.casefold() == actual.casefold()
    return pattern == actual


def score_sent(sent: list[dict], expect: list[dict], attempted: int) -> dict:
    """{endpoint, exact, no_call} for one request: booleans, None where the measure does not apply.

    sent: the API requests the session executed; attempted: tool calls the model tried (valid or not).
    """
    if not expect:
        return {"endpoint": None, "exact": None, "no_call": attempted == 0 and not sent}
    got, want = merged(sent), merged(expect)
    right = set(got) == set(want)
    exact = right and all(
        matches(spec["body"], got[key]["body"]) if spec["body"] is not None else True for key, spec in want.items()
    ) and all(want[key]["ids"] == got[key]["ids"] for key in want)
    return {"endpoint": right, "exact": exact, "no_call": None}


def summarise_natural(records: list[dict]) -> dict:
    """Shares over the scored records: endpoint / exact over rows that need a call, no_call over the others."""
    calls = [r for r in records if r["expect"]]
    return {"rows": len(records), "call_rows": len(calls), "no_call_rows": len(records) - len(calls),
            "right_endpoint": _share(records, "endpoint"), "exact_request": _share(records, "exact"),
            "no_call": _share(records, "no_call"),
            "over_budget": sum(r.get("over_budget", False) for r in records),
            "by_lang": {lang: {"rows": len(group), "right_endpoint": _share(group, "endpoint"),
                               "exact_request": _share(group, "exact"), "no_call": _share(group, "no_call")}
                        for lang, group in _by(records, "lang").items()}}


def _share(records, key):
    values = [r[key] for r in records if r[key] is not None]
    return sum(values) / len(values) if values else None


def _by(records, key):
    groups: dict[str, list] = {}
    for r in records:
        groups.setdefault(r.get(key), []).append(r)
    return groups


def run_natural(backend, rows: list[dict], *, max_new_tokens: int = 256, max_rounds: int = 3, progress: bool = True,
                records_file=None) -> dict:
    """Send each row's request through a fresh ChatSession (the served policy) and score what it sent.

    Destructive calls are confirmed (an engineer who asks to delete says yes), so every request the model
    makes is executed in the row's sandbox. With `records_file`, each scored record is appended to it as
    one JSON line as soon as it is made, so a run that is cut short keeps what it measured.
    Returns {"summary", "records"}.
    """
    from tqdm.auto import tqdm

    from ..data.contexts import sandbox_for
    from ..serve.session import ChatSession

    records = []
    for row in tqdm(rows, desc="natural set", unit="request", **({} if progress else {"disable": True})):
        session = ChatSession(backend, api=sandbox_for(row["context"]), max_new_tokens=max_new_tokens,
                              max_rounds=max_rounds, confirm=lambda *_: True)
        turn = session.send(row["request"])
        attempted = sum(e.kind in ("call", "rejected") for e in turn.events)
        record = {"id": row["id"], "lang": row["lang"], "request": row["request"], "expect": row["expect"],
                  "offered": turn.tools, "sent": turn.requests, "attempted": attempted,
                  "over_budget": any(e.kind == "error" and "prompt_tokens" in e.data for e in turn.events),
                  "transcript": turn.transcript(), "seconds": sum(r.get("seconds", 0) for r in turn.replies),
                  **score_sent(turn.requests, row["expect"], attempted)}
        records.append(record)
        if records_file:
            with open(records_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return {"summary": summarise_natural(records), "records": records}
