"""Split examples 80/10/10, stratified by category, without leakage.

Leakage here means the same seed/template (`meta.group`) or the same normalised request in two splits.
Groups are the unit of assignment: within each category the groups are shuffled (seeded) and each goes to
the split that is furthest below its target share.

>>> rows = [{"meta": {"category": "c", "group": f"g{i % 20}"}, "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(200)]
>>> parts = split_examples(rows, seed=1)
>>> [len(parts[k]) for k in ("train", "eval", "test")]
[160, 20, 20]
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict

from .generate import norm_text

SHARES = {"train": 0.8, "eval": 0.1, "test": 0.1}


def _user(example) -> str:
    return next(m["content"] for m in example["messages"] if m["role"] == "user")


def leakage_groups(examples: list[dict]) -> list[list[int]]:
    """Indices of examples that must stay together: same group, or same normalised request (union-find)."""
    parent = list(range(len(examples)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict = {}
    for i, ex in enumerate(examples):
        for key in (("group", ex["meta"]["group"]), ("request", norm_text(_user(ex)))):
            if key in first_by_key:
                parent[find(i)] = find(first_by_key[key])
            else:
                first_by_key[key] = i
    groups = defaultdict(list)
    for i in range(len(examples)):
        groups[find(i)].append(i)
    return list(groups.values())


def split_examples(examples: list[dict], seed: int = 42, shares: dict = SHARES) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    by_category = defaultdict(list)
    for members in leakage_groups(examples):
        by_category[examples[members[0]]["meta"]["category"]].append(members)
    out = {name: [] for name in shares}
    for category in sorted(by_category):
        groups = sorted(by_category[category], key=lambda g: (-len(g), g[0]))
        rng.shuffle(groups)
        total = sum(len(g) for g in groups)
        filled = {name: 0 for name in shares}
        for members in sorted(groups, key=len, reverse=True):
            name = max(shares, key=lambda n: shares[n] * total - filled[n])
            filled[name] += len(members)
            out[name] += [examples[i] for i in members]
    for name in out:
        rng.shuffle(out[name])
    return out


def shares_for(train_ratio: float, eval_ratio: float | None = None) -> dict:
    """Split shares from a train ratio; the rest goes half to eval, half to test unless `eval_ratio` is given.

    >>> shares_for(0.8)
    {'train': 0.8, 'eval': 0.1, 'test': 0.1}
    >>> shares_for(0.7, eval_ratio=0.2)
    {'train': 0.7, 'eval': 0.2, 'test': 0.1}
    """
    if not 0 < train_ratio < 1:
        raise ValueError(f"--train-ratio must be between 0 and 1 (exclusive), got {train_ratio}")
    rest = 1 - train_ratio
    eval_share = rest / 2 if eval_ratio is None else eval_ratio
    if not 0 <= eval_share <= rest + 1e-9:
        raise ValueError(f"--eval-ratio must be between 0 and {rest:g} (1 - train ratio), got {eval_ratio}")
    return {"train": round(train_ratio, 6), "eval": round(eval_share, 6), "test": round(max(rest - eval_share, 0.0), 6)}


def split_rows(rows: list[dict], seed: int = 42, shares: dict = SHARES) -> tuple[dict[str, list[dict]], str]:
    """(splits, note) for any valid rows: `split_examples` on rows with `meta.category` and `meta.group`.

    A row without them (bring-your-own data) is its own group, and its category is whether it calls a tool
    ("tool call" / "no call"): rows with the same request still stay together, and both kinds are spread
    over the splits. The note says how many rows were treated so. The rows come back unchanged.

    >>> rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(10)]
    >>> parts, note = split_rows(rows, seed=0)
    >>> [len(parts[k]) for k in ("train", "eval", "test")], note.split(":")[0]
    ([8, 1, 1], '10 of 10 rows have no meta.category/meta.group')
    """
    proxies, missing = [], 0
    for i, row in enumerate(rows):
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        category, group = meta.get("category"), meta.get("group")
        if not category or not group:
            missing += 1
            calls = any(m.get("tool_calls") for m in row["messages"])
            category = category or ("tool call" if calls else "no call")
            group = group or f"row:{i}"
        proxies.append({"meta": {"category": str(category), "group": str(group)}, "messages": row["messages"], "index": i})
    used = {name: share for name, share in shares.items() if share > 0}   # a 0 share stays empty
    parts = {name: [] for name in shares} | split_examples(proxies, seed=seed, shares=used)
    note = ""
    if missing:
        note = (f"{missing} of {len(rows)} rows have no meta.category/meta.group: each is its own group (rows with the same "
                "request still stay together) and is stratified by whether it calls a tool")
    return {name: [rows[p["index"]] for p in part] for name, part in parts.items()}, note


def split_file(path, out_dir, train_ratio: float = 0.8, seed: int = 42, eval_ratio: float | None = None,
               profile: str = "laptop-6gb", drop_invalid: bool = False, echo=print) -> dict:
    """Validate a JSONL file, split it and write train/eval/test.jsonl + report.json into `out_dir` atomically.

    Invalid lines stop the split (nothing is written, `result["written"]` is False) unless `drop_invalid`,
    which splits only the valid lines. report.json is written the way `lib.data build` writes it, so every
    reader (lib.jsonl.read_jsonl) checks the files' counts and hashes against it.
    """

    from ..jsonl import file_digest, write_splits
    from .build import length_checker
    from .validate import read_lines, validate_rows

    shares = shares_for(train_ratio, eval_ratio)
    tokenizer, max_length, length_note = length_checker(profile)
    echo(length_note)
    lines = read_lines(path)
    report = validate_rows(lines, tokenizer, max_length)
    for line, reasons in sorted(report.problems.items()):
        for reason in reasons:
            echo(f"{path}:{line}: {reason}")
    result = {"source": str(path), "source_file": file_digest(path), "seed": seed, "shares": shares, "profile": profile,
              "length_note": length_note, "validation": report.summary(), "written": False}
    if report.problems and not drop_invalid:
        echo(f"{len(report.problems)} invalid line(s): nothing written (fix them, or split only the valid ones with --drop-invalid)")
        return result
    keep = set(report.valid_lines)
    rows = [row for line, row in lines if line in keep]
    if not rows:
        echo("no valid rows: nothing written")
        return result
    parts, note = split_rows(rows, seed=seed, shares=shares)
    if note:
        echo(f"note: {note}")
    result.update({"written": True, "note": note, "splits": {name: len(part) for name, part in parts.items()},
                   "category": {name: dict(Counter(_category(r) for r in part)) for name, part in parts.items()}})
    write_splits(out_dir, parts, result)
    return result


def _category(row: dict) -> str:
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
    return str(meta.get("category") or ("tool call" if any(m.get("tool_calls") for m in row["messages"]) else "no call"))
