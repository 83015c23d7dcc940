"""A non-editable install carries every module and every file the course reads from inside `lib`."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_module_and_package_file(tmp_path):
    # Build from a copy of lib/ and pyproject.toml only: an egg-info left by an editable install would
    # otherwise list the files for setuptools and hide a gap in the package configuration.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "lib", source / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(source).as_posix() for p in (source / "lib").rglob("*") if p.is_file()}
    assert expected <= names, sorted(expected - names)
