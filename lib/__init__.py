"""The thin shared library of the GEN NX tool-calling course.

Each module has one job; the notebooks import them and carry the narrative.

Unsloth patches transformers, peft and trl when it is imported, so it must come first. On a machine
where the chosen profile runs on Unsloth (CUDA GPU + Unsloth installed), importing `lib` imports it.
"""
import importlib.util as _util
import os as _os


def _import_unsloth_first() -> None:
    if _os.environ.get("COURSE_NO_UNSLOTH") == "1" or _util.find_spec("unsloth") is None:
        return
    import torch

    if not torch.cuda.is_available():
        return
    from .model_backend import BACKENDS        # light: imports neither transformers nor Unsloth
    from .profile import load_profile

    backend = BACKENDS.get(load_profile().get("backend"))
    if backend is not None:
        backend.import_first()                 # Unsloth's backend imports unsloth; the others nothing


_import_unsloth_first()
