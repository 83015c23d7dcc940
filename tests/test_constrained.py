"""Constrained decoding: the grammar lets through exactly the offered tools' valid calls, on both backends."""
import json

import pytest

from lib.chat_format import render
from lib.constrained import GgufConstraint, hf_grammars
from lib.gennx.catalogue import load_catalogue

TOOLS = load_catalogue().openai_tools(["create_node", "set_units"])


def call(name, arguments):
    return f'<tool_call>\n{json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)}\n</tool_call>'


def accepted(matcher, ids) -> bool:
    return all(matcher.accept_token(i) for i in ids)


@pytest.fixture(scope="module")
def grammars(embedded_tokenizer):
    return hf_grammars(embedded_tokenizer, len(embedded_tokenizer))


def fresh(grammars):
    import xgrammar as xgr

    return xgr.GrammarMatcher(grammars.compiled(TOOLS))


@pytest.mark.parametrize("text", [
    "안녕하세요! 무엇을 도와드릴까요?",                                        # free text stays free
    call("create_node", {"id": 1, "x": 0, "y": 0, "z": 0}),
    "절점을 만듭니다.\n" + call("create_node", {"id": 2, "x": 5.5, "y": 0, "z": 3}),
    call("set_units", {"force": "KN", "length": "M"}) + "\n" + call("create_node", {"id": 1, "x": 0, "y": 0, "z": 0}),
])
def test_valid_text_and_calls_of_offered_tools_pass(grammars, embedded_tokenizer, text):
    ids = embedded_tokenizer(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    matcher = fresh(grammars)
    assert accepted(matcher, ids) and matcher.is_terminated()


@pytest.mark.parametrize("text", [
    call("create_beam", {"id": 1}),                                  # a tool that was not offered
    call("create_node", {"id": 1, "x": 0, "y": 0}),                  # a required argument missing
    call("create_node", {"id": "one", "x": 0, "y": 0, "z": 0}),      # a string where the schema says integer
    call("create_node", {"id": 1, "x": 0, "y": 0, "z": 0, "colour": "red"}),   # an argument the schema lacks
    call("set_units", {"force": "ton-ish", "length": "M"}),          # a value outside the enum
    '<tool_call>\n{"name": "create_node", "arguments": {"id": 1,}}\n</tool_call>',   # broken JSON
])
def test_calls_outside_the_schemas_cannot_be_written(grammars, embedded_tokenizer, text):
    ids = embedded_tokenizer(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert not accepted(fresh(grammars), ids)


def test_the_schemas_used_are_the_offered_tools(grammars):
    """A tool list is compiled once, and a different list is a different grammar."""
    assert grammars.compiled(TOOLS) is grammars.compiled(list(TOOLS))
    assert grammars.compiled(TOOLS[:1]) is not grammars.compiled(TOOLS)


def test_the_gguf_constraint_masks_what_the_grammar_forbids():
    """llama-cpp-python's logits processor: after `<tool_call>\\n{"name": "` only an offered tool name may follow."""
    import numpy as np

    from lib.export.gguf import load_llama
    from lib.models import embedded_gguf_path

    llm, _ = load_llama(embedded_gguf_path(), n_ctx=512, n_threads=1)
    try:
        prompt = llm.tokenize(render([{"role": "user", "content": "node"}], TOOLS[:1], add_generation_prompt=True).encode(),
                              add_bos=False, special=True)
        prefix = llm.tokenize(b'<tool_call>\n{"name": "', add_bos=False, special=True)
        constraint = GgufConstraint(llm, TOOLS, len(prompt))
        scores = constraint(np.array(prompt + prefix), np.zeros(llm.n_vocab(), dtype=np.float32))
        allowed = {llm.detokenize([i]).decode("utf-8", "replace") for i in np.flatnonzero(np.isfinite(scores))}
        assert allowed and all("create_node".startswith(t) or "set_units".startswith(t) for t in allowed), sorted(allowed)[:20]
        free = GgufConstraint(llm, TOOLS, len(prompt))(np.array(prompt), np.zeros(llm.n_vocab(), dtype=np.float32))
        assert np.isfinite(free).sum() > 1000                       # before any call, text is free
    finally:
        llm.close()


def test_the_reference_adapter_under_the_grammar_writes_only_valid_calls():
    """The real model: with the grammar every call parses, names an offered tool and keeps to its schema."""
    import jsonschema

    from lib import profile, train
    from lib.inference import generate_batch
    from lib.reference import REFERENCE_ADAPTER
    from lib.tool_calls import parse_tool_calls

    loaded = train.load_adapter(profile.load_profile("cpu-embedded"), REFERENCE_ADAPTER)
    requests = ["노드 1번을 (0,0,0)에 만들어 줘", "Set the units to kN and m", "절점 2번 (5, 0, 3)"]
    out = generate_batch(loaded.model, loaded.tokenizer, [([{"role": "user", "content": r}], TOOLS) for r in requests],
                         64, constrained=True)
    schemas = {t["function"]["name"]: {**t["function"]["parameters"], "additionalProperties": False} for t in TOOLS}
    calls = []
    for reply in out["replies"]:
        parsed = parse_tool_calls(reply["text"])
        assert not parsed.errors, reply["text"]
        calls += parsed.calls
    assert calls, [r["text"] for r in out["replies"]]
    for c in calls:
        jsonschema.validate(c.arguments, schemas[c.name])
