"""Run the course's notebooks headless, in order, and keep the executed copies.

    python -m lib.course list
    python -m lib.course run [--profile P] [--only 00,01] [--timeout 1800] [--no-html]

Executed notebooks (and HTML) go to artifacts/course/<profile>/. A failing cell stops the run with
the notebook, the cell number, the first line of its source and the error; the partly executed
notebook is still written so the output up to the failure can be read.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from tqdm.auto import tqdm

from .paths import EXECUTED, NOTEBOOKS, ROOT
from .profile import ProfileError, resolve_name


class NotebookFailed(RuntimeError):
    """A notebook cell failed; `str()` names the notebook, the cell and the error."""


def list_notebooks(only: list[str] | None = None) -> list[Path]:
    """The phase notebooks in order (`NN_name.ipynb`); `only` keeps those whose number or name matches."""
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {w.strip() for w in only if w.strip()}
        notebooks = [nb for nb in notebooks if nb.name[:2] in wanted or nb.stem in wanted]
        unknown = wanted - {nb.name[:2] for nb in notebooks} - {nb.stem for nb in notebooks}
        if unknown:
            raise SystemExit(f"no notebook matches {sorted(unknown)}; available: "
                             f"{[nb.stem for nb in sorted(NOTEBOOKS.glob('[0-9][0-9]_*.ipynb'))]}")
    return notebooks


def _failed_cell(nb, error: Exception) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                return f"cell {index} (`{first[:70]}`): {output['ename']}: {output['evalue']}"
    return f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"


def execute_notebook(path: Path, out_dir: Path, profile: str, timeout: int = 1800, html: bool = True) -> dict:
    """Execute one notebook with COURSE_PROFILE=profile; write it (and HTML) to out_dir; raise NotebookFailed."""
    nb = nbformat.read(path, as_version=4)
    os.environ["COURSE_PROFILE"] = profile
    os.environ.setdefault("TQDM_DISABLE", "1")          # no progress-bar noise inside saved notebooks
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    bar = tqdm(total=code_cells, desc=path.stem, unit="cell", leave=True, file=sys.stdout)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            on_cell_executed=lambda **_: bar.update(1))
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as err:
        error = err
    finally:
        bar.close()
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
        if html:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter().from_notebook_node(nb)
            (out_dir / f"{path.stem}.html").write_text(body, encoding="utf-8")
    seconds = time.perf_counter() - start
    if error is not None:
        raise NotebookFailed(f"{path.name} failed at {_failed_cell(nb, error)} "
                             f"(executed copy: {out_dir / path.name})")
    return {"notebook": path.name, "seconds": round(seconds, 1), "output": str(out_dir / path.name)}


def run_course(profile: str | None = None, only: list[str] | None = None, timeout: int = 1800,
               html: bool = True, out_root: Path | None = None) -> list[dict]:
    """Execute the notebooks in order on one profile; stop at the first failure."""
    profile = resolve_name(profile)
    out_dir = (out_root or EXECUTED) / profile
    results = []
    for path in list_notebooks(only):
        results.append(execute_notebook(path, out_dir, profile, timeout, html))
        print(f"  ok  {path.name}  {results[-1]['seconds']} s", flush=True)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.course", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the notebooks in order")
    run = sub.add_parser("run", help="execute notebooks headless")
    run.add_argument("--profile", default=None, help="auto | laptop-6gb | cpu-embedded | smoke (default: $COURSE_PROFILE or auto)")
    run.add_argument("--only", default="", help="comma-separated notebook numbers or names, e.g. 00,01")
    run.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    run.add_argument("--no-html", action="store_true", help="skip the HTML copies")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.command == "list":
        for nb in list_notebooks():
            print(nb.stem)
        return 0
    only = [w.strip() for w in args.only.split(",") if w.strip()] if args.only else None
    try:
        profile = resolve_name(args.profile)
        if args.only and not only:
            raise ValueError(f"--only {args.only!r} names no notebook; give numbers or names such as --only 00,01")
    except (ProfileError, ValueError) as err:
        print(f"course: error: {err}", file=sys.stderr)
        return 2
    print(f"course: profile {profile}, output artifacts/course/{profile}/", flush=True)
    start = time.perf_counter()
    try:
        results = run_course(profile, only, args.timeout, not args.no_html)
    except NotebookFailed as err:
        print(f"course: FAILED: {err}", file=sys.stderr)
        return 1
    print(f"course: {len(results)} notebook(s) ran in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
