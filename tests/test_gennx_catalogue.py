import json
import re

import pytest
from jsonschema import Draft202012Validator

from lib.gennx.catalogue import load_catalogue
from lib.gennx.mapping import ApiRequest, MappingError, build_request

from .conftest import FIXTURES

CATALOGUE = load_catalogue()
GOLDEN = json.loads((FIXTURES / "tier1_requests.json").read_text(encoding="utf-8"))


def _refs(template):
    if isinstance(template, str):
        return {template[1:]} if template.startswith("$") and not template.startswith("$.") and len(template) > 1 else set()
    if isinstance(template, list):
        return set().union(*map(_refs, template)) if template else set()
    if isinstance(template, dict):
        found = {template[k] for k in ("$arg", "$map", "$each", "$keys", "$items") if k in template}
        return found | set().union(*(_refs(v) for k, v in template.items() if k not in ("$arg", "$map", "$each", "$keys", "$items")))
    return set()


def test_tier_sizes():
    assert 30 <= len(CATALOGUE.tier(1)) <= 50


@pytest.mark.parametrize("name", sorted(CATALOGUE.tools), ids=str)
def test_every_tool_is_well_formed(name):
    tool = CATALOGUE[name]
    Draft202012Validator.check_schema(tool.parameters)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
    assert tool.parameters.get("additionalProperties") is False
    assert re.search(r"(GET|POST|PUT|DELETE) /", tool.description), "description ends with the request line"
    declared = set(tool.parameters["properties"])
    used = _refs(tool.api)
    assert used <= declared, f"undeclared arguments {used - declared}"
    assert set(tool.parameters.get("required", [])) <= used, "a required argument that the request never uses"


@pytest.mark.parametrize("name", sorted(GOLDEN), ids=str)
def test_tier1_call_maps_to_the_expected_request(name):
    case = GOLDEN[name]
    assert CATALOGUE.check_call(name, case["arguments"]) == []
    assert str(CATALOGUE.to_request(name, case["arguments"])) == case["request"]


def test_every_tier1_tool_has_a_golden_request():
    assert {t.name for t in CATALOGUE.tier(1)} <= set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN), ids=str)
def test_reverse_mapping_recovers_an_equivalent_call(name):
    request = CATALOGUE.to_request(name, GOLDEN[name]["arguments"])
    calls = CATALOGUE.from_request(request)
    assert any(n == name for n, _ in calls), calls
    for found_name, args in calls:          # whatever it recovers maps back to the very same request
        assert CATALOGUE.to_request(found_name, args) == request


def test_reverse_of_a_hand_written_request():
    request = ApiRequest("POST", "/db/CONS", {"Assign": {"5": {"ITEMS": [{"ID": 1, "GROUP_NAME": "", "CONSTRAINT": "1110000"}]}}})
    assert ("add_support", {"node_ids": [5], "support_type": "pinned"}) in CATALOGUE.from_request(request)


@pytest.mark.parametrize("name, arguments, problem", [
    ("create_node", {"id": 1, "x": 0, "y": 0}, "create_node: 'z' is a required property"),
    ("create_node", {"id": "one", "x": 0, "y": 0, "z": 0}, "create_node: id: 'one' is not of type 'integer'"),
    ("create_node", {"id": 1, "x": 0, "y": 0, "z": 0, "color": "red"}, "create_node: Additional properties are not allowed ('color' was unexpected)"),
    ("add_support", {"node_ids": [1], "support_type": "clamped"}, "add_support: support_type: 'clamped' is not one of"),
    ("set_units", {"force": "KN", "length": "furlong"}, "set_units: length: 'furlong' is not one of"),
    ("create_load_case", {"name": "DL"}, "create_load_case: 'load_type' is a required property"),
    ("get_reactions", {"node_ids": [1]}, "get_reactions: {'node_ids': [1]} is not valid under any of the given schemas"),
    ("make_coffee", {}, "unknown tool 'make_coffee'"),
    ("create_node", [1, 2], "create_node: arguments must be an object"),
])
def test_bad_calls_are_named(name, arguments, problem):
    problems = CATALOGUE.check_call(name, arguments)
    assert any(p.startswith(problem) for p in problems), problems


def test_mapping_refuses_an_empty_id_list():
    with pytest.raises(MappingError, match="node_ids"):
        build_request(CATALOGUE["add_support"].api, {"node_ids": [], "support_type": "fixed"})


def test_openai_form_hides_the_mapping():
    tool = CATALOGUE.openai_tools(["create_node"])[0]
    assert set(tool) == {"type", "function"} and "api" not in tool["function"]
