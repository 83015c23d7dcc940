"""The shape of one dataset row, checked before anything uses it (validator, evaluator, generator).

A row is `{"messages": [...], "tools": [...], "meta": {...}}` (tools and meta optional). `row_problem`
names the first thing that is not that shape, with where it is (message index, key) and what type was
expected, so that later code can index the row without raising.

>>> row_problem({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "hi"}]})
'messages[0].content: expected a string, got int'
>>> row_problem({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "meta": {"context": "moon"}})
"meta.context: unknown context 'moon' (expected one of: empty, frame, loaded, frame_free, analysed, saved, spare, slab)"
"""
from __future__ import annotations

import json

from .contexts import CONTEXTS

ROLES = ("system", "user", "assistant", "tool")


def _type(value) -> str:
    return "null" if value is None else type(value).__name__


def _surrogate(value) -> bool:
    """A lone UTF-16 surrogate (from a "\\udXXX" escape): no tokenizer can encode it."""
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_surrogate(k) or _surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_surrogate(v) for v in value)
    return False


def _call_problem(call, where: str) -> str | None:
    if not isinstance(call, dict):
        return f"{where}: expected an object, got {_type(call)}"
    fn = call.get("function", call)
    if not isinstance(fn, dict):
        return f"{where}.function: expected an object, got {_type(fn)}"
    if not isinstance(fn.get("name"), str) or not fn["name"]:
        return f"{where}.function.name: expected a non-empty string, got {_type(fn.get('name'))}"
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except (ValueError, RecursionError):
            return f"{where}.function.arguments: '{fn['name']}' arguments are not JSON"
    if not isinstance(args, dict):
        return f"{where}.function.arguments: expected an object (or a JSON string of one), got {_type(args)}"
    return None


def _message_problem(m, i: int) -> str | None:
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        return f"{where}: expected an object, got {_type(m)}"
    if m.get("role") not in ROLES:
        return f"{where}.role: expected one of {', '.join(ROLES)}, got {m.get('role')!r}"
    content = m.get("content")
    if m["role"] in ("user", "tool") and not isinstance(content, str):
        return f"{where}.content: expected a string, got {_type(content)}"
    if content is not None and not isinstance(content, str):
        return f"{where}.content: expected a string or null, got {_type(content)}"
    calls = m.get("tool_calls")
    if calls is not None:
        if m["role"] != "assistant" or not isinstance(calls, list):
            return f"{where}.tool_calls: expected a list on an assistant message, got {_type(calls)} on {m['role']}"
        for j, call in enumerate(calls):
            problem = _call_problem(call, f"{where}.tool_calls[{j}]")
            if problem:
                return problem
    return None


def row_problem(row) -> str | None:
    """Why a parsed line is not a dataset row (None when it is one); see the module docstring.

    >>> row_problem({"messages": [{"role": "user", "content": "hi"}]})
    'no assistant message'
    """
    if not isinstance(row, dict):
        return f"expected a JSON object, got {_type(row)}"
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return f"messages: expected a non-empty list, got {_type(messages)}"
    for i, m in enumerate(messages):
        problem = _message_problem(m, i)
        if problem:
            return problem
    roles = [m["role"] for m in messages]
    if "user" not in roles:
        return "no user message"
    if "assistant" not in roles:
        return "no assistant message"
    tools = row.get("tools", [])
    if not isinstance(tools, list):
        return f"tools: expected a list, got {_type(tools)}"
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict):
            return f"tools[{i}].function: expected an object, got {_type(fn)}"
        if not isinstance(fn.get("name"), str):
            return f"tools[{i}].function.name: expected a string, got {_type(fn.get('name'))}"
    meta = row.get("meta", {})
    if not isinstance(meta, dict):
        return f"meta: expected an object, got {_type(meta)}"
    context = meta.get("context", "empty")
    if context is not None and context not in CONTEXTS:
        return f"meta.context: unknown context {context!r} (expected one of: {', '.join(CONTEXTS)})"
    if _surrogate(messages) or _surrogate(tools):
        return "text: a lone surrogate escape (\\ud800-\\udfff) that no tokenizer can encode"
    return None
