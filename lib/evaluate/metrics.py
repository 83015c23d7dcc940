"""Tool-calling metrics: score one model output against the reference turn, then sum turns up.

Unit of evaluation: one assistant *turn*, teacher-forced. The model sees the gold conversation up to
that turn (system, user, earlier gold calls and tool responses) and writes the turn itself. A turn
*expects tools* when its reference has `tool_calls`; otherwise it is a *no-call* turn (negative
examples, domain questions, and final summaries when they are included).

Metrics (each a share in [0, 1], or None when nothing was there to count):

- json_validity: among outputs that *attempt* a call (at least one `<tool_call>` tag, opening or
  stray closing), the share where every block parses to `{"name": str, "arguments": {...}}` with no
  parse error (lib.tool_calls). Outputs without any tag are not counted: they made no JSON to judge.
- tool_name_accuracy: among tool-expecting turns, the share whose multiset of predicted tool names
  equals the reference's (order free: parallel calls may come in any order).
- parameter_accuracy: among tool-expecting turns, the share whose calls equal the reference's as a
  multiset of (name, normalised arguments). Normalisation (`canonical`): object key order is ignored;
  numbers compare by value (1 == 1.0) but booleans are not numbers (True != 1); list order counts
  (node lists are ordered); strings compare exactly, except a value of a schema property with an
  `enum` whose values stay distinct when case-folded, which compares case-insensitively ("kn" is the
  enum value "KN": the intent is right; whether the API takes it is what executability measures).
- argument_f1 (with argument_precision / argument_recall): micro-averaged over all tool-expecting turns,
  on (tool, top-level key, canonical value) triples: precision = matched / predicted triples,
  recall = matched / reference triples.
- hallucination_rate: among all predicted calls, the share naming a tool that the prompt did not offer
  or using an argument key (at any depth) that the offered tool's schema does not define.
- no_call_accuracy: among no-call turns, the share answered with text and no `<tool_call>` tag.
- executability: among predicted calls that the sandbox simulates, the share that run without error,
  after the example's gold calls before this turn were replayed (see `execute_calls`).

>>> s = score_turn('<tool_call>\\n{"name": "f", "arguments": {"a": 1.0}}\\n</tool_call>',
...                [("f", {"a": 1})], TOOLS_F)
>>> s["json_valid"], s["name_match"], s["exact_match"], s["hallucinated_calls"]
(True, True, True, 0)
"""
from __future__ import annotations

import json
from collections import Counter

from ..tool_calls import parse_tool_calls

TOOLS_F = [{"type": "function", "function": {"name": "f", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "unit": {"type": "string", "enum": ["KN", "M"]}}}}}]
NOT_SIMULATED = "the sandbox does not simulate"


# ---------------------------------------------------------------- normalisation

def tool_schemas(tools: list[dict] | None) -> dict[str, dict]:
    """Offered tools by name → their parameter schema (OpenAI form or bare function form).

    >>> sorted(tool_schemas(TOOLS_F))
    ['f']
    """
    out = {}
    for tool in tools or []:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out[fn["name"]] = fn.get("parameters") or {}
    return out


def _case_free_enum(schema: dict) -> bool:
    enum = schema.get("enum") if isinstance(schema, dict) else None
    if not enum or not all(isinstance(v, str) for v in enum):
        return False
    return len({v.casefold() for v in enum}) == len(enum)


def canonical(value, schema: dict | None = None):
    """A hashable, comparable form of an argument value (rules in the module docstring).

    >>> canonical({"b": 1.0, "a": [2, 1]}) == canonical({"a": [2, 1], "b": 1})
    True
    >>> canonical("kn", {"enum": ["KN", "M"]}) == canonical("KN", {"enum": ["KN", "M"]})
    True
    >>> canonical(True) == canonical(1), canonical("A") == canonical("a")
    (False, False)
    """
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", float(value))
    if isinstance(value, str):
        return ("str", value.casefold() if _case_free_enum(schema) else value)
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return ("list", tuple(canonical(v, items) for v in value))
    if isinstance(value, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return ("obj", tuple(sorted((str(k), canonical(v, props.get(k))) for k, v in value.items())))
    return ("other", json.dumps(value, sort_keys=True, default=str))


def canonical_call(name: str, arguments: dict, schemas: dict[str, dict]):
    """(name, canonical arguments): what parameter accuracy compares."""
    return name, canonical(arguments, schemas.get(name))


def reference_calls(message: dict) -> list[tuple[str, dict]]:
    """(name, arguments) of a dataset assistant message; `arguments` may be stored as a JSON string.

    >>> reference_calls({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]})
    [('f', {'a': 1})]
    """
    out = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call)
        args = fn.get("arguments", {})
        out.append((fn["name"], json.loads(args) if isinstance(args, str) else dict(args or {})))
    return out


# ---------------------------------------------------------------- hallucination

def unknown_keys(arguments, schema: dict, where: str = "") -> list[str]:
    """Argument keys (dotted paths, any depth) that the schema does not define.

    Only objects whose schema lists `properties` are checked (a free-form object has no unknown keys).

    >>> schema = {"properties": {"nodes": {"type": "array", "items": {"properties": {"id": {}}}}}}
    >>> unknown_keys({"nodes": [{"id": 1, "colour": "red"}], "speed": 3}, schema)
    ['nodes.0.colour', 'speed']
    """
    found = []
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(arguments, dict) and isinstance(schema.get("properties"), dict):
        for key, value in arguments.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in schema["properties"]:
                found.append(path)
            else:
                found += unknown_keys(value, schema["properties"][key], path)
    elif isinstance(arguments, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(arguments):
            found += unknown_keys(value, schema["items"], f"{where}.{i}" if where else str(i))
    return found


def hallucinations(name: str, arguments: dict, schemas: dict[str, dict]) -> list[str]:
    """Why a predicted call is hallucinated (empty when it is not): a tool not offered, or unknown keys.

    >>> hallucinations("g", {}, tool_schemas(TOOLS_F)), hallucinations("f", {"b": 2}, tool_schemas(TOOLS_F))
    (["tool 'g' was not offered"], ["f: argument 'b' is not in the schema"])
    """
    if name not in schemas:
        return [f"tool '{name}' was not offered"]
    return [f"{name}: argument '{key}' is not in the schema" for key in unknown_keys(arguments, schemas[name])]


# ---------------------------------------------------------------- one turn

def _triples(calls, schemas) -> Counter:
    return Counter((name, str(key), canonical(value, (schemas.get(name) or {}).get("properties", {}).get(key)))
                   for name, args in calls for key, value in args.items())


def score_turn(output: str, reference: list[tuple[str, dict]], tools: list[dict] | None) -> dict:
    """Flags and counts for one output against its reference calls (empty list: a no-call turn).

    Never raises on bad output: a malformed output gets `json_valid` False and keeps the parser's errors.
    A block whose JSON does not parse is no call for the other metrics; a complete call that only lacks
    its closing tag still counts for them (lib.tool_calls, which serving uses too, accepts it).

    >>> s = score_turn('<tool_call>{"name": "f", "arguments": {"a": 1}', [("f", {"a": 1})], TOOLS_F)
    >>> s["attempted"], s["json_valid"], s["name_match"], s["errors"][:1]
    (True, False, False, ['block 1: no closing </tool_call>'])
    >>> score_turn("Hello!", [], TOOLS_F)["no_call_ok"]
    True
    """
    parsed = parse_tool_calls(output)
    schemas = tool_schemas(tools)
    predicted = [(c.name, c.arguments) for c in parsed.calls]
    attempted = parsed.blocks > 0 or bool(parsed.errors)
    expects = bool(reference)
    ref_triples, pred_triples = _triples(reference, schemas), _triples(predicted, schemas)
    reasons = [r for name, args in predicted for r in hallucinations(name, args, schemas)]
    flagged = sum(bool(hallucinations(name, args, schemas)) for name, args in predicted)
    return {
        "expects_tools": expects,
        "reference": [{"name": n, "arguments": a} for n, a in reference],
        "predicted": [{"name": n, "arguments": a} for n, a in predicted],
        "content": parsed.content,
        "errors": parsed.errors,
        "attempted": attempted,
        "json_valid": (parsed.ok and bool(predicted)) if attempted else None,
        "name_match": Counter(n for n, _ in predicted) == Counter(n for n, _ in reference) if expects else None,
        "exact_match": (Counter(canonical_call(n, a, schemas) for n, a in predicted)
                        == Counter(canonical_call(n, a, schemas) for n, a in reference)) if expects else None,
        "arg_matched": sum((ref_triples & pred_triples).values()) if expects else 0,
        "arg_predicted": sum(pred_triples.values()) if expects else 0,
        "arg_reference": sum(ref_triples.values()) if expects else 0,
        "predicted_calls": len(predicted),
        "hallucinated_calls": flagged,
        "hallucinations": reasons,
        "no_call_ok": (not attempted and bool(parsed.content)) if not expects else None,
    }


def name_pairs(reference: list[str], predicted: list[str]) -> list[tuple[str, str]]:
    """(reference, predicted) tool-name pairs for a confusion table; "(none)" fills the shorter side.

    Equal names pair first; the rest pair in order.

    >>> name_pairs(["a", "b"], ["b", "c", "d"])
    [('b', 'b'), ('a', 'c'), ('(none)', 'd')]
    """
    ref, pred = list(reference), list(predicted)
    pairs = []
    for name in list(ref):
        if name in pred:
            pairs.append((name, name))
            ref.remove(name)
            pred.remove(name)
    for i in range(max(len(ref), len(pred))):
        pairs.append((ref[i] if i < len(ref) else "(none)", pred[i] if i < len(pred) else "(none)"))
    return pairs


# ---------------------------------------------------------------- executability

def execute_calls(calls: list[tuple[str, dict]], history: list[tuple[str, dict]], context: str = "empty") -> list[dict]:
    """Run predicted calls in the GEN NX sandbox after replaying the gold `history`; one status per call.

    The sandbox starts from the example's context (lib.data.contexts, as the dataset validator does),
    the gold calls before this turn are replayed in order, then each predicted call runs in order.
    Status: "ok", "error" (schema problem, unknown tool or sandbox error; `message` says which) or
    "not simulated" (a tool the sandbox does not model: left out of executability).

    >>> [r["status"] for r in execute_calls([("create_node", {"id": 1, "x": 0, "y": 0, "z": 0}), ("create_node", {"id": 1})], [])]
    ['ok', 'error']
    """
    from ..data.contexts import sandbox_for
    from ..gennx.catalogue import load_catalogue

    catalogue = load_catalogue()
    box = sandbox_for(context or "empty")
    for name, args in history:
        if name in catalogue and not catalogue.check_call(name, args):
            box.execute(catalogue.to_request(name, args))
    out = []
    for name, args in calls:
        problems = catalogue.check_call(name, args)
        if problems:
            out.append({"name": name, "status": "error", "message": "; ".join(problems)})
            continue
        try:
            response = box.execute(catalogue.to_request(name, args))
        except Exception as err:  # a mapping that cannot build the request is a failed call, not a crash
            out.append({"name": name, "status": "error", "message": f"{type(err).__name__}: {err}"})
            continue
        message = response.get("error", {}).get("message") if isinstance(response, dict) else None
        if message is None:
            out.append({"name": name, "status": "ok", "message": ""})
        elif message.startswith(NOT_SIMULATED):
            out.append({"name": name, "status": "not simulated", "message": message})
        else:
            out.append({"name": name, "status": "error", "message": message})
    return out


# ---------------------------------------------------------------- many turns

def _share(flags) -> float | None:
    flags = [f for f in flags if f is not None]
    return sum(bool(f) for f in flags) / len(flags) if flags else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def summarise(turns: list[dict]) -> dict:
    """The metrics over scored turns (each a `score_turn` dict, optionally with `execution` statuses).

    >>> t = [score_turn('<tool_call>{"name": "f", "arguments": {"a": 2}}</tool_call>', [("f", {"a": 1})], TOOLS_F),
    ...      score_turn("Hi", [], TOOLS_F)]
    >>> m = summarise(t)
    >>> m["tool_name_accuracy"], m["parameter_accuracy"], m["no_call_accuracy"], m["json_validity"]
    (1.0, 0.0, 1.0, 1.0)
    """
    matched = sum(t["arg_matched"] for t in turns)
    predicted = sum(t["arg_predicted"] for t in turns)
    reference = sum(t["arg_reference"] for t in turns)
    precision, recall = _ratio(matched, predicted), _ratio(matched, reference)
    if precision is None and recall is None:
        f1 = None
    else:  # no predicted triples against some reference ones: precision is undefined, F1 is 0
        p, r = precision or 0.0, recall or 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
    calls = sum(t["predicted_calls"] for t in turns)
    statuses = [r["status"] for t in turns for r in t.get("execution", [])]
    simulated = [s for s in statuses if s != "not simulated"]
    return {
        "turns": len(turns),
        "tool_turns": sum(t["expects_tools"] for t in turns),
        "no_call_turns": sum(not t["expects_tools"] for t in turns),
        "attempted": sum(t["attempted"] for t in turns),
        "malformed": sum(t["json_valid"] is False for t in turns),
        "predicted_calls": calls,
        "json_validity": _share(t["json_valid"] for t in turns),
        "tool_name_accuracy": _share(t["name_match"] for t in turns),
        "parameter_accuracy": _share(t["exact_match"] for t in turns),
        "argument_precision": precision,
        "argument_recall": recall,
        "argument_f1": f1,
        "hallucination_rate": _ratio(sum(t["hallucinated_calls"] for t in turns), calls),
        "no_call_accuracy": _share(t["no_call_ok"] for t in turns),
        "executability": _ratio(simulated.count("ok"), len(simulated)),
        "executed_calls": len(simulated),
        "not_simulated_calls": len(statuses) - len(simulated),
    }


RATE_METRICS = ("json_validity", "tool_name_accuracy", "parameter_accuracy", "argument_f1",
                "hallucination_rate", "no_call_accuracy", "executability")
