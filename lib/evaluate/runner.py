"""Run a model over a dataset file's turns and score them: predictions, metrics, breakdowns, report.

`evaluate` generates every turn greedily in left-padded batches (prompts sorted by length so a batch
wastes little padding), scores each output (lib.evaluate.metrics), runs the predicted calls in the
GEN NX sandbox, and sums up overall and per category / tier / language. The CLI
(`python -m lib.evaluate`) and notebook 06 both call it.

Which tools each turn offers (`tools`): "row" scores each turn with the tools stored in its dataset row;
"served" gives it what the chat session would send: the course router's tools for the turn's user message.
Either way the prompt is cut to the profile's training length (lib.prompt_budget), as the session cuts
it; a turn that still does not fit is not generated and counts as a miss (`over_budget`).

Latency is per turn, amortised: the wall time of the batch that generated it divided by the batch's
size (with --batch-size 1 it is the plain per-request latency). tokens/s is all new tokens over all
generation time.

>>> format_pct(0.953), format_pct(None)
('95.3 %', 'n/a')
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..inference import generate_batch
from ..memory import track_peak
from .inputs import DatasetFormatError, eval_turns, row_problem
from .metrics import RATE_METRICS, execute_calls, score_turn, summarise

# The plan's targets (docs/plan.md §4-4): (metric, comparison, threshold, label)
TARGETS = [
    ("tool_name_accuracy", ">", 0.95, "Tool Name Accuracy > 95 %"),
    ("parameter_accuracy", ">", 0.90, "Parameter Accuracy > 90 %"),
    ("json_validity", ">=", 1.00, "JSON Validity 100 %"),
    ("hallucination_rate", "<", 0.05, "Hallucination Rate < 5 %"),
    ("peak_vram_gib", "<=", 6.0, "VRAM within 6 GB"),
]
BREAKDOWNS = ("category", "tier", "lang")


def format_pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}".replace("%", " %")


def target_status(summary: dict) -> list[dict]:
    """Each seed target with the measured value and pass / fail (n/a when it could not be measured).

    >>> [t["status"] for t in target_status({"tool_name_accuracy": 0.97, "parameter_accuracy": 0.5})][:2]
    ['pass', 'fail']
    """
    out = []
    for key, op, threshold, label in TARGETS:
        value = summary.get(key)
        if value is None:
            status = "n/a"
        else:
            ok = {">": value > threshold, ">=": value >= threshold, "<": value < threshold, "<=": value <= threshold}[op]
            status = "pass" if ok else "fail"
        out.append({"metric": key, "target": label, "value": value, "status": status})
    return out


def _batches(turns: list[dict], size: int):
    """Index batches of the turns to generate (over-budget turns are not sent), shortest prompts first."""
    order = sorted((i for i, t in enumerate(turns) if not t.get("over_budget")),
                   key=lambda i: len(json.dumps(turns[i]["prompt"], ensure_ascii=False))
                   + len(json.dumps(turns[i]["tools"], ensure_ascii=False)))
    for start in range(0, len(order), size):
        yield order[start:start + size]


def _latency(records: list[dict]) -> dict:
    records = [r for r in records if not r.get("over_budget")]
    ms = np.array([r["latency_ms"] for r in records]) if records else np.array([])
    seconds = sum(r["latency_ms"] for r in records) / 1000
    tokens = sum(r["new_tokens"] for r in records)
    return {"mean_ms": float(ms.mean()) if ms.size else None,
            "p50_ms": float(np.percentile(ms, 50)) if ms.size else None,
            "p95_ms": float(np.percentile(ms, 95)) if ms.size else None,
            "tokens_per_s": tokens / seconds if seconds else None,
            "new_tokens": tokens,
            "stopped_share": sum(r["stopped"] for r in records) / len(records) if records else None}


def breakdown(records: list[dict], key: str) -> dict:
    """Metrics per value of meta[key] (category, tier or lang)."""
    groups: dict[str, list] = {}
    for r in records:
        groups.setdefault(str(r["meta"].get(key)), []).append(r)
    return {value: summarise(group) for value, group in sorted(groups.items())}


def _record(turn: dict, reply: dict, batch_seconds: float, batch_len: int) -> dict:
    """One scored turn: where it is, what the model wrote, the metric flags and the sandbox statuses."""
    scored = score_turn(reply["text"], turn["reference"], turn["tools"])
    scored["execution"] = execute_calls([(c["name"], c["arguments"]) for c in scored["predicted"]],
                                        turn["history"], turn["context"])
    request = next((m.get("content") or "" for m in reversed(turn["prompt"]) if m["role"] == "user"), "")
    return {"example": turn["example"], "turn": turn["turn"], "meta": turn["meta"], "request": request,
            "output": reply["text"], "prompt_tokens": reply["prompt_tokens"], "new_tokens": reply["new_tokens"],
            "stopped": reply["stopped"], "latency_ms": 1000 * batch_seconds / batch_len, "batch_seconds": batch_seconds,
            **scored}


def within_budget(turns: list[dict], count_tokens, max_length: int, reserve: int, served: bool) -> list[dict]:
    """The turns cut to the prompt budget; with `served`, offering the router's tools for the turn's request."""
    from ..gennx.catalogue import load_catalogue
    from ..prompt_budget import fit_prompt
    from ..router import default_router

    router, catalogue, out = default_router(), load_catalogue(), []
    for turn in turns:
        tools = turn["tools"]
        if served:
            user = next((m.get("content") or "" for m in reversed(turn["prompt"]) if m["role"] == "user"), "")
            tools = catalogue.openai_tools(router.offer(user))
        fitted = fit_prompt(turn["prompt"], tools, count_tokens, max_length, reserve)
        out.append({**turn, "prompt": fitted.messages, "tools": fitted.tools, "over_budget": not fitted.fits})
    return out


class _RecordSink:
    """Appends scored records to a JSONL file as they come (nothing when no file is given)."""

    def __init__(self, path):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")

    def add(self, record: dict) -> None:
        if self.path:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def _count_tokens(tokenizer):
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def evaluate(loaded, rows: list[dict], *, batch_size: int = 8, max_new_tokens: int = 128,
             include_summaries: bool = False, label: str = "model", progress: bool = True, tools: str = "row",
             constrained: bool = False, records_file=None) -> dict:
    """Score `loaded` (a LoadedModel) on the dataset rows; see the module docstring.

    Returns {"label", "config", "summary", "targets", "latency", "memory", "breakdown", "records"};
    each record is one turn: example / turn index, category, the raw output, parsed calls, parse errors,
    sandbox statuses and the per-metric flags. With `records_file`, each record is also appended there (JSON
    Lines) as soon as it is scored, so an interrupted run keeps what it generated.
    """
    if tools not in ("row", "served"):
        raise ValueError(f"tools must be 'row' or 'served', not {tools!r}")
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError(f"batch_size and max_new_tokens must be at least 1, got {batch_size} and {max_new_tokens}")
    for index, row in enumerate(rows):   # every row checked before any generation time is spent
        problem = row_problem(row)
        if problem:
            raise DatasetFormatError(f"row {index}: not a dataset row: {problem}")
    sink = _RecordSink(records_file)
    turns = within_budget(eval_turns(rows, include_summaries), _count_tokens(loaded.tokenizer), loaded.max_length,
                          max_new_tokens, served=tools == "served")
    records: list[dict | None] = [None] * len(turns)
    # only an explicit False disables the bar here, so TQDM_DISABLE (set by headless runs) still applies
    bar = tqdm(total=len(turns), desc=f"evaluate {label}", unit="turn", **({} if progress else {"disable": True}))
    with track_peak() as peak:
        for i, turn in enumerate(turns):
            if turn.get("over_budget"):   # never sent: scored as an empty reply
                records[i] = {**_record(turn, {"text": "", "prompt_tokens": None, "new_tokens": 0, "stopped": True}, 0.0, 1),
                              "over_budget": True}
                sink.add(records[i])
                bar.update(1)
        for batch in _batches(turns, batch_size):
            out = generate_batch(loaded.model, loaded.tokenizer, [(turns[i]["prompt"], turns[i]["tools"]) for i in batch],
                                 max_new_tokens=max_new_tokens, constrained=constrained)
            for i, reply in zip(batch, out["replies"]):
                records[i] = _record(turns[i], reply, out["seconds"], len(batch))
                sink.add(records[i])
            bar.update(len(batch))
    bar.close()
    summary = summarise(records)
    summary["over_budget"] = sum(bool(r.get("over_budget")) for r in records)
    memory = dict(peak.result)
    summary["peak_vram_gib"] = memory.get("gpu_peak_allocated_gib")
    summary["peak_rss_gib"] = memory.get("peak_rss_gib")
    return {
        "label": label,
        "config": {"rows": len(rows), "turns": len(turns), "batch_size": batch_size, "max_new_tokens": max_new_tokens,
                   "include_summaries": include_summaries, "tools": tools, "constrained": constrained, "max_length": loaded.max_length,
                   "device": loaded.device, "backend": loaded.backend,
                   "source": loaded.source, "machine": platform.machine(),
                   "when": time.strftime("%Y-%m-%d %H:%M:%S")},
        "summary": summary,
        "targets": target_status(summary),
        "latency": _latency(records),
        "memory": memory,
        "breakdown": {key: breakdown(records, key) for key in BREAKDOWNS},
        "records": records,
    }


def report(result: dict) -> str:
    """The evaluation report as text (one line per metric against its target), targets marked pass / fail."""
    s, lat = result["summary"], result["latency"]
    lines = ["=" * 10 + f" Evaluation Report: {result['label']} " + "=" * 10,
             f"  turns: {s['turns']} ({s['tool_turns']} with tool calls, {s['no_call_turns']} without) "
             f"from {result['config']['rows']} examples"]
    for key in RATE_METRICS:
        lines.append(f"  {key + ':':<22}{format_pct(s[key]):>9}")
    lines.append(f"  {'argument P / R:':<22}{format_pct(s['argument_precision']):>9} / {format_pct(s['argument_recall'])}")
    lines.append(f"  malformed outputs:    {s['malformed']:>6} of {s['attempted']} call attempts "
                 f"({s['predicted_calls']} parsed calls, {s['not_simulated_calls']} not simulated)")
    if lat["mean_ms"] is not None:
        lines.append(f"  Latency (mean / p50 / p95): {lat['mean_ms']:.0f} / {lat['p50_ms']:.0f} / {lat['p95_ms']:.0f} ms per turn"
                     f", {lat['tokens_per_s']:.1f} tokens/s")
    vram = s.get("peak_vram_gib")
    lines.append(f"  Peak memory: RSS {s['peak_rss_gib']:.2f} GiB" +
                 (f", VRAM {vram:.2f} GiB / 6 GiB ({vram / 6:.0%})" if vram is not None else ", VRAM n/a (CPU)"))
    lines.append("  Targets (course plan):")
    for t in result["targets"]:
        shown = "n/a" if t["value"] is None else (f"{t['value']:.2f} GiB" if t["metric"] == "peak_vram_gib" else format_pct(t["value"]))
        lines.append(f"    [{t['status'].upper():>4}] {t['target']:<28} measured {shown}")
    lines.append("=" * 40)
    return "\n".join(lines)


def save(result: dict, path) -> Path:
    """Write a result to JSON (Korean kept readable) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path
