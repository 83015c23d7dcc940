"""Every notebook, executed headless on the smoke profile, exactly as `make course` runs it."""
import pytest

from lib import course


@pytest.mark.notebook
@pytest.mark.parametrize("path", course.list_notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_on_smoke(path, tmp_path):
    result = course.execute_notebook(path, tmp_path, "smoke", timeout=900, html=False)
    assert (tmp_path / path.name).exists() and result["seconds"] > 0
