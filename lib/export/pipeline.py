"""The export pipeline: merge → check → GGUF → check → Modelfile, with a size/speed table (`run_export`).

The merged model goes to artifacts/merged/<run>/, the GGUF files, the Modelfile and export.json to `out`.
Notebook 07 runs the same steps one by one and uses `summary_rows` / `choose_for_ollama` for its table;
`python -m lib.export` is the command line around `run_export`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..chat_format import CHAT_TEMPLATE
from ..paths import EXPORT
from . import gguf, merge, modelfile

PREFERENCE = ("q4_k_m", "q5_k_m", "q8_0", "f16")   # the Modelfile points at the smallest file that agrees


def choose_for_ollama(checks: list[dict]) -> dict:
    """The GGUF the Modelfile uses: the most preferred type whose tool calls all agree, else the best agreeing.

    >>> choose_for_ollama([{"type": "f16", "same_calls": 2, "prompts": 2}, {"type": "q4_k_m", "same_calls": 1, "prompts": 2}])["type"]
    'f16'
    """
    rank = {t: i for i, t in enumerate(PREFERENCE)}
    agreeing = [c for c in checks if c["same_calls"] == c["prompts"]]
    if agreeing:
        return min(agreeing, key=lambda c: rank.get(c["type"], len(rank)))
    return max(checks, key=lambda c: c["same_calls"])


def format_table(rows: list[dict]) -> str:
    """A plain-text table of the variants (the notebook shows the same rows as a DataFrame).

    >>> print(format_table([{"variant": "f16", "size_mb": 271.0}]))
    variant  size_mb
    f16      271.0
    """
    keys = list(rows[0])
    cells = [[str(k) for k in keys]] + [[str(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(keys))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def summary_rows(check: merge.MergeCheck, gguf_checks: list[dict]) -> list[dict]:
    """One row per variant: size, load time, speed, and agreement with the reference on the fixed prompts."""
    n = len(check.rows)
    rows = [{"variant": "merged (transformers)", "size_mb": round(check.size_mb, 1), "load_s": round(check.load_seconds, 2),
             "tokens_per_s": round(check.tokens_per_s, 1), "same_text": f"{sum(r['same_text'] for r in check.rows)}/{n}",
             "same_calls": f"{sum(r['same_calls'] for r in check.rows)}/{n}", "compared_with": "base + adapter"}]
    for c in gguf_checks:
        rows.append({"variant": f"gguf {c['type']}", "size_mb": c["size_mb"], "load_s": c["load_s"],
                     "tokens_per_s": c["tokens_per_s"], "same_text": f"{c['same_text']}/{c['prompts']}",
                     "same_calls": f"{c['same_calls']}/{c['prompts']}", "compared_with": "merged"})
    return rows


def run_export(adapter, profile=None, types=None, out=None, prompts: int | None = None,
               max_new_tokens: int | None = None, echo=print) -> dict:
    """The whole export; returns what export.json records (rows, checks, files, Modelfile, commands)."""
    from transformers import AutoTokenizer

    start = time.perf_counter()
    info = merge.read_adapter(adapter)
    profile = merge.resolve_profile(info, profile)
    types = gguf.check_types(types or profile["export"]["gguf_types"])     # bad types fail before any work
    name = Path(adapter).resolve().name
    out = Path(out) if out else EXPORT / name
    n_prompts = prompts or profile["export"]["compare_prompts"]
    max_new = max_new_tokens or profile["inference"]["max_new_tokens"]
    fixed = merge.fixed_prompts(profile, n_prompts)

    echo(f"[1/5] merge {merge.display_path(adapter)} into {profile['model']['name']} (16-bit, not 4-bit)")
    merged = merge.merge_adapter(adapter, profile=profile)
    echo(f"      → {merge.display_path(merged.out_dir)} ({merged.record['saved_dtype']}, {merged.record['seconds']} s)")
    echo(f"[2/5] check: merged vs base + adapter on {len(fixed)} prompts (greedy, {max_new} new tokens)")
    check = merge.check_merge(adapter, merged.out_dir, profile, fixed, max_new)
    echo(f"      same tokens {sum(r['same_tokens'] for r in check.rows)}/{len(fixed)}, "
         f"max logit difference {max(r['max_logit_diff'] for r in check.rows):.4f}")
    echo(f"[3/5] GGUF {', '.join(types)} → {merge.display_path(out)}")
    files = gguf.export_gguf(merged.out_dir, out, types, name=name)
    for f in files:
        meta = gguf.read_metadata(f["path"])
        problems = gguf.metadata_problems(meta, CHAT_TEMPLATE)
        if problems:
            raise gguf.ExportError(f"{f['path'].name}: " + "; ".join(problems))
        f["tensor_types"] = meta["tensor_types"]
        echo(f"      {f['path'].name}: {f['size_mb']} MB in {f['seconds']} s, tensors {meta['tensor_types']}")
    echo("[4/5] check: each GGUF with llama.cpp vs the merged model (same prompts, greedy)")
    tokenizer = AutoTokenizer.from_pretrained(merged.out_dir)
    checks = []
    for f in files:
        checks.append({"type": f["type"], **gguf.check_gguf(f["path"], fixed, check.answers, tokenizer, max_new)})
    chosen = choose_for_ollama(checks)
    echo(f"[5/5] Modelfile for {chosen['file']}")
    written = modelfile.write_modelfile(out / chosen["file"], name=f"gennx-{name}")
    rows = summary_rows(check, checks)
    report = {"adapter": merge.display_path(adapter), "profile": profile["name"], "merged": merge.display_path(merged.out_dir),
              "merge_record": merged.record, "merge_check": check.rows,
              "files": [{**f, "path": merge.display_path(f["path"])} for f in files],
              "gguf_checks": checks, "rows": rows, "modelfile": merge.display_path(written["path"]),
              "ollama_commands": written["commands"], "seconds": round(time.perf_counter() - start, 1)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return report
