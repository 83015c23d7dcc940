"""Parse `<tool_call>` blocks out of model output into structured calls, reporting problems as data.

A model's output is untrusted: this never raises on bad text. Each problem (malformed JSON, a block
that is not `{"name": ..., "arguments": {...}}`, a missing closing tag) is listed in `errors`.

>>> out = parse_tool_calls('<tool_call>\\n{"name": "run_analysis", "arguments": {}}\\n</tool_call>')
>>> out.calls, out.errors
([ToolCall(name='run_analysis', arguments={})], [])
>>> parse_tool_calls('<tool_call>{"name": "x", "arguments": {').errors
['block 1: no closing </tool_call>', 'block 1: malformed JSON: Expecting property name enclosed in double quotes (char 28)']
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

OPEN, CLOSE = "<tool_call>", "</tool_call>"
_BLOCK = re.compile(re.escape(OPEN) + r"(.*?)(" + re.escape(CLOSE) + r"|$)", re.S)


@dataclass
class ToolCall:
    name: str
    arguments: dict

    def to_message_call(self) -> dict:
        """OpenAI/TRL form, as stored in the datasets."""
        return {"type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class ParsedOutput:
    content: str                       # text outside the tool-call blocks, stripped
    calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocks: int = 0                    # how many <tool_call> blocks were opened

    @property
    def ok(self) -> bool:
        return not self.errors


def _loads(text: str):
    """json.loads whose every failure is a ValueError with a short reason: JSON that nests deeper than
    Python's recursion limit, or an integer longer than its int-string limit, raise other errors."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"malformed JSON: {err.msg} (char {err.pos})") from None
    except RecursionError:
        raise ValueError("malformed JSON: nested too deeply") from None
    except ValueError as err:        # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise ValueError(f"malformed JSON: {str(err).split(';')[0]}") from None


def _preview(obj) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False)[:80]
    except (RecursionError, ValueError):
        return type(obj).__name__


def _as_call(obj, where: str) -> tuple[ToolCall | None, str | None]:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        return None, f"{where}: expected an object with a string 'name', got {_preview(obj)}"
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # some models emit arguments as a JSON string
        try:
            args = _loads(args)
        except ValueError:
            return None, f"{where}: 'arguments' is a string that is not JSON"
    if not isinstance(args, dict):
        return None, f"{where}: 'arguments' must be an object, got {type(args).__name__}"
    extra = set(obj) - {"name", "arguments", "parameters"}
    if extra:
        return None, f"{where}: unexpected keys {sorted(extra)}"
    return ToolCall(obj["name"], args), None


def parse_tool_calls(text: str) -> ParsedOutput:
    """Split model output into free text and tool calls; see the module docstring for examples."""
    text = text or ""
    out = ParsedOutput(content="")
    pieces, last = [], 0
    for number, match in enumerate(_BLOCK.finditer(text), start=1):
        out.blocks += 1
        pieces.append(text[last:match.start()])
        last = match.end()
        where = f"block {number}"
        if not match.group(2):
            out.errors.append(f"{where}: no closing {CLOSE}")
        body = match.group(1).strip()
        try:
            obj = _loads(body)
        except ValueError as err:
            out.errors.append(f"{where}: {err}")
            continue
        call, error = _as_call(obj, where)
        if error:
            out.errors.append(error)
        else:
            out.calls.append(call)
    pieces.append(text[last:])
    content = "".join(pieces)
    if CLOSE in content:
        out.errors.append(f"a stray {CLOSE} without an opening {OPEN}")
        content = content.replace(CLOSE, "")
    out.content = content.strip()
    return out
