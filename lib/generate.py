"""Chat with a loaded model and time it: the one generation helper the notebooks use.

>>> strip_end("Hello<|im_end|><|endoftext|>")
'Hello'
"""
from __future__ import annotations

import time

import torch

from .chat_format import IM_END, normalise_messages


def strip_end(text: str) -> str:
    """Cut a decoded reply at the first end-of-turn marker."""
    for marker in (IM_END, "<|endoftext|>"):
        text = text.split(marker)[0]
    return text.strip()


@torch.inference_mode()
def chat(model, tokenizer, messages: list[dict], tools: list[dict] | None = None,
         max_new_tokens: int = 128) -> dict:
    """Greedy reply to `messages` rendered with the course template; with timing.

    Returns text (up to `<|im_end|>`), prompt_tokens, new_tokens, seconds, tokens_per_s and
    `stopped` (True when the model ended its turn itself rather than hitting max_new_tokens).
    """
    inputs = tokenizer.apply_chat_template(
        normalise_messages(messages), tools=tools or None, add_generation_prompt=True,
        return_tensors="pt", return_dict=True).to(model.device)
    prompt_len = inputs["input_ids"].shape[1]
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
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
    ids = tokenizer.apply_chat_template(normalise_messages(messages), add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)["input_ids"].to(model.device)
    rows, past, step_input = [], None, ids
    for step in range(steps):
        start = time.perf_counter()
        out = model(input_ids=step_input, past_key_values=past, use_cache=True)
        next_id = int(out.logits[0, -1].argmax())
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        rows.append({"step": step, "input_tokens": step_input.shape[1], "token_id": next_id,
                     "token": tokenizer.decode([next_id]), "ms": (time.perf_counter() - start) * 1000})
        past, step_input = out.past_key_values, torch.tensor([[next_id]], device=model.device)
        if next_id == tokenizer.eos_token_id:
            break
    return rows
