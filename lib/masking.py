"""Which tokens the loss trains on, and whether a prompt survives truncation.

Assistant-only loss: labels are the input ids inside the template's `{% generation %}` spans
(assistant text, tool calls and the closing `<|im_end|>`) and -100 everywhere else.
"""
from __future__ import annotations

from .chat_format import ASSISTANT_HEADER, normalise_messages

IGNORE = -100


def assistant_labels(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> dict:
    """Token ids and labels for one conversation, as TRL's assistant_only_loss builds them."""
    enc = tokenizer.apply_chat_template(
        normalise_messages(messages), tools=tools or None, tokenize=True, return_dict=True,
        return_assistant_tokens_mask=True)
    ids = list(enc["input_ids"])
    mask = list(enc["assistant_masks"])
    labels = [tok if keep else IGNORE for tok, keep in zip(ids, mask)]
    return {"input_ids": ids, "labels": labels}


def trained_segments(tokenizer, input_ids: list[int], labels: list[int]) -> list[str]:
    """Decode the runs of trained (non -100) labels: what the model learns to write.

    >>> class T:  # a stand-in tokenizer for the example
    ...     def decode(self, ids): return "".join(chr(65 + i) for i in ids)
    >>> trained_segments(T(), [0, 1, 2, 3], [-100, 1, 2, -100])
    ['BC']
    """
    segments, run = [], []
    for tok, label in zip(input_ids, labels):
        if label == IGNORE:
            if run:
                segments.append(tokenizer.decode(run))
                run = []
        else:
            run.append(tok)
    if run:
        segments.append(tokenizer.decode(run))
    return segments


def truncate(ids: list[int], max_length: int, side: str) -> list[int]:
    """Keep `max_length` tokens, cutting from the `left` (oldest) or the `right` (newest).

    >>> truncate([1, 2, 3, 4], 2, "left"), truncate([1, 2, 3, 4], 2, "right")
    ([3, 4], [1, 2])
    """
    if len(ids) <= max_length:
        return list(ids)
    return list(ids[-max_length:]) if side == "left" else list(ids[:max_length])


def keeps_assistant_header(tokenizer, prompt_ids: list[int]) -> bool:
    """True when a (possibly truncated) prompt still ends with `<|im_start|>assistant\\n`.

    If it does not, the model does not know that it is its turn to speak (seed 003's trap).
    """
    header = tokenizer.encode(ASSISTANT_HEADER, add_special_tokens=False)
    return list(prompt_ids[-len(header):]) == header
