"""Notebook 01's side-by-side: the same model loaded at several precisions, measured on the same prompts.

On a GPU the variants are 16-bit and 4-bit (NF4); on the CPU they are fp32, bf16 and NF4 (bitsandbytes
runs NF4 on the CPU too, but without fast kernels: the table shows what that costs).
"""
from __future__ import annotations

from pathlib import Path

from .inference import chat
from .memory import track_peak
from .model_backend import named
from .models import free, load_model

GPU_VARIANTS = {"16-bit": {"load_in_4bit": False}, "4-bit NF4": {"load_in_4bit": True}}
CPU_VARIANTS = {"fp32": {"load_in_4bit": False, "dtype": "float32"},
                "bf16": {"load_in_4bit": False, "dtype": "bfloat16"},
                "4-bit NF4": {"load_in_4bit": True, "dtype": "float32"}}


def variants_for(backend: str) -> dict:
    """The variants to compare on the device where `backend` (a name) puts the weights.

    >>> list(variants_for("hf"))
    ['fp32', 'bf16', '4-bit NF4']
    """
    return CPU_VARIANTS if named(backend).device == "cpu" else GPU_VARIANTS


def compare_precisions(profile: dict, prompts: list[str], max_new_tokens: int = 48,
                       variants: dict | None = None) -> list[dict]:
    """Load each variant in turn, answer every prompt greedily, and measure it; one row per variant.

    Columns: variant, load_s, footprint_gib (weights), peak memory (RSS, GPU), tokens_per_s over
    all prompts, and the answers.
    """
    rows = []
    variants = variants or variants_for(loaded_backend(profile))
    for name, kwargs in variants.items():
        with track_peak() as mem:
            loaded = load_model(profile, **kwargs)
            replies = [chat(loaded.model, loaded.tokenizer, [{"role": "user", "content": p}],
                            max_new_tokens=max_new_tokens) for p in prompts]
        tokens = sum(r["new_tokens"] for r in replies)
        seconds = sum(r["seconds"] for r in replies)
        row = {"variant": name, "backend": loaded.backend, "dtype": loaded.dtype,
               "load_s": round(loaded.load_seconds, 2), "footprint_gib": round(loaded.footprint_gib(), 3),
               "peak_rss_gib": round(mem.result["peak_rss_gib"], 2),
               "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
               "answers": [r["text"] for r in replies]}
        if "gpu_peak_allocated_gib" in mem.result:
            row["gpu_peak_gib"] = round(mem.result["gpu_peak_allocated_gib"], 3)
        rows.append(row)
        free(loaded)
    return rows


def footprint_table(profile: dict, sources=("random-tiny", "embedded")) -> list[dict]:
    """Measured weight memory of each locally available model at 16-bit and 4-bit (plus the profile's own)."""
    sources = list(dict.fromkeys([*sources, profile["model"]["source"]]))
    rows = []
    for source in sources:
        variant = {**profile, "model": {**profile["model"], "source": source}}
        for label, in4 in (("16-bit", False), ("4-bit NF4", True)):
            # 16-bit on the CPU too, so both rows keep embeddings and norms at the same precision
            loaded = load_model(variant, load_in_4bit=in4,
                                dtype="bfloat16" if named(loaded_backend(variant)).device == "cpu" else None)
            rows.append({"model": Path(loaded.source).name or loaded.source, "precision": label,
                         "parameters (M)": round(loaded.parameters / 1e6, 1),
                         "footprint (MiB)": round(loaded.footprint_gib() * 1024, 1)})
            free(loaded)
    return rows


def loaded_backend(profile: dict) -> str:
    from .models import choose_backend

    return choose_backend(profile)[0]
