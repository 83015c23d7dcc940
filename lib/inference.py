"""Chat with a loaded model and time it: the inference helpers the notebooks, evaluation and serving use.

`chat` answers one conversation; `generate_batch` answers many at once (evaluation, benchmarks).

>>> strip_end("Hello<|im_end|><|endoftext|>")
'Hello'
"""
from __future__ import annotations

import time

import torch

from .chat_format import IM_END, encode


def strip_end(text: str) -> str:
    """Cut a decoded reply at the first end-of-turn marker."""
    for marker in (IM_END, "<|endoftext|>"):
        text = text.split(marker)[0]
    return text.strip()


def _greedy(model, tokenizer, inputs, max_new_tokens: int, logits_processor=None):
    """model.generate, greedy until <|im_end|>; returns (output ids, seconds) timed after the GPU is idle."""
    # Unsloth stores the context size as generation_config.max_length, and transformers then warns on
    # every call that max_new_tokens wins; max_new_tokens is always what bounds the answer here.
    model.generation_config.max_length = None
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                            **({"logits_processor": [logits_processor]} if logits_processor is not None else {}))
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return output, time.perf_counter() - start


def _constraint(model, tokenizer, tools_per_row, constrained: bool):
    if not constrained:
        return None
    from .constrained import hf_processor

    return hf_processor(model, tokenizer, tools_per_row)


@torch.inference_mode()
def chat(model, tokenizer, messages: list[dict], tools: list[dict] | None = None,
         max_new_tokens: int = 128, constrained: bool = False) -> dict:
    """Greedy reply to `messages` rendered with the course template; with timing.

    `constrained`: tool calls held to the offered tools' schemas (lib.constrained).
    Returns text (up to `<|im_end|>`), prompt_tokens, new_tokens, seconds, tokens_per_s and
    `stopped` (True when the model ended its turn itself rather than hitting max_new_tokens).
    """
    ids = torch.tensor([encode(tokenizer, messages, tools, add_generation_prompt=True)["input_ids"]], device=model.device)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    prompt_len = inputs["input_ids"].shape[1]
    output, seconds = _greedy(model, tokenizer, inputs, max_new_tokens, _constraint(model, tokenizer, [tools], constrained))
    new = output[0, prompt_len:]
    stopped = bool((new == tokenizer.eos_token_id).any())
    return {
        "text": strip_end(tokenizer.decode(new, skip_special_tokens=False)),
        "prompt_tokens": prompt_len,
        "new_tokens": int(new.numel()),
        "token_ids": new.tolist(),
        "seconds": seconds,
        "tokens_per_s": new.numel() / seconds if seconds > 0 else float("nan"),
        "stopped": stopped,
    }


@torch.inference_mode()
def step_by_step(model, tokenizer, messages: list[dict], steps: int = 8) -> list[dict]:
    """Greedy decoding written out: one forward pass per new token (with the KV cache), timed.

    Shows what `generate` does inside: the prompt is processed once, then each step feeds only the
    newest token and reuses the cached keys/values of everything before it.
    """
    ids = torch.tensor([encode(tokenizer, messages, add_generation_prompt=True)["input_ids"]], device=model.device)
    rows, past, step_input, seen = [], None, ids, 0
    for step in range(steps):
        start = time.perf_counter()
        # explicit positions and mask: what generate() passes too (Unsloth's fast path needs them)
        positions = torch.arange(seen, seen + step_input.shape[1], device=model.device).unsqueeze(0)
        mask = torch.ones(1, seen + step_input.shape[1], dtype=torch.long, device=model.device)
        out = model(input_ids=step_input, past_key_values=past, position_ids=positions,
                    attention_mask=mask, use_cache=True)
        # Unsloth's fast inference path may return a plain (logits, past_key_values, ...) tuple
        logits, cache = (out.logits, out.past_key_values) if hasattr(out, "logits") else (out[0], out[1])
        next_id = int(logits[0, -1].argmax())
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        rows.append({"step": step, "input_tokens": step_input.shape[1], "token_id": next_id,
                     "token": tokenizer.decode([next_id]), "ms": (time.perf_counter() - start) * 1000})
        seen += step_input.shape[1]
        past, step_input = cache, torch.tensor([[next_id]], device=model.device)
        if next_id == tokenizer.eos_token_id:
            break
    return rows


@torch.inference_mode()
def generate_batch(model, tokenizer, conversations: list[tuple[list[dict], list[dict] | None]],
                   max_new_tokens: int = 128, constrained: bool = False) -> dict:
    """Greedy replies to several (messages, tools) conversations in one left-padded batch.

    Left padding keeps every prompt's last token at the same position, so all rows start generating
    together. Returns `replies` (one dict per conversation, like `chat`: text, prompt_tokens,
    new_tokens, stopped) and `seconds` for the whole batch.
    """
    ids = [encode(tokenizer, m, t, add_generation_prompt=True)["input_ids"] for m, t in conversations]   # as `chat` does
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        inputs = tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(model.device)
    finally:
        tokenizer.padding_side = side
    output, seconds = _greedy(model, tokenizer, inputs, max_new_tokens,
                              _constraint(model, tokenizer, [t for _, t in conversations], constrained))
    replies = []
    for row, prompt_mask in zip(output[:, inputs["input_ids"].shape[1]:], inputs["attention_mask"]):
        ids = row.tolist()
        stopped = tokenizer.eos_token_id in ids
        ids = ids[: ids.index(tokenizer.eos_token_id) + 1] if stopped else ids
        while ids and ids[-1] == tokenizer.pad_token_id:      # rows that ended early are padded
            ids.pop()
        replies.append({"text": strip_end(tokenizer.decode(ids, skip_special_tokens=False)),
                        "prompt_tokens": int(prompt_mask.sum()), "new_tokens": len(ids), "stopped": stopped})
    return {"replies": replies, "seconds": seconds}
