"""Where the course keeps things: one place for every path the notebooks and `lib` use.

>>> ARTIFACTS.name
'artifacts'
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts"
MODELS = ARTIFACTS / "models"
PROFILES = Path(__file__).resolve().parent / "profiles"
