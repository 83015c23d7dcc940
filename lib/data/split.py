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
from collections import defaultdict

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
