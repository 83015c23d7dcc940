"""Tables and figures of evaluation results (notebook 06): base vs fine-tuned side by side.

Every figure function takes results of `lib.evaluate.runner.evaluate` keyed by label
(e.g. {"base": ..., "fine-tuned": ...}) and returns a matplotlib Figure; `save_figure` writes PNGs
to artifacts/figures/.

>>> summary_table({"m": {"summary": {"json_validity": 1.0, "turns": 2}}})["m"].to_dict()
{'json_validity': 1.0, 'turns': 2.0}
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..paths import FIGURES
from .metrics import RATE_METRICS, name_pairs
from .runner import TARGETS

TARGET_LINES = {key: value for key, op, value, _ in TARGETS if key in RATE_METRICS}
COUNTS = ("turns", "tool_turns", "no_call_turns", "attempted", "malformed", "predicted_calls", "executed_calls")


def summary_table(results: dict) -> pd.DataFrame:
    """Metrics (rows) × models (columns): the rates, then the counts that explain them."""
    rows = [k for k in RATE_METRICS + ("argument_precision", "argument_recall") + COUNTS
            if any(k in r["summary"] for r in results.values())]
    return pd.DataFrame({label: [r["summary"].get(k) for k in rows] for label, r in results.items()}, index=rows)


def record_score(record: dict) -> float:
    """How well one turn went, 0..1: the mean of its metric flags (malformed or hallucinated counts as 0).

    >>> record_score({"json_valid": None, "name_match": True, "exact_match": False, "no_call_ok": None,
    ...               "predicted_calls": 1, "hallucinated_calls": 0, "execution": [{"status": "ok"}]})
    0.75
    """
    flags = [record[k] for k in ("json_valid", "name_match", "exact_match", "no_call_ok") if record.get(k) is not None]
    if record.get("predicted_calls"):
        flags.append(record["hallucinated_calls"] == 0)
    runs = [e["status"] == "ok" for e in record.get("execution", []) if e["status"] != "not simulated"]
    if runs:
        flags.append(sum(runs) / len(runs))
    return sum(flags) / len(flags) if flags else 0.0


def worst_turns(result: dict, n: int = 10) -> pd.DataFrame:
    """The `n` lowest-scoring turns with the model output, the reference and what went wrong."""
    rows = []
    for r in result["records"]:
        problems = r["errors"] + r["hallucinations"] + [f"{e['name']}: {e['message'][:80]}" for e in r.get("execution", [])
                                                        if e["status"] == "error"]
        rows.append({"example": r["example"], "turn": r["turn"], "category": r["meta"].get("category"),
                     "score": round(record_score(r), 2), "request": r.get("request", "")[:120],
                     "reference": "; ".join(f"{c['name']}({c['arguments']})" for c in r["reference"]) or "(answer, no call)",
                     "output": r["output"][:300], "problems": " | ".join(problems)[:300]})
    frame = pd.DataFrame(rows)
    return frame.sort_values(["score", "example", "turn"]).head(n).reset_index(drop=True) if rows else frame


def confusion_table(result: dict, top: int = 12) -> pd.DataFrame:
    """Counts of (reference tool, predicted tool) over tool-expecting turns; rare names become "(other)".

    "(none)" on the predicted side means a call that did not come (or did not parse).
    """
    pairs = [p for r in result["records"] if r["expects_tools"]
             for p in name_pairs([c["name"] for c in r["reference"]], [c["name"] for c in r["predicted"]])]
    common = {n for n, _ in Counter(ref for ref, _ in pairs).most_common(top)}

    def keep(name):
        return name if name in common or name == "(none)" else "(other)"

    table = pd.crosstab(pd.Series([keep(a) for a, _ in pairs], name="reference"),
                        pd.Series([keep(b) for _, b in pairs], name="predicted")) if pairs else pd.DataFrame()
    return table


def metric_bars(results: dict) -> plt.Figure:
    """Grouped bars per metric for each model, with the seed's targets as red marks."""
    table = summary_table(results).loc[list(RATE_METRICS)].astype(float)
    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / max(1, len(table.columns))
    for i, label in enumerate(table.columns):
        xs = [x + i * width for x in range(len(table))]
        ax.bar(xs, table[label].fillna(0), width, label=label)
        for x, v in zip(xs, table[label]):
            ax.text(x, (0 if pd.isna(v) else v) + 0.02, "n/a" if pd.isna(v) else f"{v:.0%}", ha="center", fontsize=7)
    centre = (len(table.columns) - 1) * width / 2
    for x, key in enumerate(table.index):
        if key in TARGET_LINES:
            ax.hlines(TARGET_LINES[key], x - 0.45 + centre, x + 0.45 + centre, colors="red", linestyles="--")
    ax.plot([], [], "r--", label="target (course plan)")
    ax.set_xticks([x + centre for x in range(len(table))], [k.replace("_", "\n") for k in table.index], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("tool-calling metrics (hallucination: lower is better)")
    fig.tight_layout()
    return fig


BY_GROUP = ("tool_name_accuracy", "parameter_accuracy", "no_call_accuracy")


def breakdown_table(results: dict, key: str = "category", metrics=BY_GROUP) -> pd.DataFrame:
    """Long table: model × value of meta[key] × metric (plus the number of turns)."""
    rows = []
    for label, result in results.items():
        for value, s in result["breakdown"][key].items():
            rows.append({"model": label, key: value, "turns": s["turns"], **{m: s[m] for m in metrics}})
    return pd.DataFrame(rows)


def breakdown_bars(results: dict, key: str = "category", metrics=BY_GROUP) -> plt.Figure:
    """One panel per metric: its value per category (or tier / lang) for each model."""
    table = breakdown_table(results, key, metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        pivot = table.pivot(index=key, columns="model", values=metric).dropna(how="all").astype(float)
        if pivot.empty:
            ax.text(0.5, 0.5, "no turns", ha="center", transform=ax.transAxes)
        else:
            pivot.plot.bar(ax=ax, rot=30, legend=False)
        if metric in TARGET_LINES:
            ax.axhline(TARGET_LINES[metric], color="red", ls="--")
        ax.set_ylim(0, 1.05)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"per {key}", fontsize=10)
    fig.tight_layout()
    return fig


def latency_plot(results: dict) -> plt.Figure:
    """Per-turn latency (box plot) and generated tokens per turn for each model."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    labels = list(results)
    ax1.boxplot([[r["latency_ms"] for r in results[k]["records"]] for k in labels], tick_labels=labels)
    ax1.set_ylabel("ms per turn (amortised over the batch)")
    ax1.set_title("latency")
    for k in labels:
        ax2.hist([r["new_tokens"] for r in results[k]["records"]], bins=20, alpha=0.6, label=k)
    ax2.set_xlabel("new tokens per turn")
    ax2.set_title("output length")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def memory_plot(results: dict, budget_gib: float = 6.0) -> plt.Figure:
    """Peak RSS and (on a GPU) peak VRAM per model, with the 6 GB budget line."""
    keys = [("peak_rss_gib", "peak RSS"), ("peak_vram_gib", "peak VRAM")]
    table = pd.DataFrame({label: {name: r["summary"].get(key) for key, name in keys} for label, r in results.items()})
    table = table.dropna(how="all").astype(float)
    fig, ax = plt.subplots(figsize=(6, 3))
    table.plot.bar(ax=ax, rot=0)
    ax.axhline(budget_gib, color="red", ls="--", label=f"{budget_gib:g} GB budget")
    ax.set_ylabel("GiB")
    ax.set_title("memory during evaluation" + ("" if "peak VRAM" in table.index else " (CPU: no VRAM)"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_plot(result: dict, top: int = 12, title: str = "") -> plt.Figure:
    """Heat map of `confusion_table`: the diagonal is right, "(none)" columns are missing calls."""
    table = confusion_table(result, top)
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * max(3, table.shape[1]), 1.0 + 0.35 * max(3, table.shape[0])))
    if table.empty:
        ax.text(0.5, 0.5, "no tool-expecting turns", ha="center", transform=ax.transAxes)
    else:
        ax.imshow(table.values, cmap="Blues")
        ax.set_xticks(range(table.shape[1]), table.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(table.shape[0]), table.index, fontsize=7)
        for (i, j), v in pd.DataFrame(table.values).stack().items():
            if v:
                ax.text(j, i, int(v), ha="center", va="center", fontsize=7,
                        color="white" if v > table.values.max() / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("reference")
    ax.set_title(title or f"tool names: {result['label']}", fontsize=9)
    fig.tight_layout()
    return fig


def forgetting_plot(delta_rows: list[dict]) -> plt.Figure:
    """Perplexity (left) and the general-answer check shares (right), base vs fine-tuned."""
    table = pd.DataFrame(delta_rows).set_index("measure")[["base", "fine-tuned"]].astype(float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [1, 3]})
    table.loc[["perplexity"]].plot.bar(ax=ax1, rot=0, legend=False)
    ax1.set_title("perplexity (lower is better)", fontsize=9)
    table.drop(index="perplexity").plot.bar(ax=ax2, rot=20)
    ax2.set_ylim(0, 1.05)
    ax2.set_title("general prompts: share of answers passing each check", fontsize=9)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_figure(fig: plt.Figure, name: str, folder: Path = FIGURES) -> Path:
    """Write a figure as PNG (artifacts/figures/<name>.png) and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
