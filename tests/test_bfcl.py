"""BFCL: the shipped data, our tool conversion, our output conversion against BFCL's own checker, a real run."""
import json
import re

import pytest
from jsonschema import Draft202012Validator

from lib.evaluate import bfcl
from lib.tool_calls import ToolCall

COUNTS = {"simple": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200, "irrelevance": 240}
AST = ("simple", "multiple", "parallel", "parallel_multiple")
JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
OMIT = object()


def _first_accepted(options, required=False):
    """A value BFCL accepts for one parameter: left out when '' (optional) is listed, else the first option.

    Leaving optional ones out also avoids a few possible_answer rows that list a parameter the
    function doc lacks (parallel_multiple_12), which the checker rejects as unexpected; a parameter
    the doc requires is always given (simple_python_17 lists '' for one).
    """
    if "" in options and not required:
        return OMIT
    return _build(next(o for o in options if o != ""))


def _build(option):
    if isinstance(option, dict):  # a dict parameter: each key again lists its accepted values
        return {k: v for k, v in ((k, _first_accepted(o)) for k, o in option.items()) if v is not OMIT}
    if isinstance(option, list) and option and all(isinstance(x, dict) for x in option):
        return [_build(x) for x in option]
    return option


def correct_calls(case):
    """The calls a perfect model makes for `case`, built from BFCL's possible_answer, with our tool names."""
    docs = {f["name"]: f for f in case["functions"]}
    calls = []
    for entry in case["ground_truth"]:
        (name, params), = entry.items()
        required = set(docs[name]["parameters"].get("required", []))
        args = {p: v for p, v in ((p, _first_accepted(o, p in required)) for p, o in params.items()) if v is not OMIT}
        calls.append(ToolCall(bfcl.tool_name(name), args))
    return calls


def _types(schema):
    """Every 'type' in a JSON Schema, nested ones included."""
    yield schema.get("type")
    for sub in (schema.get("properties") or {}).values():
        yield from _types(sub)
    if isinstance(schema.get("items"), dict):
        yield from _types(schema["items"])


@pytest.mark.parametrize("category, count", COUNTS.items())
def test_data_loads(category, count):
    cases = bfcl.load_cases(category)
    assert len(cases) == count
    assert len({c["id"] for c in cases}) == count
    assert all(c["messages"] and c["messages"][-1]["role"] == "user" and c["functions"] for c in cases)
    assert all(f["description"].endswith(bfcl.PYTHON_HINT) for c in cases for f in c["functions"])
    if category == "irrelevance":
        assert all(c["ground_truth"] is None for c in cases)
    else:
        assert all(c["ground_truth"] for c in cases)


def test_sample_is_seeded_and_deterministic():
    first, again = bfcl.load_cases("parallel", sample=10, seed=1), bfcl.load_cases("parallel", sample=10, seed=1)
    other = bfcl.load_cases("parallel", sample=10, seed=2)
    ids = [c["id"] for c in first]
    assert ids == [c["id"] for c in again] and len(ids) == 10
    assert ids != [c["id"] for c in other]
    order = [int(i.rsplit("_", 1)[1]) for i in ids]
    assert order == sorted(order)  # file order kept
    assert len(bfcl.load_cases("parallel", sample=10_000)) == len(bfcl.load_cases("parallel", sample=None)) == 200


@pytest.mark.parametrize("bad", ["simple_java", "multi_turn_base", "nonsense"])
def test_unsupported_category_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="unknown BFCL category"):
        bfcl.load_cases(bad)


@pytest.mark.parametrize("category", COUNTS)
def test_every_tool_is_valid_json_schema(category):
    tools = {}
    for case in bfcl.load_cases(category):
        for function in case["functions"]:
            tool = bfcl.to_openai_tool(function)
            params = tool["function"]["parameters"]
            assert params["type"] == "object" and set(_types(params)) <= JSON_TYPES, (case["id"], function["name"])
            assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", tool["function"]["name"]), function["name"]
            tools[json.dumps(tool, sort_keys=True)] = case["id"]
    # the full metaschema check costs ~10-20 ms a schema on 2 CPU cores: every distinct tool of a seeded sample
    sampled = {c["id"] for c in bfcl.load_cases(category, sample=25, seed=0)}
    checked = [json.loads(t) for t, case_id in tools.items() if case_id in sampled]
    assert len(checked) >= 20
    for tool in checked:
        Draft202012Validator.check_schema(tool["function"]["parameters"])


def test_tool_conversion_follows_bfcl():
    function = {"name": "geo.trip", "description": "Trip.", "parameters": {"type": "dict", "required": ["a"], "properties": {
        "a": {"type": "float", "description": "Speed."},
        "b": {"type": "array", "items": {"type": "dict", "properties": {"x": {"type": "tuple", "items": {"type": "float"}}}}},
        "c": {"type": "any", "description": "Anything."}, "d": {"description": "No type."}}}}
    tool = bfcl.to_openai_tool(function)
    props = tool["function"]["parameters"]["properties"]
    assert tool["type"] == "function" and tool["function"]["name"] == "geo_trip"
    assert props["a"] == {"type": "number", "format": "float", "description": "Speed. This is a float type value."}
    assert props["b"]["items"]["type"] == "object" and props["b"]["items"]["properties"]["x"]["type"] == "array"
    assert props["c"]["type"] == props["d"]["type"] == "string"
    assert function["name"] == "geo.trip" and function["parameters"]["type"] == "dict"  # input untouched


@pytest.mark.parametrize("category", AST)
def test_checker_accepts_answers_built_from_possible_answer(category):
    cases = bfcl.load_cases(category)
    rejected = [c["id"] for c in cases if not bfcl.check_calls(c, correct_calls(c))["valid"]]
    assert rejected == []
    assert any("." in f["name"] for c in cases for f in c["functions"])  # dotted names were covered


def _first_with_dotted_name(category):
    return next(c for c in bfcl.load_cases(category) if any("." in next(iter(e)) for e in c["ground_truth"]))


def _changed(call, value):
    (param, _), *_ = call.arguments.items()
    return ToolCall(call.name, {**call.arguments, param: value})


@pytest.mark.parametrize("category", AST)
@pytest.mark.parametrize("mistake, error_type", [
    ("wrong value", r"value_error|type_error|cannot_find_match"),
    ("dotted name", r"wrong_func_name|cannot_find_match"),
    ("unknown name", r"wrong_func_name|cannot_find_match"),
    ("extra parameter", r"unexpected_param|cannot_find_match"),
    ("one call too many", r"wrong_count"),
])
def test_checker_rejects_wrong_answers(category, mistake, error_type):
    case = _first_with_dotted_name(category)
    good = correct_calls(case)
    assert bfcl.check_calls(case, good)["valid"]
    first, rest = good[0], good[1:]
    bad = {
        "wrong value": [_changed(first, "certainly not this")] + rest,
        "dotted name": [ToolCall(next(iter(case["ground_truth"][0])), first.arguments)] + rest,
        "unknown name": [ToolCall("no_such_function", first.arguments)] + rest,
        "extra parameter": [ToolCall(first.name, {**first.arguments, "not_a_parameter": 1})] + rest,
        "one call too many": good + [first],
    }[mistake]
    verdict = bfcl.check_calls(case, bad)
    assert not verdict["valid"] and re.search(error_type, verdict["error_type"]), verdict


def test_model_text_round_trip_through_the_parser():
    case = _first_with_dotted_name("parallel")
    text = "\n".join(f'<tool_call>\n{json.dumps({"name": c.name, "arguments": c.arguments})}\n</tool_call>'
                     for c in correct_calls(case))
    record = bfcl.score_output(case, text)
    assert record["valid"] and record["error_type"] is None and len(record["calls"]) == len(case["ground_truth"])


@pytest.mark.parametrize("text, valid, error_type", [
    ("I cannot help with that: no tool fits.", True, None),
    ("", True, None),
    ('<tool_call>\n{"name": "calculate_area", "arguments": {"base": 1}}\n</tool_call>', False,
     "irrelevance_error:decoder_success"),
    # cut off before </tool_call> (as at max_new_tokens): the course parser still reads the call, so it counts
    ('<tool_call>\n{"name": "calculate_area", "arguments": {"base": 1}}', False, "irrelevance_error:decoder_success"),
    # BFCL's Qwen decoder drops blocks that are not JSON: no call was decoded, so the case passes
    ("<tool_call>\nnot json\n</tool_call>", True, None),
])
def test_irrelevance_passes_only_without_a_call(text, valid, error_type):
    case = bfcl.load_cases("irrelevance", sample=1)[0]
    record = bfcl.score_output(case, text)
    assert record["valid"] is valid and record["error_type"] == error_type


def test_relevance_needs_a_call():
    case = bfcl.load_cases("live_relevance", sample=1)[0]
    assert not bfcl.score_output(case, "Sure.")["valid"]
    assert bfcl.score_output(case, '<tool_call>{"name": "anything", "arguments": {}}</tool_call>')["valid"]


@pytest.mark.parametrize("text", [
    "", "Here is the answer in prose.", "<tool_call>", "<tool_call>{", "</tool_call>", "<tool_call>[1, 2]</tool_call>",
    '<tool_call>{"name": "x", "arguments": {"a": {"b": [1, {"c": null}]}}}</tool_call>',
    '<tool_call>{"name": "x", "arguments": "not json"}</tool_call>', "\x00\uffff<tool_call>\n\n</tool_call>",
])
@pytest.mark.parametrize("category", AST)
def test_malformed_output_is_a_failure_with_a_reason(category, text):
    case = bfcl.load_cases(category, sample=1)[0]
    record = bfcl.score_output(case, text)
    assert record["valid"] is False and record["error_type"] and record["error"]


def test_checker_trouble_is_a_failure_not_a_crash():
    case = {"id": "broken_0", "category": "simple_python", "functions": [{"name": "f"}],  # no parameters
            "ground_truth": [{"f": {"a": [1]}}]}
    verdict = bfcl.check_calls(case, [ToolCall("f", {"a": 1})])
    assert verdict["valid"] is False and verdict["error_type"] == "checker_exception"


def test_run_on_the_embedded_model(embedded_model, tmp_path):
    result = bfcl.run_bfcl(embedded_model, sample=1, max_new_tokens=8, batch_size=2, progress=False)
    assert [r["category"] for r in result.records] == [bfcl.CATEGORIES[c] for c in bfcl.DEFAULT_CATEGORIES]
    for record in result.records:
        assert isinstance(record["valid"], bool) and isinstance(record["output"], str)
        assert record["prompt"].endswith("<|im_start|>assistant\n") and "<tools>" in record["prompt"]
        assert bfcl.PYTHON_HINT.strip() in record["prompt"]
        assert 0 < record["new_tokens"] <= 8 and (record["valid"] or record["error"])
    assert set(result.accuracy()) == set(bfcl.DEFAULT_CATEGORIES)
    table = result.table()
    assert list(table["category"]) == list(bfcl.DEFAULT_CATEGORIES) + ["overall"]
    published = table.set_index("category")[f"published {bfcl.PUBLISHED_MODEL} (%)"]
    assert published["simple"] == 72.4 and published["irrelevance"] == 62.7 and published["overall"] == 36.6
    assert "ICML 2025" in table.attrs["source"] and "prompt" in table.attrs["caveat"]
    again = bfcl.BfclResult.load(result.save(tmp_path / "bfcl.json"))
    assert again.accuracy() == result.accuracy() and again.records == result.records


def test_command_line(tmp_path, capsys):
    out = tmp_path / "base.json"
    assert bfcl.main(["--model", "base", "--profile", "smoke", "--categories", "irrelevance", "simple",
                      "--sample", "1", "--max-new-tokens", "4", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["settings"]["categories"] == ["irrelevance", "simple"] and len(data["records"]) == 2
    assert set(data["accuracy"]) == {"irrelevance", "simple"} and "published" in capsys.readouterr().out


def test_command_line_names_a_bad_model_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bfcl.main(["--model", str(tmp_path), "--profile", "smoke", "--out", str(tmp_path / "x.json")])
    assert "adapter_config.json" in capsys.readouterr().err
