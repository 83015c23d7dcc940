"""Token lengths of conversations and what truncation does to their prompts.

>>> summarize([10, 20, 30, 40])["mean"]
25.0
"""
from __future__ import annotations

import statistics

from .chat_format import encode
from .masking import IGNORE, assistant_labels, keeps_assistant_header, truncate


def prompt_messages(messages: list[dict]) -> list[dict]:
    """The conversation up to (not including) the first assistant turn: what the model sees before it answers."""
    for index, message in enumerate(messages):
        if message["role"] == "assistant":
            return messages[:index]
    return messages


def prompt_ids(tokenizer, row: dict) -> list[int]:
    """Token ids of a row's prompt, ending with the assistant header `<|im_start|>assistant\\n`."""
    return encode(tokenizer, prompt_messages(row["messages"]), row.get("tools"), add_generation_prompt=True)["input_ids"]


def conversation_lengths(tokenizer, rows: list[dict]) -> list[dict]:
    """Per row: total tokens, prompt tokens (tools + system + user), and trained (assistant) tokens."""
    out = []
    for row in rows:
        enc = assistant_labels(tokenizer, row["messages"], row.get("tools"))
        out.append({"total": len(enc["input_ids"]),
                    "prompt": len(prompt_ids(tokenizer, row)),
                    "trained": sum(label != IGNORE for label in enc["labels"]),
                    "tools": len(row.get("tools") or [])})
    return out


def summarize(values: list[int]) -> dict:
    """min / max / mean / median / p95 of a list of lengths."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"count": len(ordered), "min": ordered[0], "max": ordered[-1],
            "mean": round(statistics.fmean(ordered), 1), "median": statistics.median(ordered), "p95": p95}


def truncation_report(tokenizer, rows: list[dict], max_lengths: list[int]) -> list[dict]:
    """For each max length: share of prompts that are cut, and of those whose assistant header survives
    right truncation (the default) versus left truncation (keeps the newest tokens)."""
    prompts = [prompt_ids(tokenizer, row) for row in rows]
    report = []
    for max_length in max_lengths:
        cut = [p for p in prompts if len(p) > max_length]
        report.append({
            "max_length": max_length,
            "prompts_cut": len(cut) / len(prompts),
            "header_kept_right": sum(keeps_assistant_header(tokenizer, truncate(p, max_length, "right")) for p in prompts) / len(prompts),
            "header_kept_left": sum(keeps_assistant_header(tokenizer, truncate(p, max_length, "left")) for p in prompts) / len(prompts),
        })
    return report
