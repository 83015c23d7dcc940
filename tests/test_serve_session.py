"""The serving session: calls parsed, checked, confirmed, executed in the real sandbox and fed back.

Scripted replies stand in for the model's output (the part under test is what happens to that output);
the catalogue, the mapping and the GEN NX sandbox all run for real. The last tests use real models.
"""
import json

import pytest

from lib.chat_format import render
from lib.serve.backends import BackendError, ScriptedBackend, load_backend, resolve_spec
from lib.router import K
from lib.serve.session import ChatSession, destructive_reason, summarise_response


def call(tool, **arguments):
    return f'<tool_call>\n{json.dumps({"name": tool, "arguments": arguments}, ensure_ascii=False)}\n</tool_call>'


NODE1 = call("create_node", id=1, x=0, y=0, z=0)
NODE2 = call("create_node", id=2, x=6, y=0, z=0)


def session_with(*replies, **kwargs):
    return ChatSession(ScriptedBackend(list(replies)), **kwargs)


def tool_messages(session):
    return [json.loads(m["content"].removesuffix(" …(truncated)")) for m in session.messages if m["role"] == "tool"]


def test_valid_call_is_executed_and_its_response_fed_back():
    session = session_with(NODE1, "절점 1번을 원점에 추가했습니다.")
    turn = session.send("절점 1번을 원점에 추가해줘")
    assert turn.kinds() == ["call", "request", "response", "answer"]
    assert turn.requests == [{"method": "POST", "path": "/db/NODE", "body": {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}}}]
    assert session.api.table("NODE") == {"1": {"X": 0, "Y": 0, "Z": 0}}
    assert turn.answer == "절점 1번을 원점에 추가했습니다."
    # the second reply was asked with the call and the sandbox's real response in the conversation
    second = session.backend.calls[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "create_node"
    assert json.loads(second[-1]["content"]) == {"NODE": {"1": {"X": 0, "Y": 0, "Z": 0}}}
    assert "<tool_response>" in render(second, add_generation_prompt=True)


@pytest.mark.parametrize("reply, problem", [
    (call("create_column", id=1, node_i=1, node_j=2), "unknown tool 'create_column'"),              # hallucinated tool
    (call("create_node", id=1, x=0, y=0), "'z' is a required property"),                            # missing argument
    (call("create_node", id="one", x=0, y=0, z=0), "'one' is not of type 'integer'"),               # wrong type
    (call("create_node", id=1, x=0, y=0, z=0, colour="red"), "Additional properties"),              # extra argument
    ('<tool_call>\n{"name": "create_node", "arguments": {"id": 1, "x": 0,}}\n</tool_call>', "malformed JSON"),
    ('<tool_call>\n{"name": "create_node", "arguments": {"id": 1', "no closing </tool_call>"),      # cut off
    ('<tool_call>\n["create_node", 1, 0, 0, 0]\n</tool_call>', "expected an object with a string 'name'"),
])
def test_invalid_calls_are_rejected_not_executed_and_reported_to_the_model(reply, problem):
    session = session_with(reply, "죄송합니다.")
    turn = session.send("절점 1번을 원점에 추가해줘")
    assert "rejected" in turn.kinds() and "request" not in turn.kinds()
    rejected = next(e for e in turn.events if e.kind == "rejected")
    assert problem in rejected.text
    assert "NODE" not in session.api.summary()          # nothing reached the sandbox
    assert problem in tool_messages(session)[0]["error"]["message"]
    assert turn.answer == "죄송합니다."


def test_unreadable_reply_stays_in_the_history_as_the_model_wrote_it():
    broken = '<tool_call>\n{"name": "run_analysis", "arguments": {\n</tool_call>'
    session = session_with(broken, "OK")
    session.send("해석해줘")
    assistant = [m for m in session.messages if m["role"] == "assistant"][0]
    assert assistant == {"role": "assistant", "content": broken}


def test_multi_call_turn_runs_every_call_in_order():
    beam = call("create_beam", id=1, node_i=1, node_j=2, material_id=1, section_id=1)
    material = call("create_material_db", id=1, material_type="CONC", standard="KS01(RC)", grade="C24")
    section = call("create_section_rectangle", id=1, name="B400x600", height=0.6, width=0.4)
    session = session_with(f"{NODE1}\n{NODE2}\n{material}\n{section}", beam, "보 1번을 만들었습니다.")
    turn = session.send("절점 1, 2를 만들고 그 사이에 보를 만들어줘")
    assert [r["path"] for r in turn.requests] == ["/db/NODE", "/db/NODE", "/db/MATL", "/db/SECT", "/db/ELEM"]
    assert all(e.data["ok"] for e in turn.events if e.kind == "response")
    assert session.api.table("ELEM")["1"]["NODE"] == [1, 2]
    assert len(turn.replies) == 3


def test_a_failing_request_is_executed_and_its_error_shown_and_fed_back():
    session = session_with(NODE1, "ok", NODE1, "절점 1번은 이미 있습니다.")
    session.send("절점 1번 추가")
    turn = session.send("절점 1번 다시 추가")
    response = next(e for e in turn.events if e.kind == "response")
    assert response.data["ok"] is False and response.text == "  → error: Key Already Exist"
    assert tool_messages(session)[-1] == {"error": {"message": "Key Already Exist"}}


@pytest.mark.parametrize("answer, executed", [(True, True), (False, False), (None, False)])
def test_destructive_call_needs_confirmation(answer, executed):
    asked = []

    def confirm(call_, request, reason):
        asked.append((call_.name, str(request), reason))
        return answer

    session = session_with(NODE1, "ok", call("delete_nodes", node_ids=[1]), "done",
                           confirm=None if answer is None else confirm)
    session.send("절점 1번 추가")
    turn = session.send("절점 1번 삭제해줘")
    assert ("NODE" not in session.api.summary()) == executed
    assert ("request" in turn.kinds()) == executed and ("declined" in turn.kinds()) != executed
    if answer is not None:
        assert asked == [("delete_nodes", "DELETE /db/NODE/1", "데이터를 삭제합니다 (DELETE /db/NODE/1)")]
    if not executed:
        assert "declined" in tool_messages(session)[-1]["error"]["message"]


def test_new_document_is_destructive_and_a_failing_confirm_counts_as_no():
    def broken_confirm(*_):
        raise RuntimeError("no terminal")

    session = session_with(NODE1, "ok", call("new_document"), "kept", confirm=broken_confirm)
    session.send("절점 1번 추가")
    turn = session.send("새 모델 시작해")
    assert turn.kinds() == ["call", "declined", "answer"] and "no terminal" in turn.events[1].text
    assert session.api.summary()["NODE"]["COUNT"] == 1


def test_max_rounds_ends_a_turn_that_never_answers():
    replies = [call("create_node", id=i, x=i, y=0, z=0) for i in range(1, 10)]
    session = session_with(*replies, max_rounds=3)
    turn = session.send("절점을 계속 만들어")
    assert turn.answer is None and len(turn.replies) == 3
    assert turn.events[-1].kind == "error" and "max_rounds" in turn.events[-1].text
    assert session.api.summary()["NODE"]["COUNT"] == 3


def test_a_model_repeating_a_rejected_call_is_stopped_early():
    bad = call("create_node", id=1)
    turn = session_with(bad, bad, bad, bad, max_rounds=4).send("절점")
    assert len(turn.replies) == 2 and "repeated" in turn.events[-1].text


def test_text_beside_calls_is_shown():
    turn = session_with("먼저 절점을 만들겠습니다.\n" + NODE1, "완료").send("절점 1")
    assert turn.kinds()[:2] == ["text", "call"] and turn.events[0].text == "먼저 절점을 만들겠습니다."


class FailingBackend(ScriptedBackend):
    def reply(self, messages, tools=None, max_new_tokens=128):
        raise RuntimeError("out of memory")


def test_a_backend_failure_becomes_an_error_event():
    session = ChatSession(FailingBackend([]))
    turn = session.send("안녕")
    assert turn.kinds() == ["error"] and "out of memory" in turn.events[0].text
    assert session.send("다시").kinds() == ["error"]          # the session is still usable


@pytest.mark.parametrize("text, first", [
    ("절점 1번을 원점에 추가해줘", "create_node"),
    ("해석 돌려줘", "run_analysis"),
    ("반력 보여줘", "get_reactions"),
    ("C24 콘크리트 재료 만들어줘", "create_material_db"),
    ("Create a 500x500 rectangular section", "create_section_rectangle"),
    ("1번 요소 삭제해", "delete_elements"),
    ("모델 현황 알려줘", "get_model_summary"),
])
def test_the_router_picks_the_tools_offered_each_turn(text, first):
    session = session_with("ok")
    turn = session.send(text)
    assert turn.tools[0] == first and len(turn.tools) == K
    assert [t["function"]["name"] for t in session.backend.calls[0]["tools"]] == turn.tools


def test_small_talk_still_gets_k_tools_and_tier3_is_never_offered():
    session = session_with("안녕하세요!")
    assert len(session.send("안녕").tools) == K
    turn = session_with("ok").send("pushover hinge fiber section")
    assert all(session.catalogue[n].tier in (1, 2) for n in turn.tools)


def test_prompt_is_kept_within_the_budget_dropping_old_turns_first_then_tools():
    probe = session_with("ok")
    probe.send("절점 1번을 원점에 추가해줘")
    first = probe.backend.count_tokens(render(probe.backend.calls[0]["messages"], probe.backend.calls[0]["tools"], add_generation_prompt=True))
    budget = first + 256 + 40          # room for one turn and a little: the second turn must push the first out
    session = session_with(*["ok"] * 8, max_length=budget, max_new_tokens=256)
    for _ in range(6):
        turn = session.send("절점 1번을 원점에 추가해줘")
        prompt = render(session.backend.calls[-1]["messages"], session.backend.calls[-1]["tools"], add_generation_prompt=True)
        assert session.backend.count_tokens(prompt) + 256 <= budget
    assert sum(m["role"] == "user" for m in session.messages) < 6     # old turns went
    assert len(turn.tools) == K                                        # ... before any tool


def test_a_prompt_that_cannot_fit_is_not_sent():
    session = session_with("ok", max_length=300, max_new_tokens=256)
    turn = session.send("절점 " * 200)
    assert turn.kinds() == ["error"] and "more than the model's 300" in turn.events[0].text
    assert session.backend.calls == []                                 # nothing reached the model


def test_long_tool_responses_are_truncated_for_the_model():
    session = session_with(NODE1, "ok", max_tool_chars=20)
    session.send("절점")
    assert session.messages[-2]["content"].endswith("…(truncated)") and len(session.messages[-2]["content"]) < 40


def test_fixed_tools_and_unknown_fixed_tools():
    turn = session_with("ok", tools=["run_analysis"]).send("절점")
    assert turn.tools == ["run_analysis"]
    with pytest.raises(ValueError, match="create_column"):
        session_with(tools=["create_column"])


def test_reset_keeps_the_model_state():
    session = session_with(NODE1, "ok")
    session.send("절점")
    session.reset()
    assert [m["role"] for m in session.messages] == ["system"] and session.model_state()["NODE"]["COUNT"] == 1


@pytest.mark.parametrize("method, path, destructive", [
    ("DELETE", "/db/ELEM/3", True), ("POST", "/doc/NEW", True), ("POST", "/doc/OPEN", True),
    ("POST", "/doc/SAVE", False), ("POST", "/doc/ANAL", False), ("PUT", "/db/UNIT", False),
])
def test_destructive_requests(method, path, destructive):
    from lib.gennx.mapping import ApiRequest

    assert (destructive_reason(ApiRequest(method, path)) is not None) == destructive


def test_response_summary_of_a_result_table():
    from lib.gennx import example_frame

    _, response = example_frame.run(echo=lambda _: None)
    assert summarise_response(response).endswith("row(s)")


@pytest.mark.parametrize("spec, kind", [("base", "base"), ("x.gguf", "gguf"), ("embedded-gguf", "gguf")])
def test_model_specs(spec, kind):
    assert resolve_spec(spec)[0] == kind


def test_a_folder_that_is_no_model_is_refused(tmp_path):
    with pytest.raises(BackendError, match="cannot serve"):
        load_backend(str(tmp_path))
    (tmp_path / "a.gguf").write_bytes(b"")
    with pytest.raises(BackendError, match="a.gguf"):
        load_backend(str(tmp_path))


# ---------------------------------------------------------------- real models

def test_real_embedded_model_turn_never_crashes(embedded_model):
    from lib.serve.backends import TransformersBackend

    session = ChatSession(TransformersBackend(embedded_model), tools=["create_node", "create_nodes"],
                          max_new_tokens=24, max_rounds=1)
    turn = session.send("절점 1번을 원점(0, 0, 0)에 추가해줘")
    assert len(turn.replies) == 1 and 0 < turn.replies[0]["new_tokens"] <= 24
    assert turn.events and turn.events[-1].kind in ("answer", "error", "rejected", "response", "declined")


@pytest.fixture(scope="module")
def embedded_gguf():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    backend = load_backend("embedded-gguf")
    yield backend
    backend.close()


def test_gguf_backend_renders_the_course_template_and_counts_like_transformers(embedded_gguf, embedded_tokenizer):
    session = ChatSession(embedded_gguf, tools=["create_node", "create_nodes"], max_new_tokens=24, max_rounds=1)
    turn = session.send("Add node 1 at the origin")
    reply = turn.replies[0]
    assert reply["new_tokens"] > 0 and reply["seconds"] > 0
    first_prompt = render(session.messages[:2], session.catalogue.openai_tools(turn.tools), add_generation_prompt=True)
    assert first_prompt.endswith("Add node 1 at the origin<|im_end|>\n<|im_start|>assistant\n")
    # llama.cpp and transformers split the rendered prompt into the same number of tokens
    assert reply["prompt_tokens"] == len(embedded_tokenizer(first_prompt, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("user, reply", [
    ("노드 만들어 줘", "<tool_call>" + "[" * 10000),
    ("노드 만들어 줘", '<tool_call>{"name": "create_node", "arguments": {"id": ' + "9" * 5000 + ', "x": 0, "y": 0, "z": 0}}</tool_call>'),
])
def test_what_a_learner_or_a_model_types_never_escapes_the_session(user, reply):
    session = ChatSession(ScriptedBackend([reply, "done"]), max_rounds=2)
    turn = session.send(user)
    assert turn.events and all(e.kind in ("call", "rejected", "answer", "error") for e in turn.events)
    assert not turn.requests                   # nothing reached the sandbox


def test_a_byte_that_is_not_utf8_is_replaced_and_the_message_still_goes_to_the_model():
    backend = ScriptedBackend(["안녕하세요"])
    turn = ChatSession(backend, max_rounds=1).send("abc \udcff 노드")      # what a bad byte becomes on a terminal
    assert turn.answer == "안녕하세요" and backend.calls[0]["messages"][-1]["content"] == "abc \ufffd 노드"


def test_only_max_calls_of_one_reply_run():
    many = "\n".join(call("create_node", id=i, x=i, y=0, z=0) for i in range(1, 41))
    session = session_with(many, "done", max_calls=5)
    turn = session.send("절점 40개 만들어줘")
    assert turn.kinds().count("request") == 5 and session.api.summary()["NODE"]["COUNT"] == 5
    rejected = [e for e in turn.events if e.kind == "rejected"]
    assert len(rejected) == 1 and "40 tool calls; only the first 5 ran, 35 were not executed" in rejected[0].text
