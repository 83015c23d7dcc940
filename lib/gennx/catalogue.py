"""The GEN NX tool catalogue (data/gennx/tier*.json): look tools up, offer them to a model, check call arguments.

>>> cat = load_catalogue()
>>> cat["create_node"].tier, cat["create_node"].api["path"]
(1, '/db/NODE')
>>> cat.check_call("create_node", {"id": 1, "x": 0, "y": 0})
["create_node: 'z' is a required property"]
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from jsonschema import Draft202012Validator

from ..paths import DATA
from .mapping import ApiRequest, build_request, invert_request

CATALOGUE_DIR = DATA / "gennx"
TIERS = (1, 2, 3)


@dataclass(frozen=True)
class Tool:
    name: str
    tier: int
    description: str
    parameters: dict
    api: dict
    status: str

    def openai(self) -> dict:
        """The tool as the model sees it: OpenAI function form (what goes into <tools>), compact.

        The prompt carries what a model needs to write a call (name, first sentence of the description
        with its Korean term, parameter names, types, enums, required keys); the catalogue keeps the full
        schema and checks every call against it. Rendered this way a Tier 1 tool costs about two thirds of
        the prompt tokens of its full schema (notebook 04 measures it), so the router's k tools fit.

        >>> function = load_catalogue()["delete_nodes"].openai()["function"]
        >>> function["description"], function["parameters"]["required"]
        ('Delete nodes (절점 삭제) by number', ['node_ids'])
        >>> function["parameters"]["properties"]
        {'node_ids': {'type': 'array'}}
        """
        return {"type": "function", "function": {"name": self.name, "description": prompt_description(self.description),
                                                 "parameters": compact_schema(self.parameters)}}


_API_SUFFIX = re.compile(r"\s*(GET|POST|PUT|DELETE) /\S+$")


def prompt_description(description: str) -> str:
    """The first sentence of a tool description, with its Korean term, without notes or the HTTP route.

    >>> prompt_description("Create one node (절점). Ids must be new. POST /db/NODE")
    'Create one node (절점)'
    >>> prompt_description("Add a combination, e.g. 1.2D+1.6L. POST /db/LCOM")
    'Add a combination, e.g. 1.2D+1.6L'
    """
    text = _API_SUFFIX.sub("", description).strip()
    return re.split(r"(?<=[a-z0-9)\]])(?<!e\.g)(?<!i\.e)[.;:] ", text)[0].strip().rstrip(".")


def compact_schema(schema: dict, level: str = "parameters"):
    """What a model needs of a parameters schema to write a call: property names, types (or the enum),
    the properties of object items, and the required keys. Descriptions, bounds, `additionalProperties`
    and `anyOf` stay with the validator, which checks every call against the full schema.

    The shape and order are also what Ollama writes back from its Go types (the top level always has
    `required` and lists the required properties first, then the others alphabetically; a property has no
    `required`; `items` comes out with sorted keys), so the GGUF served by Ollama sees the tools exactly as
    they were in training (tests/test_modelfile.py).

    >>> compact_schema({"type": "object", "properties": {"x": {"type": "number", "description": "X", "minimum": 0},
    ...                 "unit": {"type": "string", "enum": ["M", "MM"]}}, "required": ["x"], "additionalProperties": False})
    {'type': 'object', 'properties': {'x': {'type': 'number'}, 'unit': {'enum': ['M', 'MM']}}, 'required': ['x']}
    """
    out = {"enum": schema["enum"]} if "enum" in schema else {"type": schema.get("type", "object")}
    child = "item" if level == "item" else "property"
    items = schema.get("items")
    if isinstance(items, dict) and "properties" in items:
        out["items"] = compact_schema(items, "item")
    if "properties" in schema:
        names = list(schema["properties"])
        if level == "parameters":   # Ollama's order: the required keys, then the others alphabetically
            required = [n for n in schema.get("required") or [] if n in names]
            names = required + sorted(n for n in names if n not in required)
        out["properties"] = {name: compact_schema(schema["properties"][name], child) for name in names}
    if level == "parameters" or (level == "item" and schema.get("required")):
        out["required"] = list(schema.get("required") or [])
    return _sorted(out) if level == "item" else out


def _sorted(value):
    """JSON with every object's keys sorted (how Go writes a map)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


class Catalogue:
    """All tools by name, with argument checking and the call ⇄ request mapping."""

    def __init__(self, tools: list[Tool]):
        self.tools = {t.name: t for t in tools}
        if len(self.tools) != len(tools):
            raise ValueError("duplicate tool names in the catalogue")
        self._validators = {t.name: Draft202012Validator(t.parameters) for t in tools}

    def __getitem__(self, name: str) -> Tool:
        return self.tools[name]

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __len__(self) -> int:
        return len(self.tools)

    def tier(self, tier: int) -> list[Tool]:
        return [t for t in self.tools.values() if t.tier == tier]

    def openai_tools(self, names) -> list[dict]:
        return [self.tools[n].openai() for n in names]

    def check_call(self, name: str, arguments) -> list[str]:
        """Problems with a call, each naming the tool and the field; empty when the call is valid."""
        if name not in self.tools:
            return [f"unknown tool '{name}'"]
        if not isinstance(arguments, dict):
            return [f"{name}: arguments must be an object"]
        from .sandbox import _non_finite   # JSON Schema's "number" lets NaN, Infinity and 1e309 through

        bad = _non_finite(arguments, "arguments")
        if bad:
            return [f"{name}: {bad.removeprefix('arguments.')}: not a finite number"]
        problems = []
        for err in sorted(self._validators[name].iter_errors(arguments), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in err.path)
            problems.append(f"{name}: {where + ': ' if where else ''}{err.message}")
        return problems

    def to_request(self, name: str, arguments: dict) -> ApiRequest:
        """The one API request a (valid) call stands for."""
        return build_request(self.tools[name].api, arguments)

    def from_request(self, request: ApiRequest) -> list[tuple[str, dict]]:
        """The calls that map to `request` (the reverse mapping), most specific tier first."""
        found = []
        for tool in self.tools.values():
            if tool.tier == 3:
                continue
            args = invert_request(tool.api, request)
            if args is not None and not self.check_call(tool.name, args):
                found.append((tool.name, args))
        return found


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """Read every tier file that exists (tier 1 must)."""
    tools = []
    for tier in TIERS:
        path = CATALOGUE_DIR / f"tier{tier}.json"
        if not path.exists():
            if tier == 1:
                raise FileNotFoundError(path)
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for t in data["tools"]:
            tools.append(Tool(t["name"], tier, t["description"], t["parameters"], t["api"], t.get("status", "")))
    return Catalogue(tools)
