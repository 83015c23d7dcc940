"""Where the course keeps things: one place for every path the notebooks and `lib` use.

What the course writes for the learner (adapters, runs, evaluations, figures, exports, executed notebooks)
lives under ARTIFACTS, which $COURSE_ARTIFACTS moves: the tests point it at a temporary folder, so a
learner's course adapter, GGUF files and results survive `make test`. What ships with the course
(measured results, the reference adapter) and caches that are the same for everyone (converted base
models, llama.cpp's converter) stay in the repository's artifacts/ folder.

>>> REPO_ARTIFACTS.name, ADAPTERS.name
('artifacts', 'adapters')
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
PROFILES = Path(__file__).resolve().parent / "profiles"

REPO_ARTIFACTS = ROOT / "artifacts"
BENCHMARKS = REPO_ARTIFACTS / "benchmarks"        # committed measurements and RESULTS.md
REFERENCE = REPO_ARTIFACTS / "reference"          # committed reference adapter(s)
MODELS = REPO_ARTIFACTS / "models"                # converted/initialised base models (a cache)
CACHE = REPO_ARTIFACTS / "cache"                  # downloaded tools, e.g. llama.cpp's converter

ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or REPO_ARTIFACTS).resolve()
ADAPTERS = ARTIFACTS / "adapters"
RUNS = ARTIFACTS / "runs"
EVAL = ARTIFACTS / "eval"
FIGURES = ARTIFACTS / "figures"
MERGED = ARTIFACTS / "merged"
EXPORT = ARTIFACTS / "export"
EXECUTED = ARTIFACTS / "course"                   # executed notebooks and their HTML, per profile
REVIEW = ARTIFACTS / "review"


def display_path(path) -> str:
    """A path relative to the repository when it lies inside it (records stay machine-independent).

    >>> display_path(ROOT / "artifacts" / "merged")
    'artifacts/merged'
    """
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
