"""Inputs of an evaluation: the dataset file, the turns to score in it, and the model to score.

A dataset row is `{"messages": [...], "tools": [...], "meta": {...}}` (meta optional). `read_rows`
checks every line and names the first bad one; `eval_turns` cuts each conversation into the
teacher-forced turns described in lib.evaluate.metrics; `load_for_eval` loads `base`, an adapter folder
or a merged model folder.

>>> row = {"messages": [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "안녕하세요"}]}
>>> [(t["example"], t["turn"], t["reference"]) for t in eval_turns([row])]
[(0, 1, [])]
"""
from __future__ import annotations

import json
from pathlib import Path

from ..data.rows import ROLES, row_problem  # noqa: F401  (re-exported: one row check for all readers)
from ..jsonl import JsonlError, check_against_report, parsed_lines
from .metrics import reference_calls


class DatasetFormatError(ValueError):
    """A file or line that is not in the dataset format; the message names the file and the line."""


class AdapterMismatchError(ValueError):
    """An adapter trained on another profile's base model; the message says which profile to use."""


def read_rows(path, limit: int | None = None) -> list[dict]:
    """The rows of a dataset file (the first `limit`); raises DatasetFormatError naming a bad line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file (build the dataset first: python -m lib.data build)")
    rows = []
    try:
        check_against_report(path)
        for number, row in parsed_lines(path, DatasetFormatError):
            problem = row_problem(row)
            if problem:
                raise DatasetFormatError(f"{path}:{number}: not a dataset row: {problem}")
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    except JsonlError as err:          # a report mismatch or a file that is not UTF-8
        raise DatasetFormatError(str(err)) from err
    if not rows:
        raise DatasetFormatError(f"{path}: no rows")
    return rows


def _lang(row: dict) -> str:
    text = next((m.get("content") or "" for m in row["messages"] if m["role"] == "user"), "")
    return "ko" if any("가" <= ch <= "힣" for ch in text) else "en"


def eval_turns(rows: list[dict], include_summaries: bool = False) -> list[dict]:
    """The assistant turns to score, teacher-forced (see lib.evaluate.metrics for the unit).

    Scored: every assistant turn whose reference has tool calls, and the first assistant turn of a
    conversation that has no tool call at all. Text turns after tool responses (summaries) only with
    `include_summaries`. Each turn keeps the example index, the message index of the turn, the
    prompt (messages before it), the tools offered, the gold calls made before it (`history`) and meta.
    """
    turns = []
    for index, row in enumerate(rows):
        meta = dict(row.get("meta") or {})
        meta.setdefault("category", "unknown")
        meta.setdefault("tier", None)
        meta.setdefault("lang", _lang(row))
        messages = row["messages"]
        any_calls = any(m.get("tool_calls") for m in messages)
        history, first = [], True
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            reference = reference_calls(message)
            if reference or (first and not any_calls) or (include_summaries and any_calls):
                turns.append({"example": index, "turn": i, "prompt": messages[:i], "tools": row.get("tools") or [],
                              "reference": reference, "history": list(history), "meta": meta,
                              "context": meta.get("context") or "empty"})
            history += reference
            first = False
    return turns


def _adapter_profile(folder: Path) -> dict | None:
    """The profile an adapter was trained with (its run.json, written by lib.train), if recorded."""
    try:
        return json.loads((folder / "run.json").read_text(encoding="utf-8"))["profile"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def same_base_model(folder, profile: dict) -> bool:
    """Whether the adapter in `folder` was trained on `profile`'s base model (same source and name).

    Unrecorded adapters are given the benefit of the doubt; a different base fails at load time anyway.
    """
    trained_on = _adapter_profile(Path(folder))
    if not trained_on:
        return (Path(folder) / "adapter_config.json").is_file()
    return all(trained_on["model"].get(k) == profile["model"].get(k) for k in ("source", "name"))


def load_for_eval(profile: dict, model: str = "base"):
    """(LoadedModel, label) for `base`, an adapter folder (adapter_config.json) or a merged model (config.json)."""
    from ..models import load_model
    from ..profile import load_profile
    from ..train import load_adapter

    if model == "base":
        return load_model(profile), f"base ({profile['model']['name']})"
    folder = Path(model)
    if (folder / "adapter_config.json").is_file():
        trained_on = _adapter_profile(folder)
        if not same_base_model(folder, profile):
            raise AdapterMismatchError(
                f"{folder} was trained on profile '{trained_on['name']}' (model {trained_on['model']['name']}), "
                f"not on '{profile['name']}' (model {profile['model']['name']}): evaluate it with --profile "
                f"{trained_on['name']}, or train an adapter for this profile (notebook 05)")
        return load_adapter(profile, folder), f"adapter {folder.name}"
    if (folder / "config.json").is_file():
        merged = load_profile(profile["name"], overrides={**profile.get("overrides", {}),
                                                          "model.source": "hub", "model.name": str(folder)})
        return load_model(merged), f"merged {folder.name}"
    raise FileNotFoundError(f"--model {model}: expected 'base', an adapter folder (with adapter_config.json) "
                            "or a merged model folder (with config.json)")
