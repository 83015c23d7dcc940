"""The one prompt budget: a prompt plus its reply never exceeds the profile's training max length.

A model answers worst on prompts longer than anything it was trained on, and a backend that meets one
truncates it silently (Unsloth cuts the prompt's start, losing the system prompt and the tools). So every
caller that builds a prompt (the chat session behind the CLI and the web chat, the OpenAI endpoint, the
evaluator) cuts it here, before generation, in one order:
1. drop the oldest whole turns of the conversation (a user message and everything answering it),
   keeping the system prompt and the current turn;
2. then drop the lowest-ranked tools (tools come best first), keeping at least one;
3. if the prompt still does not fit, the caller gets `fits=False` and must not generate.

>>> count = lambda text: len(text.split())   # any token counter
>>> msgs = [{"role": "user", "content": "a " * 50}, {"role": "assistant", "content": "ok"},
...         {"role": "user", "content": "short question"}]
>>> fitted = fit_prompt(msgs, [], count, max_length=40, reserve=10)
>>> fitted.fits, [m["content"] for m in fitted.messages], fitted.dropped_turns
(True, ['short question'], 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .chat_format import render


@dataclass
class Fitted:
    """A prompt cut to the budget: what to send, and what was left out."""
    messages: list[dict]
    tools: list[dict]
    prompt_tokens: int
    fits: bool
    dropped_turns: int = 0
    dropped_tools: list[str] = field(default_factory=list)


def budget(profile: dict) -> int:
    """The profile's prompt + reply budget: the length its model was trained on (model.max_seq_length)."""
    return int(profile["model"]["max_seq_length"])


def _turn_starts(messages: list[dict]) -> list[int]:
    return [i for i, m in enumerate(messages) if m.get("role") == "user"]


def fit_prompt(messages: list[dict], tools: list[dict], count_tokens, max_length: int, reserve: int) -> Fitted:
    """Cut `messages`/`tools` until render(messages, tools) + `reserve` reply tokens ≤ `max_length`.

    count_tokens(text) -> int counts the rendered prompt with the serving tokenizer. The input lists are
    not changed. The current turn (from the last user message on) is never cut.
    """
    messages, tools = list(messages), list(tools)
    dropped_turns, dropped_tools = 0, []

    def size() -> int:
        return count_tokens(render(messages, tools, add_generation_prompt=True))

    tokens = size()
    while tokens + reserve > max_length:
        starts = _turn_starts(messages)
        if len(starts) > 1:   # an older turn exists: drop it whole
            del messages[starts[0]:starts[1]]
            dropped_turns += 1
        elif len(tools) > 1:
            dropped_tools.append(tools.pop()["function"]["name"])
        else:
            break
        tokens = size()
    return Fitted(messages, tools, tokens, tokens + reserve <= max_length, dropped_turns, dropped_tools)
