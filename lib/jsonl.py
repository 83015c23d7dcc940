"""Read and write JSON Lines files (one conversation per line) with errors that name the line.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
>>> write_jsonl(path, [{"a": 1}, {"a": 2}])
2
>>> [row["a"] for row in read_jsonl(path)]
[1, 2]
"""
from __future__ import annotations

import json
from pathlib import Path


class JsonlError(ValueError):
    """A line that is not a JSON object; the message gives the file and the line number."""


def read_jsonl(path) -> list[dict]:
    """All rows of a .jsonl file; blank lines are skipped, a bad line raises JsonlError naming it."""
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise JsonlError(f"{path}:{number}: not valid JSON ({err.msg}, column {err.colno})") from err
            if not isinstance(row, dict):
                raise JsonlError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def write_jsonl(path, rows) -> int:
    """Write rows (dicts) as UTF-8 JSON Lines, Korean kept readable; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
