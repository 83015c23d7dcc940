import json

import pytest

from lib import chat_format, masking

CASE_NAMES = ["tools_system_call_response_answer", "tools_default_system_generation_prompt",
              "parallel_calls_two_responses", "content_and_call", "no_tools_with_system", "no_tools_default_system"]


def _case(cases, name):
    return next(c for c in cases if c["name"] == name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_template_renders_exactly_what_qwen25_renders(qwen_cases, name):
    case = _case(qwen_cases, name)
    assert chat_format.render(case["messages"], case.get("tools"), case["add_generation_prompt"]) == case["expected"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_tokenizer_uses_the_same_template(qwen_cases, embedded_tokenizer, name):
    case = _case(qwen_cases, name)
    text = embedded_tokenizer.apply_chat_template(
        chat_format.normalise_messages(case["messages"]), tools=case.get("tools"), tokenize=False,
        add_generation_prompt=case["add_generation_prompt"])
    assert text == case["expected"]


def test_arguments_stored_as_json_string_render_as_objects(qwen_cases):
    case = _case(qwen_cases, "tools_system_call_response_answer")
    as_strings = json.loads(json.dumps(case["messages"]))
    for call in as_strings[2]["tool_calls"]:
        call["function"]["arguments"] = json.dumps(call["function"]["arguments"], ensure_ascii=False)
    rendered = chat_format.render(as_strings, case["tools"])
    assert rendered == case["expected"]
    assert '"arguments": "{' not in rendered


def test_undecodable_argument_string_is_emitted_as_is():
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{broken"}}]}]
    assert '"arguments": {broken}' in chat_format.render(messages, [{"type": "function", "function": {"name": "f"}}])


def _expected_trained_pieces(case):
    """What assistant-only loss must train on: each assistant turn's text + <|im_end|>."""
    pieces = []
    for m in case["messages"]:
        if m["role"] != "assistant":
            continue
        calls = "\n".join(
            '<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>'
            % (c["function"]["name"], json.dumps(c["function"]["arguments"], ensure_ascii=False))
            for c in m.get("tool_calls") or [])
        text = "\n".join(part for part in [m.get("content") or "", calls] if part)
        pieces.append(text + "<|im_end|>")
    return pieces


@pytest.mark.parametrize("name", ["tools_system_call_response_answer", "parallel_calls_two_responses",
                                  "content_and_call", "no_tools_with_system"])
def test_assistant_only_labels_cover_exactly_the_assistant_turns(qwen_cases, embedded_tokenizer, name):
    case = _case(qwen_cases, name)
    enc = masking.assistant_labels(embedded_tokenizer, case["messages"], case.get("tools"))
    segments = masking.trained_segments(embedded_tokenizer, enc["input_ids"], enc["labels"])
    assert segments == _expected_trained_pieces(case)
    # everything else (system, tools, user, tool responses, the assistant header) is masked
    untrained = [t for t, label in zip(enc["input_ids"], enc["labels"]) if label == masking.IGNORE]
    assert "<|im_start|>assistant\n" in embedded_tokenizer.decode(untrained)
    assert "<tool_response>" not in "".join(segments)


def test_spans_without_tokenizer_match_token_masks(qwen_cases):
    case = _case(qwen_cases, "tools_system_call_response_answer")
    assert [t for _, t in chat_format.assistant_spans(case["messages"], case["tools"])] == _expected_trained_pieces(case)


def test_pad_and_eos_are_distinct(embedded_tokenizer):
    assert embedded_tokenizer.eos_token == "<|im_end|>"
    assert embedded_tokenizer.pad_token == "<|endoftext|>"
    assert embedded_tokenizer.pad_token_id != embedded_tokenizer.eos_token_id
