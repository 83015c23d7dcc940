"""Benchmark the course's own training and generation per backend: `python -m lib.bench run` (or `make bench`).

What it measures, per backend (Unsloth, and transformers + PEFT + bitsandbytes), each in its own process
because importing Unsloth patches transformers, peft and trl:
- model load time; trained (non-padding) tokens/s, seconds per optimizer step after the first, the first
  step (torch.compile) time, peak allocated/reserved GPU memory, at several max lengths and data sizes,
  through lib.train.train with the laptop-6gb profile's settings (the same loader, template, masking,
  collator and trainer as notebook 05);
- the largest max length that still trains under the memory cap (`--cap-gib 6` emulates a 6 GB card with
  torch.cuda.set_per_process_memory_fraction);
- greedy generation speed (tokens/s and the latency of one tool call) for the 4-bit base, the base with
  LoRA, and the LoRA merged into a 16-bit model.
Timing does not depend on weight values, so `random:qwen2.5-1.5b-instruct` (the exact architecture,
random weights) stands in for Qwen2.5-1.5B-Instruct where the hub cannot be reached.

Examples are packed to a target length: consecutive course conversations are joined into one chat until
the next would not fit, so every row is close to the length being measured and still masked correctly.

>>> rtx3060_estimate(1000.0, "NVIDIA H100 80GB HBM3")["tokens_per_s_range"]
[22.2, 100.3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from .paths import BENCHMARKS, ROOT

# Published peak numbers (vendor data sheets): dense bf16 tensor TFLOPS and memory bandwidth in GB/s.
# The laptop RTX 3060 (6 GB) runs at 60-115 W; its figures are for the mid clock (~1.4 GHz).
GPU_SPECS = {"H100": (989.0, 3350.0), "H200": (989.0, 4800.0), "A100": (312.0, 2039.0),
             "RTX 3060 Laptop": (22.0, 336.0)}


def pack_rows(rows: list[dict], tokenizer, length: int) -> list[dict]:
    """Join consecutive conversations into chats of close to `length` tokens (one system prompt each)."""
    from .masking import assistant_labels

    def size(row):
        return len(assistant_labels(tokenizer, row["messages"], row.get("tools"))["input_ids"])

    packed, current = [], None
    for row in rows:
        turns = [m for m in row["messages"] if m["role"] != "system"]
        candidate = ({"messages": current["messages"] + turns, "tools": current["tools"]} if current
                     else {"messages": list(row["messages"]), "tools": row.get("tools")})
        if size(candidate) <= length:
            current = candidate
            continue
        if current:
            packed.append(current)
        current = {"messages": list(row["messages"]), "tools": row.get("tools")}
        if size(current) > length:
            current = None
    return packed + ([current] if current else [])


def step_timer():
    """A TrainerCallback that records the wall time of every optimizer step (in `.seconds`)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            _sync()
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            _sync()
            self.seconds.append(time.perf_counter() - self._start)

    return StepTimer()


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _gpu_peak() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {}
    from .memory import context_gib

    peak = {"peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3),
            "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3)}
    context = context_gib()
    if context is not None:   # what nvidia-smi would have shown at the peak: reserved + the CUDA context
        peak.update(context_gib=round(context, 3), peak_process_gib=round(peak["peak_reserved_gib"] + context, 3))
    return peak


def _reset_gpu_peak():
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def train_once(loaded, profile, rows, eval_rows, run, steps=None, accumulation=None) -> dict:
    """One measured training run; `steps=None` trains one epoch over `rows`."""
    from . import train

    timer = step_timer()
    overrides = {"num_train_epochs": 1, "early_stopping_patience": 1000}
    if steps:
        overrides["max_steps"] = steps
    if accumulation:
        overrides["gradient_accumulation_steps"] = accumulation
    _reset_gpu_peak()
    result = train.train(loaded, profile, rows, eval_rows, run, training=overrides,
                         max_length=profile["model"]["max_seq_length"], callbacks=[timer])
    accumulation = accumulation or profile["training"]["gradient_accumulation_steps"]
    lengths = [len(r) for r in train.tokenize(rows, loaded.tokenizer, profile["model"]["max_seq_length"])[0]["input_ids"]]
    tokens_per_step = statistics.mean(lengths) * accumulation * profile["training"]["per_device_train_batch_size"]
    steady = timer.seconds[1:] or timer.seconds
    s_per_step = statistics.median(steady)
    return {"examples": len(rows), "mean_tokens": round(statistics.mean(lengths)), "steps": result.global_step,
            "first_step_s": round(timer.seconds[0], 2), "s_per_step": round(s_per_step, 3),
            "tokens_per_s": round(tokens_per_step / s_per_step, 1), "train_seconds": result.seconds,
            "eval_loss_first": result.first_eval_loss, **_gpu_peak()}


def generation_speed(loaded, prompts: list[dict], new_tokens: int) -> dict:
    """Greedy generation of exactly `new_tokens` tokens per prompt: tokens/s and seconds per reply."""
    import torch

    from .chat_format import encode

    seconds = []
    for i, row in enumerate(prompts):
        ids = torch.tensor([encode(loaded.tokenizer, row["messages"], row.get("tools"), add_generation_prompt=True)["input_ids"]],
                           device=loaded.model.device)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        _sync()
        start = time.perf_counter()
        with torch.inference_mode():
            loaded.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                  pad_token_id=loaded.tokenizer.pad_token_id)
        _sync()
        if i:                               # the first call warms up kernels and caches
            seconds.append(time.perf_counter() - start)
    per_reply = statistics.median(seconds)
    return {"new_tokens": new_tokens, "tokens_per_s": round(new_tokens / per_reply, 1),
            "tool_call_latency_ms": round(per_reply * 1000), **_gpu_peak()}


def _tool_call_tokens(rows, tokenizer) -> int:
    """Median length in tokens of the reference tool-call turns: what one call costs to generate."""
    from .chat_format import render

    sizes = []
    for row in rows[:200]:
        for m in row["messages"]:
            if m.get("tool_calls"):
                full = render([{"role": "user", "content": "x"}, m])
                sizes.append(len(tokenizer(full)["input_ids"]) - len(tokenizer(render([{"role": "user", "content": "x"}]))["input_ids"]))
    return int(statistics.median(sizes))


# ---------------------------------------------------------------- quantisation options (memory of the weights)

QUANT_OPTIONS = {            # name → BitsAndBytesConfig arguments (None: unquantised, the compute dtype)
    "bf16": None,
    "int8": {"load_in_8bit": True},
    "nf4": {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": False},
    "nf4+double_quant": {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True},
    "fp4+double_quant": {"load_in_4bit": True, "bnb_4bit_quant_type": "fp4", "bnb_4bit_use_double_quant": True},
}


def quant_memory(model: str, profile_name: str = "laptop-6gb") -> dict:
    """GPU memory of the loaded weights under each bitsandbytes option (transformers + bitsandbytes).

    Measured as allocated memory after loading, minus before, so it is the weights alone (no activations).
    Unsloth always loads NF4 with double quantisation; this is where the other options can be compared.
    """
    import gc

    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from .models import resolve_model_source
    from .profile import load_profile, model_override

    source = resolve_model_source(load_profile(profile_name, overrides=model_override(model)))
    rows = {}
    for name, options in QUANT_OPTIONS.items():
        gc.collect()
        torch.cuda.empty_cache()
        before = torch.cuda.memory_allocated()
        kwargs = {"dtype": torch.bfloat16, "device_map": {"": 0}}
        if options:
            kwargs["quantization_config"] = BitsAndBytesConfig(**options, bnb_4bit_compute_dtype=torch.bfloat16)
        start = time.perf_counter()
        m = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        rows[name] = {"weights_gib": round((torch.cuda.memory_allocated() - before) / 2**30, 3),
                      "load_seconds": round(time.perf_counter() - start, 1)}
        print(f"[quant] {name}: {rows[name]}", flush=True)
        del m
    base = rows["bf16"]["weights_gib"]
    for row in rows.values():
        row["share_of_bf16"] = round(row["weights_gib"] / base, 3)
    return {"model": model, "source": source, "environment": environment(), "options": QUANT_OPTIONS, "weights": rows}


# ---------------------------------------------------------------- worker (one backend, one process)

def worker(cfg: dict, out_path: Path) -> dict:
    """Measure one backend; the JSON at `out_path` is rewritten after every measurement, so a run cut
    short (time limit, out of memory) still leaves what it measured."""
    from .model_backend import named

    backend = cfg["backend"]
    named(backend).import_first()                # Unsloth first, before transformers/peft/trl
    import torch

    from . import memory, models, train
    from .data import build
    from .jsonl import read_jsonl
    from .profile import load_profile, model_override

    memory.cap_gpu_memory(cfg.get("cap_gib") or 0)
    longest = max(cfg["lengths"] + cfg["probe"])
    profile = load_profile(cfg["profile"], overrides={"backend": backend, **model_override(cfg["model"]),
                                                      "model.max_seq_length": longest})
    data_dir = Path(cfg.get("data_dir") or ROOT / profile["dataset"]["out"])
    if not (data_dir / "train.jsonl").exists():
        build.build_dataset(total=profile["dataset"]["total"], seed=profile["dataset"]["seed"],
                            profile=profile["dataset"]["length_profile"], out_dir=data_dir, echo=print)
    train_rows, test_rows = read_jsonl(data_dir / "train.jsonl"), read_jsonl(data_dir / "test.jsonl")
    out = {"backend": backend, "train": [], "scaling": [], "probe": [], "generation": {}}

    def save():
        out_path.write_text(json.dumps(out, indent=1), encoding="utf-8")

    base = models.load_model(profile)                       # inference mode, the profile's quantisation
    out["load_seconds"] = round(base.load_seconds, 2)
    out["actual_backend"], out["parameters"] = base.backend, base.parameters
    call_tokens = _tool_call_tokens(train_rows, base.tokenizer)
    prompts = [{"messages": [m for m in r["messages"] if m["role"] in ("system", "user")][:2], "tools": r["tools"]}
               for r in test_rows[:4]]
    out["generation"]["base_4bit"] = generation_speed(base, prompts, call_tokens)
    save()
    models.free(base)

    loaded = models.load_model(profile, for_training=True)
    with_lora = None
    for length in cfg["lengths"]:
        profile["model"]["max_seq_length"] = length
        rows = pack_rows(train_rows[: cfg["pool"]], loaded.tokenizer, length)
        need = cfg["steps"] * profile["training"]["gradient_accumulation_steps"]
        rows = (rows * (need // max(len(rows), 1) + 1))[:need]
        print(f"[bench] {backend}: max length {length}, {len(rows)} packed rows", flush=True)
        try:
            timed = train_once(loaded, profile, rows, rows[:2], f"bench-{backend}-L{length}", steps=cfg["steps"])
        except (train.TrainingOOM, torch.cuda.OutOfMemoryError) as err:
            out["train"].append({"max_length": length, "fits": False, "error": str(err).splitlines()[0][:200]})
            save()
            break
        out["train"].append({"max_length": length, "fits": True, **timed})
        with_lora = f"bench-{backend}-L{length}"
        save()
    profile["model"]["max_seq_length"] = cfg["scaling_length"]
    fitting_rows = [r for r in train_rows[: cfg["pool"]] if len(pack_rows([r], loaded.tokenizer, cfg["scaling_length"])) == 1]
    for size in cfg["sizes"]:
        rows = fitting_rows[:size]
        print(f"[bench] {backend}: {size} examples, one epoch", flush=True)
        timed = train_once(loaded, profile, rows, rows[:2], f"bench-{backend}-n{size}")
        out["scaling"].append({"max_length": cfg["scaling_length"], **timed})
        save()

    train.ready_for_inference(loaded)
    out["generation"]["with_lora"] = generation_speed(loaded, prompts, call_tokens)
    save()
    models.free(loaded)

    merged = None
    try:          # 16-bit weights of a 3B model (5.7 GiB) do not fit a 6 GiB card: recorded, and the probe still runs
        merged = models.load_model(profile, load_in_4bit=False)
        from peft import PeftModel

        merged.model = PeftModel.from_pretrained(merged.model, str(train.ADAPTERS / with_lora)).merge_and_unload()
        out["generation"]["merged_16bit"] = generation_speed(merged, prompts, call_tokens)
    except torch.cuda.OutOfMemoryError as err:
        out["generation"]["merged_16bit"] = {"fits": False, "error": str(err).splitlines()[0][:200]}
    save()
    models.free(merged)

    profile["model"]["max_seq_length"] = longest          # the probe's model must accept the longest rows
    loaded = models.load_model(profile, for_training=True)
    for length in cfg["probe"]:
        profile["model"]["max_seq_length"] = length
        rows = pack_rows(train_rows[: cfg["pool"] * 4], loaded.tokenizer, length)[:2]
        try:
            run = train_once(loaded, profile, rows, rows[:1], f"bench-{backend}-probe{length}", steps=2, accumulation=1)
            out["probe"].append({"max_length": length, "fits": True, "mean_tokens": run["mean_tokens"], **_gpu_peak()})
        except (train.TrainingOOM, torch.cuda.OutOfMemoryError) as err:
            out["probe"].append({"max_length": length, "fits": False, "error": str(err).splitlines()[0][:200]})
            break
        print(f"[bench] {backend}: max length {length} fits", flush=True)
        save()
    fitting = [p["max_length"] for p in out["probe"] + out["train"] if p.get("fits")]
    out["largest_fitting_length"] = max(fitting) if fitting else None
    save()
    return out


# ---------------------------------------------------------------- the run: workers + environment + chart

def environment() -> dict:
    import importlib.metadata as md

    import torch

    env = {"date": date.today().isoformat(), "python": platform.python_version(), "machine": platform.machine(),
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
           "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if torch.cuda.is_available() else None}
    for package in ("torch", "transformers", "trl", "peft", "bitsandbytes", "unsloth", "unsloth_zoo"):
        try:
            env[package] = md.version(package)
        except md.PackageNotFoundError:
            env[package] = None
    return env


def rtx3060_estimate(tokens_per_s: float, gpu_name: str) -> dict:
    """Scale a measured tokens/s to a laptop RTX 3060 by published compute and bandwidth (an estimate).

    Small-batch LoRA training sits between compute-bound and memory-bound, so the two ratios bound it.
    """
    key = next((k for k in GPU_SPECS if k.lower() in (gpu_name or "").lower()), None)
    if key is None:
        return {"note": f"no published figures for '{gpu_name}'"}
    flops, bandwidth = GPU_SPECS[key]
    low_flops, low_bw = GPU_SPECS["RTX 3060 Laptop"]
    rng = sorted([round(tokens_per_s * low_flops / flops, 1), round(tokens_per_s * low_bw / bandwidth, 1)])
    return {"measured_on": key, "tokens_per_s_range": rng,
            "basis": f"bf16 tensor TFLOPS {low_flops}/{flops} and bandwidth {low_bw}/{bandwidth} GB/s (vendor data sheets)"}


def run(cfg: dict, out_path: Path, append: bool = False) -> dict:
    """Start one worker process per backend, then merge their results with the environment.

    With `append`, backends already in the report at `out_path` (same config) are kept.
    """
    results, started, commands = {}, time.perf_counter(), []
    if append and out_path.exists():
        old = json.loads(out_path.read_text())
        same = {k: v for k, v in old["config"].items() if k != "backends"} == {k: v for k, v in cfg.items() if k != "backends"}
        if not same:
            raise SystemExit(f"{out_path} was measured with another configuration: {old['config']}")
        results, commands = old["backends"], old.get("commands", [])
        cfg = {**cfg, "backends": list(dict.fromkeys(old["config"]["backends"] + cfg["backends"]))}
    for backend in cfg["backends"]:
        if backend in results:
            continue
        part = out_path.with_suffix(f".{backend}.json")
        cmd = [sys.executable, "-m", "lib.bench", "worker", "--config", json.dumps({**cfg, "backend": backend}), "--out", str(part)]
        env = {**os.environ, "COURSE_NO_UNSLOTH": "0" if backend == "unsloth" else "1"}
        part.unlink(missing_ok=True)
        code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        results[backend] = json.loads(part.read_text()) if part.exists() else {}
        if code:
            results[backend]["error"] = f"the worker stopped with exit code {code}: the results above are partial"
    commands.append({"command": "python -m lib.bench " + " ".join(sys.argv[1:]),
                     "wall_seconds": round(time.perf_counter() - started)})
    report = {"commands": commands, "config": cfg, "environment": environment(), "backends": results}
    report["summary"] = summarise(report)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return report


def summarise(report: dict) -> list[dict]:
    """Per max length: tokens/s and peak reserved memory per backend, and the Unsloth ÷ plain ratio."""
    backends = report["backends"]
    rows = []
    for length in report["config"]["lengths"]:
        row = {"max_length": length}
        for name, res in backends.items():
            hit = next((t for t in res.get("train", []) if t["max_length"] == length and t.get("fits")), None)
            if hit:
                row[f"{name}_tokens_per_s"] = hit["tokens_per_s"]
                row[f"{name}_peak_reserved_gib"] = hit.get("peak_reserved_gib")
        if row.get("unsloth_tokens_per_s") and row.get("hf-bnb_tokens_per_s"):
            row["unsloth_speedup"] = round(row["unsloth_tokens_per_s"] / row["hf-bnb_tokens_per_s"], 2)
        if row.get("unsloth_tokens_per_s"):
            row["rtx3060_laptop_estimate"] = rtx3060_estimate(row["unsloth_tokens_per_s"], report["environment"]["gpu"])
        rows.append(row)
    return rows


def chart(report: dict, path: Path) -> Path:
    """Two panels: trained tokens/s and peak reserved memory per max length and backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    lengths = report["config"]["lengths"]
    names = [n for n, r in report["backends"].items() if r.get("train")]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        train_rows = {t["max_length"]: t for t in report["backends"][name]["train"]}
        xs = [j + i * width for j in range(len(lengths))]
        axes[0].bar(xs, [train_rows.get(L, {}).get("tokens_per_s", 0) for L in lengths], width, label=name)
        axes[1].bar(xs, [train_rows.get(L, {}).get("peak_reserved_gib", 0) for L in lengths], width, label=name)
    cap = report["config"].get("cap_gib")
    if cap:
        axes[1].axhline(cap, color="red", ls="--", label=f"cap {cap} GiB")
    for ax, title in zip(axes, ("trained tokens/s", "peak reserved GPU memory (GiB)")):
        ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(lengths))], [str(L) for L in lengths])
        ax.set_xlabel("max length (tokens)")
        ax.set_title(title)
        ax.legend()
    env = report["environment"]
    cap = f", cap {report['config']['cap_gib']} GiB" if report["config"].get("cap_gib") else ""
    fig.suptitle(f"{report['config']['model']} on {env['gpu']}{cap}, {env['date']}: python -m lib.bench run "
                 f"--lengths {','.join(map(str, lengths))} --steps {report['config']['steps']}", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="measure every backend, write JSON and a chart")
    r.add_argument("--backends", default="unsloth,hf-bnb")
    r.add_argument("--model", default="random:qwen2.5-1.5b-instruct", help="embedded | random:<architecture> | folder | hub id")
    r.add_argument("--profile", default="laptop-6gb")
    r.add_argument("--lengths", default="1024,2048,4096",
                   help="max lengths to time (packed rows; a course example with its tools is ~700-2,000 tokens)")
    r.add_argument("--sizes", default="16,48", help="data sizes (examples, one epoch) for the scaling table")
    r.add_argument("--scaling-length", type=int, default=2048)
    r.add_argument("--append", action="store_true", help="add these backends to an existing report (one call per backend)")
    r.add_argument("--steps", type=int, default=3, help="optimizer steps per timed length")
    r.add_argument("--probe", default="8192,16384,32768", help="max lengths tried, ascending, until one does not fit")
    r.add_argument("--pool", type=int, default=400, help="course examples used to pack rows")
    r.add_argument("--cap-gib", type=float, default=6.0, help="emulate a card with this much memory (0: no cap)")
    r.add_argument("--out", default=None)
    q = sub.add_parser("quant", help="GPU memory of the weights per bitsandbytes option (bf16, int8, NF4 ± double quant, FP4)")
    q.add_argument("--model", default="random:qwen2.5-1.5b-instruct")
    q.add_argument("--out", default=None)
    w = sub.add_parser("worker", help=argparse.SUPPRESS)
    w.add_argument("--config", required=True)
    w.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "worker":
        worker(json.loads(args.config), Path(args.out))
        return 0
    import torch

    if not torch.cuda.is_available():
        parser.error("the benchmark measures GPU training: no CUDA GPU is visible (torch.cuda.is_available() is False)")
    if args.command == "quant":
        report = quant_memory(args.model)
        name = args.model.replace(":", "-").replace("/", "-")
        out = Path(args.out) if args.out else BENCHMARKS / f"quant-{name}.json"
        out.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"wrote {out}")
        return 0
    ints = lambda text: [int(x) for x in text.split(",") if x]  # noqa: E731
    cfg = {"backends": args.backends.split(","), "model": args.model, "profile": args.profile, "lengths": ints(args.lengths),
           "sizes": ints(args.sizes), "scaling_length": args.scaling_length, "steps": args.steps, "probe": ints(args.probe),
           "pool": args.pool, "cap_gib": args.cap_gib or None}
    name = args.model.replace(":", "-").replace("/", "-")
    out = Path(args.out) if args.out else BENCHMARKS / f"train-{name}-{date.today().isoformat()}.json"
    report = run(cfg, out, args.append)
    chart(report, out.with_suffix(".png"))
    print_summary(report)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


def print_summary(report: dict) -> None:
    for row in report["summary"]:
        print(json.dumps(row))


if __name__ == "__main__":
    sys.exit(main())
