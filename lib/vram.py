"""Estimate GPU memory for inference and QLoRA training from a model's architecture (no GPU needed).

Everything is computed from the config numbers in data/architectures/*.json. These are estimates
for planning (notebook 00's budget for a 6 GB card); notebook 01 and the benchmark measure the real thing.

>>> arch = load_architecture("smollm2-135m-instruct")
>>> count_parameters(arch)["total"]
134515008
"""
from __future__ import annotations

import json

from .paths import BENCHMARKS, DATA

GIB = 1024**3
LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# bitsandbytes NF4 with double quantisation: 4 bits per weight + an 8-bit absmax per 64 weights
# + an fp32 constant per 256 absmax values = 4.127 bits per weight.
NF4_BITS_PER_WEIGHT = 4 + 8 / 64 + 32 / (64 * 256)
# CUDA context + cuBLAS workspace as nvidia-smi counts it: 0.81-0.82 GiB measured while training Qwen2.5-1.5B with
# Unsloth (torch 2.11 cu130, H200; artifacts/benchmarks/memory-qwen2.5-1.5b-random-h200-cap6gib.json).
CUDA_CONTEXT_GIB = 0.8


def load_architecture(name: str) -> dict:
    """Read data/architectures/<name>.json (the model's config.json numbers)."""
    path = DATA / "architectures" / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.json"))
        raise FileNotFoundError(f"no architecture '{name}' in {path.parent}; known: {known}")
    return json.loads(path.read_text())


def linear_shapes(arch: dict) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of each projection in one decoder layer."""
    h, i = arch["hidden_size"], arch["intermediate_size"]
    kv = arch["num_key_value_heads"] * (h // arch["num_attention_heads"])
    return {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}


def count_parameters(arch: dict) -> dict:
    """Parameters by kind: `linear` (quantisable projections), `other` (embeddings, norms, biases), `total`."""
    shapes = linear_shapes(arch)
    per_layer_linear = sum(a * b for a, b in shapes.values())
    per_layer_other = 2 * arch["hidden_size"]  # two RMSNorms
    if arch.get("attention_bias"):
        per_layer_other += sum(shapes[n][1] for n in ("q_proj", "k_proj", "v_proj"))
    embed = arch["vocab_size"] * arch["hidden_size"]
    head = 0 if arch["tie_word_embeddings"] else embed
    layers = arch["num_hidden_layers"]
    linear = layers * per_layer_linear
    other = layers * per_layer_other + embed + head + arch["hidden_size"]  # + final norm
    return {"linear": linear, "other": other, "total": linear + other}


def lora_parameters(arch: dict, r: int, targets=LINEAR_NAMES) -> int:
    """LoRA adds A (r x in) and B (out x r) to each targeted projection of every layer."""
    shapes = linear_shapes(arch)
    return arch["num_hidden_layers"] * sum(r * (shapes[n][0] + shapes[n][1]) for n in targets)


def weights_gib(arch: dict, bits: str) -> float:
    """Weight memory in GiB: `16bit`, or `4bit` (NF4 linears, embeddings and norms stay 16-bit)."""
    params = count_parameters(arch)
    if bits == "16bit":
        return params["total"] * 2 / GIB
    if bits == "4bit":
        return (params["linear"] * NF4_BITS_PER_WEIGHT / 8 + params["other"] * 2) / GIB
    raise ValueError(f"bits must be '16bit' or '4bit', not {bits!r}")


def training_budget(arch: dict, *, bits: str = "4bit", r: int = 8, targets=LINEAR_NAMES,
                    seq_len: int = 2048, batch: int = 1, optimizer: str = "adamw_8bit",
                    gradient_checkpointing: bool = True, chunked_loss: bool = False) -> dict:
    """GiB per component of one QLoRA training step; see the notebook 00 narrative for the reasoning.

    - LoRA weights in fp32 (4 B), their gradients (4 B), optimizer states: AdamW 8 B, 8-bit AdamW 2 B.
    - Activations kept for backward, bf16: with gradient checkpointing one hidden state per layer plus
      one layer's full activations (~ 4 h + 3 i values per token); without, ~ (14 h + 3 i) per layer
      (rough: attention via SDPA keeps no seq x seq matrix).
    - Logits: seq x vocab in fp32 for the loss, and their gradient (x2); Unsloth/TRL chunk this (`chunked_loss`).
    """
    tokens = seq_len * batch
    h, i, layers = arch["hidden_size"], arch["intermediate_size"], arch["num_hidden_layers"]
    lora = lora_parameters(arch, r, targets)
    opt_bytes = {"adamw": 8, "adamw_8bit": 2, "sgd": 0}[optimizer]
    if gradient_checkpointing:
        act_values = tokens * (layers * h + 4 * h + 3 * i)
    else:
        act_values = tokens * layers * (14 * h + 3 * i)
    logits_values = tokens * arch["vocab_size"] * (0.25 if chunked_loss else 2)
    parts = {
        "weights": weights_gib(arch, bits),
        "lora_weights": lora * 4 / GIB,
        "lora_gradients": lora * 4 / GIB,
        "optimizer_states": lora * opt_bytes / GIB,
        "activations": act_values * 2 / GIB,
        "logits_and_loss": logits_values * 4 / GIB,
        "cuda_context": CUDA_CONTEXT_GIB,
    }
    parts["total"] = sum(parts.values())
    return parts


def measured_memory(name: str) -> dict:
    """What the course measured for this architecture on a GPU (GiB), beside the estimates; {} if nothing.

    Read from the benchmark results: weights per precision (`python -m lib.bench quant`) and the peak of
    training at max length 2,048 under the 6 GiB cap, as PyTorch reserved it and as nvidia-smi shows it.

    >>> measured_memory("qwen2.5-1.5b-instruct")["weights 4-bit"]
    1.065
    >>> measured_memory("qwen2.5-7b-instruct")
    {}
    """
    found = {}
    bench = BENCHMARKS
    for path in sorted(bench.glob(f"quant-{name.split('-instruct')[0]}*-random-*.json")):
        weights = json.loads(path.read_text(encoding="utf-8"))["weights"]
        found.update({"weights 16-bit": weights["bf16"]["weights_gib"], "weights 4-bit": weights["nf4+double_quant"]["weights_gib"]})
    for path in sorted(bench.glob(f"memory-{name.split('-instruct')[0]}*-random-*.json")):
        runs = json.loads(path.read_text(encoding="utf-8"))["backends"]["unsloth"]["train"]
        at_2048 = next((r for r in runs if r.get("max_length") == 2048 and r.get("fits")), None)
        if at_2048:
            found.update({"train reserved": at_2048["peak_reserved_gib"], "train nvidia-smi": at_2048.get("peak_process_gib")})
    return found
