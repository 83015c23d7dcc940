"""Merge a LoRA adapter into its 16-bit base model and check the merged model answers the same.

Merging into 4-bit weights degrades the model (the LoRA delta is added to already-rounded nf4 weights),
so the base is always loaded unquantised: the sum W + (alpha/r)·B·A is computed in float32 and rounded
once to the base's own stored dtype (bf16 for Qwen2.5 and SmolLM2). The merged folder carries the
tokenizer with the course chat template, so `apply_chat_template(tools=...)` renders the training format,
and a `merge.json` record (adapter source and hashes, base, dtypes, versions).

>>> sha256_file.__name__
'sha256_file'
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..chat_format import CHAT_TEMPLATE, IM_END
from ..paths import DATA, MERGED, ROOT, display_path  # noqa: F401  (display_path: merge.display_path in notebook 07)

RECORD = "merge.json"
SAMPLES = DATA / "samples" / "gennx_tool_calling_samples.jsonl"


class AdapterError(ValueError):
    """The adapter folder is missing or incomplete; the message says which file and what to run."""


@dataclass
class MergeResult:
    out_dir: Path
    record: dict


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (model files are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_adapter(adapter_dir) -> dict:
    """The adapter's config and (when lib.train wrote it) its run record; AdapterError when incomplete.

    >>> read_adapter("no/such/adapter")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lib.export.merge.AdapterError: adapter folder no/such/adapter does not exist. Train one first ...
    """
    folder = Path(adapter_dir)
    if not folder.is_dir():
        raise AdapterError(f"adapter folder {adapter_dir} does not exist. Train one first (notebook 05 writes "
                           "artifacts/adapters/course) or pass --adapter artifacts/adapters/<run>.")
    config_file = folder / "adapter_config.json"
    weights = [p for p in (folder / "adapter_model.safetensors", folder / "adapter_model.bin") if p.exists()]
    if not config_file.exists() or not weights:
        raise AdapterError(f"{folder} is not a LoRA adapter: it needs adapter_config.json and "
                           "adapter_model.safetensors (what PeftModel.save_pretrained writes)")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    run_file = folder / "run.json"
    run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
    return {"dir": folder, "config": config, "run": run, "weights": weights[0]}


def resolve_profile(adapter: dict, profile=None) -> dict:
    """The profile to merge with: the one given (name or dict), else the one the adapter was trained with."""
    from ..profile import load_profile

    if isinstance(profile, dict):
        return profile
    if profile:
        return load_profile(profile)
    trained = adapter["run"].get("profile")
    if not trained:
        raise AdapterError(f"{adapter['dir']} has no run.json saying which profile trained it: pass --profile")
    return trained


def _stored_dtype(source: str) -> torch.dtype:
    """The dtype the base model's weights are stored in (config.json), float32 when it does not say."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def load_base_with_adapter(adapter_dir, profile: dict, device: str = "cpu"):
    """(PeftModel in float32, tokenizer with the course template, base source): the unmerged reference."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ..models import load_tokenizer, resolve_model_source

    source = resolve_model_source(profile)      # the 16-bit original, never the 4-bit training copy
    tokenizer = load_tokenizer(profile)
    base = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).to(device)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    return model, tokenizer, source


def _set_stop_tokens(model, tokenizer) -> None:
    """EOS = <|im_end|> and PAD = <|endoftext|> in config and generation config (what llama.cpp and Ollama read)."""
    for config in (model.config, model.generation_config):
        config.eos_token_id = tokenizer.convert_tokens_to_ids(IM_END)
        config.pad_token_id = tokenizer.pad_token_id


def merge_adapter(adapter_dir, out_dir=None, profile=None, device: str = "cpu", save_dtype: str | None = None) -> MergeResult:
    """Merge `adapter_dir` into its base and save a standalone model folder (default artifacts/merged/<run>).

    `save_dtype` defaults to the base's stored dtype; the merge itself runs in float32.
    """
    from ..models import _save_atomically

    start = time.perf_counter()
    adapter = read_adapter(adapter_dir)
    profile = resolve_profile(adapter, profile)
    run = adapter["run"].get("result", {}).get("run") or Path(adapter_dir).resolve().name
    out_dir = Path(out_dir) if out_dir else MERGED / Path(adapter_dir).resolve().name
    model, tokenizer, source = load_base_with_adapter(adapter_dir, profile, device)
    dtype = getattr(torch, save_dtype) if save_dtype else _stored_dtype(source)
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"save_dtype must be float32, bfloat16 or float16, not {dtype}")
    merged = model.merge_and_unload().to(dtype)
    _set_stop_tokens(merged, tokenizer)

    def save(folder: Path):
        merged.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    _save_atomically(out_dir, save)
    record = {
        "run": run, "adapter": display_path(adapter_dir), "adapter_sha256": sha256_file(adapter["weights"]),
        "adapter_recorded_base": adapter["config"].get("base_model_name_or_path"),
        "base": source if not Path(source).exists() else display_path(source), "profile": profile["name"],
        "lora": {k: adapter["config"].get(k) for k in ("r", "lora_alpha", "target_modules")},
        "merge_dtype": "float32", "saved_dtype": str(dtype).replace("torch.", ""), "device": device,
        "parameters": sum(p.numel() for p in merged.parameters()),
        "files": {p.name: sha256_file(p) for p in sorted(out_dir.glob("*.safetensors"))},
        "chat_template_sha256": hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest(),
        "eos_token": tokenizer.eos_token, "pad_token": tokenizer.pad_token,
        "versions": _versions(), "seconds": round(time.perf_counter() - start, 1),
    }
    (out_dir / RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return MergeResult(out_dir, record)


def _versions() -> dict:
    import peft
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}


def fixed_prompts(profile: dict, n: int) -> list[dict]:
    """`n` fixed prompts ({"messages", "tools"}) for comparing exports: test-split tool-call rows, else the shipped samples.

    Each prompt is a conversation cut before the first assistant turn, with the tools that row offered.

    >>> p = fixed_prompts({"dataset": {"out": "no/such/dir"}}, 2)
    >>> [m["role"] for m in p[0]["messages"]], len(p)
    (['system', 'user'], 2)
    """
    from ..jsonl import read_jsonl

    test = ROOT / profile["dataset"]["out"] / "test.jsonl"
    rows = read_jsonl(test) if test.exists() else []
    rows = [r for r in rows if r.get("meta", {}).get("category") in ("single", "multi")] or read_jsonl(SAMPLES)
    prompts = []
    for row in rows[:n]:
        first = next(i for i, m in enumerate(row["messages"]) if m["role"] == "assistant")
        prompts.append({"messages": row["messages"][:first], "tools": row.get("tools") or []})
    return prompts


@torch.inference_mode()
def answer(model, tokenizer, prompt: dict, max_new_tokens: int) -> dict:
    """Greedy reply (lib.inference.chat) plus the logits that chose each new token (teacher-forced)."""
    from ..inference import chat

    reply = chat(model, tokenizer, prompt["messages"], prompt["tools"], max_new_tokens)
    return reply | {"logits": _logits_along(model, tokenizer, prompt, reply["token_ids"])}


@torch.inference_mode()
def _logits_along(model, tokenizer, prompt: dict, new_ids: list[int]) -> torch.Tensor:
    """Logits at each position that predicted one of `new_ids`, given the prompt and the tokens before it."""
    from ..chat_format import encode

    ids = encode(tokenizer, prompt["messages"], prompt["tools"], add_generation_prompt=True)["input_ids"]
    full = torch.tensor([list(ids) + list(new_ids)], device=model.device)
    logits = model(input_ids=full).logits[0, len(ids) - 1: full.shape[1] - 1]
    return logits.float().cpu()


NEAR_TIE = 1.0   # logits closer than this can swap places when the merged weights are rounded to 16 bits


def first_difference(a: list, b: list) -> int | None:
    """Index of the first token where two answers differ (None when they are the same).

    >>> first_difference([1, 2, 3], [1, 2, 3]), first_difference([1, 2, 3], [1, 5, 3]), first_difference([1, 2], [1, 2, 3])
    (None, 1, 2)
    """
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def compare_answers(reference: list[dict], candidate: list[dict]) -> list[dict]:
    """Per prompt: same tokens, same text, same parsed tool calls, and how far the logits moved.

    Logits are compared only while both models read the same text, i.e. up to the first token where
    the answers part (after that the contexts differ and so do the logits, by any amount).
    `tie_margin` is how far ahead the reference's token was of the candidate's at that step: below
    NEAR_TIE the answers parted at a near-tie that 16-bit rounding can flip, not because the merge is wrong.

    >>> a = {"text": "hi", "token_ids": [1], "logits": torch.zeros(1, 3)}
    >>> row = compare_answers([a], [a])[0]
    >>> row["same_tokens"], row["max_logit_diff"], row["first_difference"], row["tie_margin"]
    (True, 0.0, None, None)
    >>> b = {"text": "ho", "token_ids": [2], "logits": torch.tensor([[0.0, 1.0, 0.9]])}
    >>> row = compare_answers([{**a, "logits": torch.tensor([[0.0, 1.0, 0.8]])}], [b])[0]
    >>> row["first_difference"], row["tie_margin"], round(row["max_logit_diff"], 3)
    (0, 0.2, 0.1)
    """
    from ..tool_calls import parse_tool_calls

    rows = []
    for ref, cand in zip(reference, candidate, strict=True):
        first = first_difference(ref["token_ids"], cand["token_ids"])
        steps = min(len(ref["logits"]), len(cand["logits"]))
        if first is not None:
            steps = min(steps, first + 1)   # past the parting the two read different text
        diff = (ref["logits"][:steps] - cand["logits"][:steps]).abs().max().item() if steps else 0.0
        margin = None
        if first is not None and first < min(len(ref["token_ids"]), len(cand["token_ids"]), len(ref["logits"])):
            row = ref["logits"][first]
            margin = round((row[ref["token_ids"][first]] - row[cand["token_ids"][first]]).item(), 6)
        calls = [(c.name, c.arguments) for c in parse_tool_calls(ref["text"]).calls]
        rows.append({"same_tokens": first is None, "same_text": ref["text"] == cand["text"],
                     "same_calls": calls == [(c.name, c.arguments) for c in parse_tool_calls(cand["text"]).calls],
                     "calls": len(calls), "max_logit_diff": round(diff, 6), "first_difference": first,
                     "tie_margin": margin, "reference": ref["text"], "candidate": cand["text"]})
    return rows


@dataclass
class MergeCheck:
    rows: list[dict]          # per prompt: base+adapter vs merged (compare_answers)
    answers: list[dict]       # the merged model's answers (the reference for the GGUF files)
    load_seconds: float       # loading the merged folder
    tokens_per_s: float       # the merged model's generation speed over the prompts
    size_mb: float            # the merged folder's weight files

    @property
    def agree(self) -> bool:
        """Same tokens everywhere, or parted only at a near-tie (see compare_answers)."""
        return all(r["same_tokens"] or (r["tie_margin"] is not None and r["tie_margin"] < NEAR_TIE) for r in self.rows)


def check_merge(adapter_dir, merged_dir, profile=None, prompts: list[dict] | None = None,
                max_new_tokens: int = 48, device: str = "cpu") -> MergeCheck:
    """Greedy answers of base+adapter (unmerged, float32) vs the saved merged folder, prompt by prompt.

    Both run in float32 so the only difference left is the merged weights' rounding to their saved dtype.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..models import free

    adapter = read_adapter(adapter_dir)
    profile = resolve_profile(adapter, profile)
    prompts = prompts or fixed_prompts(profile, profile["export"]["compare_prompts"])
    model, tokenizer, _ = load_base_with_adapter(adapter_dir, profile, device)
    reference = [answer(model, tokenizer, p, max_new_tokens) for p in prompts]
    del model
    free(None)
    start = time.perf_counter()
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32).to(device).eval()
    merged_tokenizer = AutoTokenizer.from_pretrained(str(merged_dir))   # the saved one: template and EOS travel
    load_seconds = time.perf_counter() - start
    candidate = [answer(merged, merged_tokenizer, p, max_new_tokens) for p in prompts]
    seconds = sum(c["seconds"] for c in candidate)
    size = sum(p.stat().st_size for p in Path(merged_dir).glob("*.safetensors"))
    return MergeCheck(compare_answers(reference, candidate), candidate, load_seconds,
                      sum(c["new_tokens"] for c in candidate) / seconds if seconds else float("nan"), size / 1e6)
