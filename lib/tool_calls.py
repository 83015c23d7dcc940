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


def _as_call(obj, where: str) -> tuple[ToolCall | None, str | None]:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        return None, f"{where}: expected an object with a string 'name', got {json.dumps(obj, ensure_ascii=False)[:80]}"
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # some models emit arguments as a JSON string
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
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
            obj = json.loads(body)
        except json.JSONDecodeError as err:
            out.errors.append(f"{where}: malformed JSON: {err.msg} (char {err.pos})")
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
