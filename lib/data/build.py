"""The dataset phase end to end: generate → validate → split → write data/processed/ with a report.

The split is written atomically: into a temporary folder beside the output, then renamed into place, so
an interrupted build leaves the previous dataset whole (never train from one seed and test from another).
report.json records each file's row count and SHA-256, which every reader checks (lib.jsonl).
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from ..jsonl import write_splits
from ..paths import DATA, ROOT
from .generate import Generator
from .split import split_examples
from .validate import validate_rows

PROCESSED = DATA / "processed"


def length_checker(profile_name: str):
    """(tokenizer, max_length, note): the profile's tokenizer, or the embedded one when it is not reachable.

    The embedded SmolLM2 tokenizer needs more tokens than Qwen2.5's for Korean, so a dataset that fits
    under it fits under Qwen's too.
    """
    from ..models import ModelUnavailableError, load_tokenizer
    from ..profile import load_profile

    profile = load_profile(profile_name)
    max_length = profile["model"]["max_seq_length"]
    try:
        if profile["model"]["source"] == "hub":  # only a copy already on disk: never wait for the network here
            from transformers import AutoTokenizer

            from ..chat_format import use_course_template

            tokenizer = AutoTokenizer.from_pretrained(profile["model"]["name"], local_files_only=True)
            use_course_template(tokenizer)
        else:
            tokenizer = load_tokenizer(profile)
        note = f"lengths: {profile['name']} tokenizer, max {max_length} tokens"
    except (ModelUnavailableError, OSError):
        tokenizer = load_tokenizer(load_profile("cpu-embedded"))
        note = (f"lengths: {profile['model']['name']} tokenizer not reachable offline; measured with the embedded "
                f"SmolLM2 tokenizer (more tokens per Korean character: a stricter check), max {max_length} tokens")
    return tokenizer, max_length, note


def build_dataset(total: int = 3000, seed: int = 42, profile: str = "laptop-6gb", out_dir=None, echo=print) -> dict:
    out = Path(out_dir) if out_dir else PROCESSED
    start = time.perf_counter()
    tokenizer, max_length, note = length_checker(profile)
    echo(note)
    with tqdm(total=total, desc="generate", unit="ex") as bar:
        examples = Generator(seed, tokenizer, max_length).build(total, progress=bar.update)
    generated = time.perf_counter()
    report = validate_rows(examples, tokenizer, max_length)
    valid = [examples[i - 1] for i in report.valid_lines]
    for line, reasons in sorted(report.problems.items()):
        echo(f"line {line}: {'; '.join(reasons)}")
    parts = split_examples(valid, seed=seed)
    result = {
        "seed": seed, "total_requested": total, "profile": profile, "length_note": note,
        "seconds": {"generate": round(generated - start, 1), "total": round(time.perf_counter() - start, 1)},
        "validation": report.summary(),
        "splits": {name: len(rows) for name, rows in parts.items()},
        "category": {name: dict(Counter(e["meta"]["category"] for e in rows)) for name, rows in parts.items()},
        "category_share": {c: round(n / len(valid), 4) for c, n in Counter(e["meta"]["category"] for e in valid).items()},
        "tier": dict(Counter(str(e["meta"]["tier"]) for e in valid if e["meta"]["category"] in ("single", "multi"))),
        "lang": dict(Counter(e["meta"]["lang"] for e in valid)),
        "tool_appearances": dict(Counter(name for e in valid for m in e["messages"] for c in m.get("tool_calls") or []
                                         for name in [c["function"]["name"]])),
    }
    write_splits(out, parts, result)
    return result


def ensure_dataset(profile: dict, echo=print) -> Path:
    """The profile's processed data folder; built first, as notebook 04 builds it, when train.jsonl is missing.

    Notebooks 05–07 call this so that each can be re-run on its own.
    """
    settings = profile["dataset"]
    out = ROOT / settings["out"]
    if not (out / "train.jsonl").exists():
        echo(f"{out} has no train.jsonl: building it with the settings notebook 04 uses")
        build_dataset(total=settings["total"], seed=settings["seed"], profile=settings["length_profile"], out_dir=out, echo=echo)
    return out


def print_counts(result: dict) -> None:
    cats = ["single", "multi", "domain_qa", "comparison", "negative"]
    print(f"\n{'split':<7}" + "".join(f"{c:>12}" for c in cats) + f"{'total':>8}")
    for name, counts in result["category"].items():
        print(f"{name:<7}" + "".join(f"{counts.get(c, 0):>12}" for c in cats) + f"{result['splits'][name]:>8}")
    share = result["category_share"]
    print(f"{'share':<7}" + "".join(f"{share.get(c, 0):>12.1%}" for c in cats))
    v = result["validation"]
    print(f"\nvalid {v['valid']}/{v['lines']} ({v['valid_share']:.1%}), tiers {result['tier']}, "
          f"longest {v['longest_tokens']} tokens, {result['seconds']['total']} s")
