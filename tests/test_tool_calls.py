import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.tool_calls import ToolCall, parse_tool_calls

ONE = '<tool_call>\n{"name": "create_node", "arguments": {"id": 1, "x": 0, "y": 0, "z": 0}}\n</tool_call>'


@pytest.mark.parametrize("text, calls, content", [
    (ONE, [ToolCall("create_node", {"id": 1, "x": 0, "y": 0, "z": 0})], ""),
    (ONE + "\n" + ONE.replace('"id": 1', '"id": 2'), [ToolCall("create_node", {"id": 1, "x": 0, "y": 0, "z": 0}),
                                                     ToolCall("create_node", {"id": 2, "x": 0, "y": 0, "z": 0})], ""),
    ("절점을 추가하겠습니다.\n" + ONE, [ToolCall("create_node", {"id": 1, "x": 0, "y": 0, "z": 0})], "절점을 추가하겠습니다."),
    ('<tool_call>{"name": "run_analysis", "arguments": {}}</tool_call>', [ToolCall("run_analysis", {})], ""),
    ('<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>', [ToolCall("f", {"a": 1})], ""),
    ("안녕하세요! 무엇을 도와드릴까요?", [], "안녕하세요! 무엇을 도와드릴까요?"),
    ("", [], ""),
])
def test_valid_outputs(text, calls, content):
    out = parse_tool_calls(text)
    assert out.ok, out.errors
    assert out.calls == calls
    assert out.content == content


@pytest.mark.parametrize("text, error", [
    ('<tool_call>{"name": "f", "arguments": {"a": 1}</tool_call>', "block 1: malformed JSON"),
    ('<tool_call>{"name": "f", "arguments": {}}', "block 1: no closing </tool_call>"),
    ('<tool_call>["f", {}]</tool_call>', "block 1: expected an object with a string 'name'"),
    ('<tool_call>{"arguments": {}}</tool_call>', "block 1: expected an object with a string 'name'"),
    ('<tool_call>{"name": "f", "arguments": [1]}</tool_call>', "block 1: 'arguments' must be an object"),
    ('<tool_call>{"name": "f", "arguments": "not json"}</tool_call>', "block 1: 'arguments' is a string that is not JSON"),
    ('<tool_call>{"name": "f", "arguments": {}, "id": 3}</tool_call>', "block 1: unexpected keys ['id']"),
    ('text </tool_call>', "a stray </tool_call>"),
    (ONE + '\n<tool_call>{oops}</tool_call>', "block 2: malformed JSON"),
])
def test_problems_are_reported_not_raised(text, error):
    out = parse_tool_calls(text)
    assert not out.ok
    assert any(e.startswith(error) for e in out.errors), out.errors


def test_good_blocks_survive_a_bad_one():
    out = parse_tool_calls(ONE + '\n<tool_call>{oops}</tool_call>')
    assert [c.name for c in out.calls] == ["create_node"] and out.blocks == 2


def test_to_message_call_is_trl_form():
    assert ToolCall("f", {"a": 1}).to_message_call() == {"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}


@pytest.mark.parametrize("text", [
    "<tool_call>" + "[" * 10000,                                                        # deeper than the recursion limit
    '<tool_call>{"name": "f", "arguments": {"a": ' + "9" * 5000 + "}}</tool_call>",      # longer than the int-string limit
    '<tool_call>{"name": "f", "arguments": "{\\"a\\": ' + "9" * 5000 + '}"}</tool_call>',
    '<tool_call>{"name": ' + "[" * 5000 + "]" * 5000 + "}</tool_call>",
])
def test_pathological_json_is_an_error_not_an_exception(text):
    out = parse_tool_calls(text)
    assert not out.calls and out.errors and all("block 1" in e for e in out.errors)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list('<>/tool_cal{}[]":,0123456789 \n\\e.-') + ["<tool_call>", "</tool_call>", "\udcff", "한"]),
                max_size=200))
def test_the_parser_never_raises(pieces):
    out = parse_tool_calls("".join(pieces))
    assert out.blocks >= len(out.calls) and isinstance(out.content, str)
