"""Which tokens the loss trains on, and whether a prompt survives truncation.

Assistant-only loss: labels are the input ids inside the template's `{% generation %}` spans
(assistant text, tool calls and the closing `<|im_end|>`) and -100 everywhere else.
"""
from __future__ import annotations

from .chat_format import ASSISTANT_HEADER, encode

IGNORE = -100


def assistant_labels(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> dict:
    """Token ids and labels for one conversation, as TRL's assistant_only_loss builds them."""
    enc = encode(tokenizer, messages, tools, assistant_mask=True)
    ids, mask = enc["input_ids"], enc["assistant_masks"]
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

    If it does not, the model does not know that it is its turn to speak.
    """
    header = tokenizer.encode(ASSISTANT_HEADER, add_special_tokens=False)
    return list(prompt_ids[-len(header):]) == header


def collator_style_labels(input_ids: list[int], pad_id: int) -> list[int]:
    """Labels as a plain language-modelling collator makes them: every PAD position becomes -100.

    If PAD and EOS are the same id, the end-of-turn token is masked too and the model never learns
    to stop.

    >>> collator_style_labels([5, 2, 2], pad_id=2)
    [5, -100, -100]
    """
    return [IGNORE if tok == pad_id else tok for tok in input_ids]


def highlight_html(tokenizer, input_ids: list[int], labels: list[int]) -> str:
    """HTML of a conversation with trained tokens on a green background (for the notebooks)."""
    import html

    parts = []
    for tok, label in zip(input_ids, labels):
        text = html.escape(tokenizer.decode([tok])).replace("\n", "↵<br>")
        parts.append(f'<span style="background:#b7e4c7">{text}</span>' if label != IGNORE else
                     f'<span style="color:#888">{text}</span>')
    return '<div style="font-family:monospace;font-size:12px;line-height:1.5">' + "".join(parts) + "</div>"
