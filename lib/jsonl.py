"""Read and write JSON Lines files (one conversation per line) with errors that name the line.

One line reader for the whole course (`jsonl_lines`): lines end at "\\n" only, so a row whose text holds
U+2028, U+2029 or U+0085 stays one row (JSON allows them raw; `str.splitlines` would cut there), and a
UTF-8 byte-order mark at the start is not part of the first row.

A split written by `lib.data build` sits beside a `report.json` that records each file's row count and
SHA-256; `read_jsonl` checks a file against it, so a split that was cut short or mixed with another
build is never used silently.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
>>> write_jsonl(path, [{"a": 1}, {"a": "x\\u2028y"}])
2
>>> [row["a"] for row in read_jsonl(path)]
[1, 'x\\u2028y']
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path

REPORT = "report.json"
REBUILD = "rebuild the dataset: python -m lib.data build (or run notebook 04 again)"


class JsonlError(ValueError):
    """A line that is not a JSON object; the message gives the file and the line number."""


class DatasetMismatchError(JsonlError):
    """A split file that does not match the report.json written with it (count or hash)."""


def jsonl_lines(path) -> list[tuple[int, str]]:
    """(line number, text) for each line of a UTF-8 file, split on "\\n" only, a leading BOM dropped."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise JsonlError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from err
    return [(number, line.rstrip("\r")) for number, line in enumerate(text.split("\n"), start=1)]


def parse_line(line: str):
    """json.loads that reports every failure as JSONDecodeError (too deep, too long an integer included)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as err:   # int-string limit, nesting past the recursion limit
        raise json.JSONDecodeError(f"unreadable value ({type(err).__name__})", line, 0) from None


def file_digest(path) -> dict:
    """{"rows": non-blank lines, "sha256": hex digest of the bytes}: what report.json records per split."""
    data = Path(path).read_bytes()
    rows = sum(1 for line in data.split(b"\n") if line.strip())
    return {"rows": rows, "sha256": hashlib.sha256(data).hexdigest()}


def check_against_report(path) -> None:
    """Raise DatasetMismatchError when `path` is a split listed in its folder's report.json and differs."""
    path = Path(path)
    report = path.parent / REPORT
    if not report.is_file():
        return
    try:
        expected = json.loads(report.read_text(encoding="utf-8")).get("files", {}).get(path.name)
    except (ValueError, AttributeError) as err:
        raise DatasetMismatchError(f"{report}: not a readable report ({err}); {REBUILD}") from err
    if not expected:
        return   # not a file of this build (or a report from before counts were recorded)
    actual = file_digest(path)
    if actual != expected:
        what = (f"{actual['rows']} rows, report.json says {expected['rows']}" if actual["rows"] != expected["rows"]
                else "same row count but different content (hash)")
        raise DatasetMismatchError(f"{path} does not match {report} ({what}): the build was interrupted or the file "
                                   f"was changed afterwards; {REBUILD}")


def parsed_lines(path, error=None, keep_errors: bool = False):
    """(line number, parsed JSON) for each non-blank line; a line that is not JSON raises `error` (a JsonlError
    class by default) naming the file, the line and the column. With `keep_errors` the line's
    json.JSONDecodeError is yielded in place of the value instead, so a validator can report every bad line."""
    error = error or JsonlError
    for number, line in jsonl_lines(path):
        if not line.strip():
            continue
        try:
            yield number, parse_line(line)
        except json.JSONDecodeError as err:
            if keep_errors:
                yield number, err
                continue
            raise error(f"{path}:{number}: not valid JSON ({err.msg}, column {err.colno})") from err


def read_jsonl(path, check: bool = True) -> list[dict]:
    """All rows of a .jsonl file; blank lines are skipped, a bad line raises JsonlError naming it.

    With `check`, a split is first compared with its report.json (see the module docstring).
    """
    path = Path(path)
    if check:
        check_against_report(path)
    rows = []
    for number, row in parsed_lines(path):
        if not isinstance(row, dict):
            raise JsonlError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def write_jsonl(path, rows) -> int:
    """Write rows (dicts) as UTF-8 JSON Lines, Korean kept readable; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_splits(out, parts: dict, report: dict) -> None:
    """Write each split (`parts`: name → rows) and report.json (`report` plus each file's count and hash) into
    a temporary folder beside `out`, then swap it in: readers meet either the old complete folder or the new one,
    and an interrupted write leaves the previous splits whole. Other files already in `out` are kept."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.*"):   # left by an earlier interrupted write
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, rows in parts.items():
            write_jsonl(tmp / f"{name}.jsonl", rows)
        report["files"] = {f"{name}.jsonl": file_digest(tmp / f"{name}.jsonl") for name in parts}
        (tmp / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        if out.exists():
            for extra in out.iterdir():
                if not (tmp / extra.name).exists():
                    (shutil.copytree if extra.is_dir() else shutil.copy2)(extra, tmp / extra.name)
            old = out.with_name(f".{out.name}.old-{time.time_ns()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
