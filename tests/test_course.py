import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from lib import course
from lib.paths import NOTEBOOKS


def test_notebooks_are_listed_in_order():
    names = [p.stem for p in course.list_notebooks()]
    assert names[:3] == ["00_environment", "01_inference_basics", "02_tokenizer"]
    assert [p.stem for p in course.list_notebooks(["02", "00_environment"])] == ["00_environment", "02_tokenizer"]


def test_unknown_notebook_is_named():
    with pytest.raises(SystemExit, match="no notebook matches \\['99'\\]"):
        course.list_notebooks(["99"])


def test_failure_names_notebook_cell_and_error(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("import os\nassert x == 2, 'x is not two'")])
    path = tmp_path / "09_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(course.NotebookFailed) as err:
        course.execute_notebook(path, tmp_path / "out", "smoke", timeout=60, html=False)
    message = str(err.value)
    assert "09_broken.ipynb failed at cell 1 (`import os`): AssertionError: x is not two" in message
    executed = nbformat.read(tmp_path / "out" / "09_broken.ipynb", 4)
    assert executed.cells[0].execution_count == 1      # the partial run is kept


def test_profile_reaches_the_kernel(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import os\nprint(os.environ['COURSE_PROFILE'])")])
    nbformat.write(nb, tmp_path / "08_env.ipynb")
    course.execute_notebook(tmp_path / "08_env.ipynb", tmp_path / "out", "smoke", timeout=60, html=True)
    executed = nbformat.read(tmp_path / "out" / "08_env.ipynb", 4)
    assert executed.cells[0].outputs[0]["text"].strip() == "smoke"
    assert (tmp_path / "out" / "08_env.html").exists()


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert not any(c.get("outputs") or c.get("execution_count") for c in code)
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and "COURSE_PROFILE" in "".join(params[0]["source"])


@pytest.mark.parametrize("argv, message", [
    (["run", "--profile", "nope", "--only", "00"], "unknown profile 'nope'"),
    (["run", "--only", ","], "--only ',' names no notebook"),
])
def test_run_arguments_that_select_nothing_are_errors(capsys, argv, message):
    from lib.course import main

    assert main(argv) == 2
    assert message in capsys.readouterr().err
