"""Evaluation metrics on hand-made outputs: exact expected values, malformed output included."""
import json

import pytest

from lib.evaluate import metrics
from lib.evaluate.metrics import canonical, execute_calls, name_pairs, score_turn, summarise, unknown_keys

TOOLS = [
    {"type": "function", "function": {"name": "set_units", "parameters": {"type": "object", "properties": {
        "force": {"type": "string", "enum": ["N", "KN", "KGF"]}, "length": {"type": "string", "enum": ["M", "MM"]}}}}},
    {"type": "function", "function": {"name": "create_node", "parameters": {"type": "object", "properties": {
        "id": {"type": "integer"}, "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"}}}}},
    {"type": "function", "function": {"name": "create_load_case", "parameters": {"type": "object", "properties": {
        "name": {"type": "string"}, "load_type": {"type": "string", "enum": ["D", "L", "W"]}}}}},
    {"type": "function", "function": {"name": "create_nodes", "parameters": {"type": "object", "properties": {
        "nodes": {"type": "array", "items": {"type": "object", "properties": {"id": {}, "x": {}, "y": {}, "z": {}}}}}}}},
]
NODE = ("create_node", {"id": 1, "x": 0, "y": 0, "z": 3.5})
UNITS = ("set_units", {"force": "KN", "length": "M"})


def call(name, arguments, raw=False):
    body = arguments if raw else json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


@pytest.mark.parametrize("a, b, schema, equal", [
    ({"x": 1, "y": 2}, {"y": 2, "x": 1}, None, True),            # key order
    (1, 1.0, None, True),                                        # numeric type
    (3.5, 3.50000, None, True),
    (True, 1, None, False),                                      # booleans are not numbers
    ("1", 1, None, False),                                       # a numeric string is not a number
    ("kn", "KN", {"enum": ["N", "KN"]}, True),                   # enum: case-insensitive
    ("kn", "KN", None, False),                                   # free strings: exact
    ("Frame", "frame", {"type": "string"}, False),
    ("a", "A", {"enum": ["a", "A"]}, False),                     # an enum that needs case stays exact
    ([1, 2], [2, 1], None, False),                               # list order counts
    ([{"id": 1.0}], [{"id": 1}], None, True),
    (None, None, None, True),
])
def test_canonical_normalisation(a, b, schema, equal):
    assert (canonical(a, schema) == canonical(b, schema)) is equal


@pytest.mark.parametrize("output, reference, expected", [
    # exact call, numbers written as floats and keys reordered
    (call("create_node", {"z": 3.5, "y": 0.0, "x": 0, "id": 1.0}), [NODE],
     {"attempted": True, "json_valid": True, "name_match": True, "exact_match": True, "arg_matched": 4,
      "arg_predicted": 4, "arg_reference": 4, "hallucinated_calls": 0, "no_call_ok": None}),
    # enum value in lower case still matches
    (call("set_units", {"force": "kn", "length": "m"}), [UNITS],
     {"json_valid": True, "name_match": True, "exact_match": True, "arg_matched": 2}),
    # right tool, one wrong value
    (call("create_node", {"id": 1, "x": 0, "y": 0, "z": 3.0}), [NODE],
     {"name_match": True, "exact_match": False, "arg_matched": 3, "arg_predicted": 4, "arg_reference": 4}),
    # wrong tool
    (call("set_units", {"force": "KN"}), [NODE],
     {"json_valid": True, "name_match": False, "exact_match": False, "arg_matched": 0, "arg_predicted": 1}),
    # parallel calls in another order
    (call(*UNITS) + "\n" + call(*NODE), [NODE, UNITS], {"name_match": True, "exact_match": True, "predicted_calls": 2}),
    # one of two calls missing
    (call(*NODE), [NODE, UNITS], {"name_match": False, "exact_match": False, "arg_matched": 4, "arg_reference": 6}),
    # an extra call
    (call(*NODE) + call(*NODE), [NODE], {"name_match": False, "exact_match": False, "predicted_calls": 2}),
    # a key the schema does not have: hallucinated, and not exact
    (call("create_node", {"id": 1, "x": 0, "y": 0, "z": 3.5, "colour": "red"}), [NODE],
     {"name_match": True, "exact_match": False, "hallucinated_calls": 1, "arg_matched": 4, "arg_predicted": 5}),
    # a tool that was not offered
    (call("delete_everything", {}), [NODE], {"json_valid": True, "name_match": False, "hallucinated_calls": 1}),
    # malformed: no closing tag
    ('<tool_call>\n{"name": "create_node", "arguments": {"id": 1, "x": 0, "y": 0, "z": 3.5}}', [NODE],
     {"attempted": True, "json_valid": False, "name_match": True, "exact_match": True, "predicted_calls": 1}),
    # malformed: broken JSON
    (call("", '{"name": "create_node", "arguments": {"id": 1,', raw=True), [NODE],
     {"attempted": True, "json_valid": False, "name_match": False, "exact_match": False, "predicted_calls": 0}),
    # malformed: arguments not an object
    (call("", '{"name": "create_node", "arguments": [1, 2]}', raw=True), [NODE],
     {"attempted": True, "json_valid": False, "name_match": False, "predicted_calls": 0}),
    # malformed: a stray closing tag only
    ('create_node(1, 0, 0, 3.5)</tool_call>', [NODE], {"attempted": True, "json_valid": False, "name_match": False}),
    # JSON without the tags: no attempt to judge, and no call
    ('{"name": "create_node", "arguments": {"id": 1}}', [NODE],
     {"attempted": False, "json_valid": None, "name_match": False, "predicted_calls": 0}),
    # empty output
    ("", [NODE], {"attempted": False, "json_valid": None, "name_match": False, "exact_match": False}),
    # no-call turns
    ("안녕하세요! 무엇을 도와드릴까요?", [], {"no_call_ok": True, "name_match": None, "exact_match": None, "arg_reference": 0}),
    (call(*NODE), [], {"no_call_ok": False, "json_valid": True, "name_match": None, "arg_predicted": 0}),
    ("", [], {"no_call_ok": False}),
    ("<tool_call>{oops</tool_call>", [], {"no_call_ok": False, "json_valid": False}),
])
def test_score_turn(output, reference, expected):
    scored = score_turn(output, reference, TOOLS)
    assert {k: scored[k] for k in expected} == expected
    if scored["json_valid"] is False:
        assert scored["errors"], "a malformed output must carry the parser's errors"


def test_summary_over_hand_made_turns_has_exact_values():
    turns = [
        score_turn(call(*NODE), [NODE], TOOLS),                                            # all right
        score_turn(call("create_node", {"id": 2, "x": 0, "y": 0, "z": 3.5}), [NODE], TOOLS),  # 3 of 4 args
        score_turn(call("create_node", {"id": 1, "x": 0, "y": 0, "z": 3.5, "w": 1}), [NODE], TOOLS),  # hallucinated key
        score_turn('<tool_call>{"name": "set_units"', [UNITS], TOOLS),                      # malformed
        score_turn("Hello", [], TOOLS),                                                    # right: no call
        score_turn(call(*UNITS), [], TOOLS),                                               # wrong: a call
    ]
    s = summarise(turns)
    assert (s["turns"], s["tool_turns"], s["no_call_turns"]) == (6, 4, 2)
    assert (s["attempted"], s["malformed"], s["predicted_calls"]) == (5, 1, 4)
    assert s["json_validity"] == 4 / 5
    assert s["tool_name_accuracy"] == 3 / 4
    assert s["parameter_accuracy"] == 1 / 4
    assert s["no_call_accuracy"] == 1 / 2
    assert s["hallucination_rate"] == 1 / 4
    # triples: predicted 4 + 4 + 5 = 13 (the no-call turn's call is not scored for arguments), matched 4 + 3 + 4 = 11,
    # reference 4 + 4 + 4 + 2 = 14
    assert s["argument_precision"] == 11 / 13 and s["argument_recall"] == 11 / 14
    assert s["argument_f1"] == pytest.approx(2 * (11 / 13) * (11 / 14) / (11 / 13 + 11 / 14))
    assert s["executability"] is None and s["executed_calls"] == 0


def test_summary_of_nothing_is_none_not_a_crash():
    s = summarise([])
    assert s["turns"] == 0 and all(s[k] is None for k in metrics.RATE_METRICS)


def test_f1_is_zero_when_nothing_was_predicted():
    s = summarise([score_turn("I would call create_node.", [NODE], TOOLS)])
    assert s["argument_precision"] is None and s["argument_recall"] == 0.0 and s["argument_f1"] == 0.0


@pytest.mark.parametrize("arguments, expected", [
    ({"id": 1}, []),
    ({"id": 1, "speed": 2}, ["speed"]),
    ({"nodes": [{"id": 1, "x": 0}, {"id": 2, "q": 1}]}, ["nodes.1.q"]),
    ({"free": {"anything": 1}}, ["free"]),
])
def test_unknown_keys_at_any_depth(arguments, expected):
    schema = {"properties": {"id": {}, "nodes": {"type": "array", "items": {"properties": {"id": {}, "x": {}}}}}}
    assert unknown_keys(arguments, schema) == expected


@pytest.mark.parametrize("reference, predicted, pairs", [
    (["a"], ["a"], [("a", "a")]),
    (["a"], [], [("a", "(none)")]),
    (["a", "b"], ["b", "a"], [("a", "a"), ("b", "b")]),
    (["a", "a"], ["a", "c"], [("a", "a"), ("a", "c")]),
])
def test_name_pairs(reference, predicted, pairs):
    assert name_pairs(reference, predicted) == pairs


NODES_343_812 = ("create_nodes", {"nodes": [{"id": 343, "x": 14.5, "y": 13, "z": 0}, {"id": 812, "x": 14.5, "y": 13, "z": 12}]})
BEAM = ("create_beam", {"id": 350, "node_i": 343, "node_j": 812, "material_id": 1, "section_id": 1})


@pytest.mark.parametrize("calls, history, context, statuses", [
    ([BEAM], [NODES_343_812], "frame", ["ok"]),                  # the gold history created the nodes first
    ([BEAM], [], "frame", ["error"]),                            # without it the nodes do not exist
    ([BEAM], [NODES_343_812], "empty", ["error"]),               # no material 1 in an empty model
    ([NODES_343_812, BEAM], [], "frame", ["ok", "ok"]),          # predicted calls run in order
    ([("create_node", {"id": 1})], [], "empty", ["error"]),      # schema: x, y, z missing
    ([("make_coffee", {})], [], "empty", ["error"]),             # not a GEN NX tool
    ([("get_all_section_properties", {})], [], "frame", ["not simulated"]),
])
def test_execute_calls_replays_the_gold_history(calls, history, context, statuses):
    assert [r["status"] for r in execute_calls(calls, history, context)] == statuses


def test_executability_counts_only_simulated_calls():
    turn = score_turn(call(*BEAM), [BEAM], [])
    turn["execution"] = [{"name": "create_beam", "status": "ok"}, {"name": "x", "status": "not simulated"},
                         {"name": "y", "status": "error"}]
    s = summarise([turn])
    assert s["executability"] == 0.5 and s["executed_calls"] == 2 and s["not_simulated_calls"] == 1
