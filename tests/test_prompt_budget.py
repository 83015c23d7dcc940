"""The prompt budget: no caller sends a prompt + reply longer than the profile's training length."""
import json

import pytest

from lib.chat_format import render
from lib.gennx.catalogue import load_catalogue
from lib.profile import load_profile
from lib.prompt_budget import budget, fit_prompt
from lib.router import K, default_router
from lib.serve.backends import ScriptedBackend
from lib.serve.session import DEFAULT_SYSTEM, ChatSession


def words(text):
    return len(text.split())


def test_old_turns_go_first_then_tools_and_inputs_are_untouched():
    tools = load_catalogue().openai_tools(["create_node", "run_analysis", "get_reactions"])
    messages = [{"role": "system", "content": "sys"},
                {"role": "user", "content": "old " * 40}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "new"}]
    full = words(render(messages, tools, add_generation_prompt=True))
    fitted = fit_prompt(messages, tools, words, max_length=full - 30, reserve=0)
    assert fitted.fits and fitted.dropped_turns == 1 and fitted.dropped_tools == []
    assert [m["content"] for m in fitted.messages] == ["sys", "new"]          # the system prompt stays
    tight = fit_prompt(messages, tools, words, max_length=fitted.prompt_tokens - 1, reserve=0)
    assert tight.dropped_tools == ["get_reactions"] and len(tight.tools) == 2 # lowest-ranked tool next
    assert len(messages) == 4 and len(tools) == 3                               # inputs unchanged


def test_a_current_turn_that_cannot_fit_is_reported_not_cut():
    messages = [{"role": "user", "content": "x " * 500}]
    fitted = fit_prompt(messages, [], words, max_length=100, reserve=10)
    assert not fitted.fits and fitted.messages == messages


class TokenizedScript(ScriptedBackend):
    """Scripted replies, counted with the embedded model's real tokenizer."""

    def __init__(self, replies, tokenizer, max_length):
        super().__init__(replies, max_length=max_length)
        self.tokenizer = tokenizer

    def count_tokens(self, text):
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("profile_name", ["laptop-6gb", "cpu-embedded"])
def test_a_long_session_never_sends_more_than_the_profiles_training_length(profile_name, embedded_tokenizer):
    """Ten turns with result tables in the history: every prompt + reply stays within the budget
    (counted with the embedded SmolLM2 tokenizer, which needs more tokens for Korean than Qwen2.5's)."""
    max_length, reserve = budget(load_profile(profile_name)), 256
    call = '<tool_call>\n{"name": "get_reactions", "arguments": {"load_cases": ["DL", "LL"]}}\n</tool_call>'
    from lib.data.contexts import sandbox_for

    backend = TokenizedScript([call, "반력 결과입니다. " * 20] * 10, embedded_tokenizer, max_length)
    session = ChatSession(backend, api=sandbox_for("analysed"), max_new_tokens=reserve)
    for i in range(10):
        session.send(f"DL, LL 반력 표 보여줘 ({i})")
    sent = [backend.count_tokens(render(c["messages"], c["tools"], add_generation_prompt=True)) for c in backend.calls]
    assert len(sent) == 20 and max(sent) + reserve <= max_length
    assert all(len(c["tools"]) == K for c in backend.calls)               # turns were dropped, not tools


@pytest.mark.parametrize("profile_name", ["laptop-6gb", "cpu-embedded"])
def test_k_tools_and_a_three_turn_history_fit_with_room_to_answer(profile_name, embedded_tokenizer):
    """The design bound: the router's k tools, three earlier turns with calls and responses, a reply."""
    max_length = budget(load_profile(profile_name))
    count = lambda text: len(embedded_tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    turn = [{"role": "user", "content": "절점 5번을 (0, 0, 3.5)에 만들어 줘"},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "create_node", "arguments": json.dumps({"id": 5, "x": 0, "y": 0, "z": 3.5})}}]},
            {"role": "tool", "name": "create_node", "content": '{"NODE": {"5": {"X": 0, "Y": 0, "Z": 3.5}}}'},
            {"role": "assistant", "content": "절점 5번을 만들었습니다."}]
    messages = [{"role": "system", "content": DEFAULT_SYSTEM}] + turn * 3 + [
        {"role": "user", "content": "1~4번 절점을 고정 지점으로 해 줘"}]
    tools = load_catalogue().openai_tools(default_router().offer("1~4번 절점을 고정 지점으로 해 줘"))
    fitted = fit_prompt(messages, tools, count, max_length, reserve=128)
    assert fitted.fits and fitted.dropped_turns == 0 and fitted.dropped_tools == []
