"""The course's one chat format: ChatML with Qwen2.5's tool-calling convention.

The Jinja template in `templates/chatml_tools.jinja` renders exactly what Qwen2.5-Instruct's own
template renders, plus `{% generation %}` markers so that TRL can train on assistant turns only.
Training, evaluation, GGUF/Ollama export and serving all use this one template.

>>> text = render([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
>>> text.endswith("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n")
True
"""
from __future__ import annotations

import json

from transformers.utils.chat_template_utils import render_jinja_template

from .paths import ROOT

CHAT_TEMPLATE = (ROOT / "lib" / "templates" / "chatml_tools.jinja").read_text(encoding="utf-8")
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
ASSISTANT_HEADER = f"{IM_START}assistant\n"


def normalise_messages(messages: list[dict]) -> list[dict]:
    """Copy of `messages` with tool-call `arguments` decoded from JSON strings to objects.

    Datasets store arguments as JSON strings (PyArrow cannot hold mixed types); the template must see
    objects, or the model learns a quoted, escaped string.

    >>> m = [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}]}]
    >>> normalise_messages(m)[0]["tool_calls"][0]["function"]["arguments"]
    {'a': 1}
    """
    out = []
    for message in messages:
        message = dict(message)
        if message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                call = dict(call)
                fn = dict(call.get("function", call))
                if isinstance(fn.get("arguments"), str):
                    try:
                        fn["arguments"] = json.loads(fn["arguments"])
                    except json.JSONDecodeError:
                        pass  # keep the string: the template emits it as it is
                if "function" in call:
                    call["function"] = fn
                else:
                    call = fn
                calls.append(call)
            message["tool_calls"] = calls
        if message.get("content") is None:
            message["content"] = ""
        out.append(message)
    return out


def render(messages: list[dict], tools: list[dict] | None = None, add_generation_prompt: bool = False) -> str:
    """Render one conversation to the exact training/inference text (no tokenizer needed)."""
    rendered, _ = render_jinja_template(
        [normalise_messages(messages)],
        tools=tools or None,
        chat_template=CHAT_TEMPLATE,
        add_generation_prompt=add_generation_prompt,
    )
    return rendered[0]


def assistant_spans(messages: list[dict], tools: list[dict] | None = None) -> list[tuple[str, str]]:
    """The (text before, trained text) pieces of a rendering: what assistant-only loss trains on.

    >>> m = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    >>> [trained for _, trained in assistant_spans(m)]
    ['Hello<|im_end|>']
    """
    rendered, indices = render_jinja_template(
        [normalise_messages(messages)],
        tools=tools or None,
        chat_template=CHAT_TEMPLATE,
        return_assistant_tokens_mask=True,
    )
    text = rendered[0]
    spans, last = [], 0
    for start, end in indices[0]:
        spans.append((text[last:start], text[start:end]))
        last = end
    return spans


def encode(tokenizer, messages: list[dict], tools: list[dict] | None = None, *, add_generation_prompt: bool = False,
           assistant_mask: bool = False) -> dict:
    """Token ids of one conversation in the course template: the one place training, masking, length checks,
    generation and the merge check turn a conversation into tokens (the tokenizer must carry the course
    template: lib.models.load_tokenizer / use_course_template).

    Returns `input_ids` (a list), and `assistant_masks` (1 where the assistant wrote) with `assistant_mask`.
    """
    enc = tokenizer.apply_chat_template(normalise_messages(messages), tools=tools or None, tokenize=True, return_dict=True,
                                        add_generation_prompt=add_generation_prompt,
                                        return_assistant_tokens_mask=assistant_mask)
    out = {"input_ids": list(enc["input_ids"])}
    if assistant_mask:
        out["assistant_masks"] = list(enc["assistant_masks"])
    return out


def use_course_template(tokenizer) -> None:
    """Give a tokenizer the course template and the ChatML special tokens for EOS and PAD.

    EOS must be `<|im_end|>` (where generation stops) and PAD a different token (`<|endoftext|>`),
    or padding masks the EOS label and the fine-tuned model never learns to stop.
    """
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.clean_up_tokenization_spaces = False  # destructive for BPE tokenizers
    tokenizer.eos_token = IM_END
    if tokenizer.pad_token is None or tokenizer.pad_token == IM_END:
        tokenizer.pad_token = "<|endoftext|>"
    if tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise ValueError("PAD and EOS are the same token; training would mask the EOS label")
