"""The learner's artifacts/ folder is theirs: $COURSE_ARTIFACTS moves everything the course writes."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_written_path_follows_course_artifacts(tmp_path):
    code = ("from lib import paths, reference, train; from lib.evaluate import charts; from lib.export import merge, pipeline; "
            "print('\\n'.join(str(p) for p in (paths.ADAPTERS, paths.RUNS, paths.EVAL, paths.EXPORT, paths.EXECUTED, "
            "paths.REVIEW, train.ADAPTERS, train.RUNS, reference.COURSE_ADAPTER, charts.FIGURES, merge.MERGED)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "COURSE_ARTIFACTS": str(tmp_path)}).stdout.split()
    assert len(out) == 11 and all(Path(p).is_relative_to(tmp_path) for p in out), out


def test_this_test_session_writes_outside_the_learners_folder():
    from lib import paths

    assert paths.ARTIFACTS != ROOT / "artifacts" and not paths.ARTIFACTS.is_relative_to(ROOT)
    assert paths.REFERENCE.is_relative_to(ROOT / "artifacts")       # what ships with the course is read from the repo
