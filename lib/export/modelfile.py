"""Write an Ollama Modelfile for an exported GGUF: the course chat format as a Go template, stop tokens, greedy.

Ollama does not run the Jinja template stored in the GGUF; it renders its own Go text/template
(`TEMPLATE`) with `.System`, `.Messages` (`.Role`, `.Content`, `.ToolCalls[].Function.Name/.Arguments`)
and `.Tools`. `templates/chatml_tools.gotmpl` writes the same text as the training template. Ollama
passes tools and arguments as Go values, so the template writes their JSON itself, with Python's
spacing and the catalogue's key order; what it cannot restore is what Ollama dropped before: JSON
Schema fields its Go types do not hold (`ollama_tool_view` shows exactly which), the key order inside
nested schemas and values (sorted), and the ".0" of whole floats. The tests render the template with
Go's text/template and compare it line by line with the training template.

>>> text = modelfile_text("course-q8_0.gguf")
>>> text.splitlines()[0], 'PARAMETER stop "<|im_end|>"' in text
('FROM ./course-q8_0.gguf', True)
"""
from __future__ import annotations

import json
from pathlib import Path

from ..chat_format import IM_END
from ..paths import ROOT

GO_TEMPLATE = (ROOT / "lib" / "templates" / "chatml_tools.gotmpl").read_text(encoding="utf-8")
STOP = (IM_END, "<|endoftext|>")
# greedy like the course's evaluation; Ollama's defaults (temperature 0.8, repeat_penalty 1.1) would not be
PARAMETERS = {"temperature": 0, "top_k": 1, "repeat_penalty": 1, "num_ctx": 4096}
DEFAULT_SYSTEM = "당신은 MIDAS GEN NX 구조해석 도우미입니다. 필요할 때만 도구를 호출하세요."
PROPERTY_KEYS = ("anyOf", "type", "items", "description", "enum", "properties")   # Ollama's api.ToolProperty


def modelfile_text(gguf_name: str, system: str | None = DEFAULT_SYSTEM, parameters: dict | None = None) -> str:
    """The Modelfile text: FROM the GGUF (beside the Modelfile), TEMPLATE, PARAMETERs, SYSTEM."""
    if '"""' in GO_TEMPLATE or (system and '"""' in system):
        raise ValueError('a Modelfile block cannot contain """')
    lines = [f"FROM ./{gguf_name}", "", f'TEMPLATE """{GO_TEMPLATE.strip()}"""', ""]
    lines += [f'PARAMETER stop "{token}"' for token in STOP]
    lines += [f"PARAMETER {key} {value}" for key, value in {**PARAMETERS, **(parameters or {})}.items()]
    if system:
        lines += ["", f'SYSTEM """{system}"""']
    return "\n".join(lines) + "\n"


def template_of(modelfile: str) -> str:
    """The TEMPLATE block of a Modelfile text (what Ollama parses with text/template).

    >>> template_of(modelfile_text("m.gguf")) == GO_TEMPLATE.strip()
    True
    """
    start = modelfile.index('TEMPLATE """') + len('TEMPLATE """')
    return modelfile[start:modelfile.index('"""', start)]


def write_modelfile(gguf_path, name: str = "gennx-course", system: str | None = DEFAULT_SYSTEM) -> dict:
    """Write `Modelfile` beside the GGUF; return its path and the commands that create and run the model."""
    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise FileNotFoundError(f"no GGUF file at {gguf_path}: export one first (python -m lib.export)")
    path = gguf_path.parent / "Modelfile"
    path.write_text(modelfile_text(gguf_path.name, system), encoding="utf-8")
    from .merge import display_path

    return {"path": path, "commands": ollama_commands(display_path(path), name)}   # run from the repository root


def ollama_commands(modelfile, name: str = "gennx-course") -> list[str]:
    """The shell commands that register the model with Ollama and talk to it (with a tool, over the API).

    >>> ollama_commands("out/Modelfile")[:2]
    ['ollama create gennx-course -f out/Modelfile', 'ollama run gennx-course']
    """
    request = {"model": name, "stream": False, "messages": [{"role": "user", "content": "절점 1번을 원점에 만들어 줘"}],
               "tools": [_example_tool()]}
    return [f"ollama create {name} -f {modelfile}", f"ollama run {name}",
            f"curl http://localhost:11434/api/chat -d '{json.dumps(request, ensure_ascii=False)}'"]


def _example_tool() -> dict:
    from ..gennx.catalogue import load_catalogue

    return load_catalogue()["create_node"].openai()


def ollama_tool_view(tool: dict) -> dict:
    """What Ollama keeps of an OpenAI tool dict: its Go types drop other JSON Schema keys (minimum, minItems,
    additionalProperties, a top-level anyOf, ...). Compare as objects: key order is the template's business.

    >>> t = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object",
    ...      "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"], "additionalProperties": False}}}
    >>> ollama_tool_view(t)["function"]["parameters"]
    {'type': 'object', 'properties': {'n': {'type': 'integer'}}, 'required': ['n']}
    """
    fn = tool["function"]
    params = fn.get("parameters") or {}
    view_params = {"type": params.get("type", "")}
    for key, out in (("$defs", "$defs"), ("items", "items")):
        if params.get(key) is not None:
            view_params[out] = params[key]
    view_params["properties"] = {k: _property_view(v) for k, v in (params.get("properties") or {}).items()}
    view_params["required"] = list(params.get("required") or [])   # the template writes [] when empty
    view = {"type": tool.get("type", "function")}
    if tool.get("items") is not None:
        view["items"] = tool["items"]
    view["function"] = {"name": fn["name"], "description": fn.get("description", ""), "parameters": view_params}
    return view


def _property_view(prop: dict) -> dict:
    out = {}
    for key in PROPERTY_KEYS:
        value = prop.get(key)
        if value in (None, "", [], {}):
            continue                                  # omitempty in Ollama's Go type
        if key == "anyOf":
            value = [_property_view(p) for p in value]
        elif key == "properties":
            value = {k: _property_view(v) for k, v in value.items()}
        out[key] = value
    return out


def ollama_messages(messages: list[dict]) -> list[dict]:
    """Course/OpenAI-style messages in the form Ollama's /api/chat takes (arguments as objects, tool_name).

    >>> m = [{"role": "assistant", "content": None, "tool_calls": [{"type": "function",
    ...       "function": {"name": "f", "arguments": '{"a": 1}'}}]}, {"role": "tool", "name": "f", "content": "ok"}]
    >>> for message in ollama_messages(m):
    ...     print(message)
    {'role': 'assistant', 'content': '', 'tool_calls': [{'function': {'name': 'f', 'arguments': {'a': 1}}}]}
    {'role': 'tool', 'content': 'ok', 'tool_name': 'f'}
    """
    from ..chat_format import normalise_messages

    out = []
    for message in normalise_messages(messages):
        item = {"role": message["role"], "content": message.get("content") or ""}
        if message.get("tool_calls"):
            item["tool_calls"] = [{"function": {"name": fn["name"], "arguments": fn.get("arguments") or {}}}
                                  for fn in (call.get("function", call) for call in message["tool_calls"])]
        if message["role"] == "tool" and message.get("name"):
            item["tool_name"] = message["name"]
        out.append(item)
    return out
