"""Every test run writes into a temporary artifacts folder, never into the learner's artifacts/.

Set before anything imports `lib` (lib.paths reads $COURSE_ARTIFACTS once). At the end of the session the
learner's folders are compared with what they held at the start; any change fails the run.
"""
import os
import tempfile
from pathlib import Path

_RUN_ROOT = Path(tempfile.mkdtemp(prefix="course-test-artifacts-"))
os.environ["COURSE_ARTIFACTS"] = str(_RUN_ROOT)

import pytest  # noqa: E402

REPO_ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Shared caches (written only where missing, the same for everyone) and the tests' own smoke data.
NOT_THE_LEARNERS = {"models", "cache", "smoke"}


def learner_files() -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under artifacts/ that belongs to the learner or ships with the course."""
    found = {}
    if REPO_ARTIFACTS.exists():
        for path in REPO_ARTIFACTS.rglob("*"):
            rel = path.relative_to(REPO_ARTIFACTS)
            if path.is_file() and rel.parts[0] not in NOT_THE_LEARNERS and "__pycache__" not in rel.parts:
                stat = path.stat()
                found[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="session", autouse=True)
def learners_artifacts_untouched():
    before = learner_files()
    yield
    after = learner_files()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the tests changed the learner's artifacts/: {changed[:20]}"
