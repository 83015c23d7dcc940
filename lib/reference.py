"""The reference adapter: a GPU-trained LoRA for the embedded SmolLM2, committed so a CPU learner meets a model
that calls tools.

On two CPU cores notebook 05 can only train a small adapter on a few dozen examples (the exercise); that
adapter rarely makes a correct call. The reference adapter is experiment 4 of notebook 05 run on a GPU
(all 2,400 training examples, checkpoint chosen by the tool-call score); artifacts/reference/embedded-course/
holds it with its run.json (command, GPU, date, versions, data hash, scores). Notebooks 06-07 use it on the
CPU profile unless told otherwise, `python -m lib.serve --model reference` serves it, and a test holds its
quality on the natural request set (tests/test_reference_quality.py).

>>> use_reference({"model": {"source": "random-tiny", "name": "x"}, "requires": {}})
False
"""
from __future__ import annotations

from pathlib import Path

from .paths import ADAPTERS, REFERENCE

REFERENCE_ADAPTER = REFERENCE / "embedded-course"
COURSE_ADAPTER = ADAPTERS / "course"


def use_reference(profile: dict, choice: bool | None = None) -> bool:
    """Whether to use the reference adapter: `choice` if given, else yes on a CPU profile of its base model."""
    from .evaluate.inputs import same_base_model

    fits = (REFERENCE_ADAPTER / "adapter_config.json").is_file() and same_base_model(REFERENCE_ADAPTER, profile)
    if choice and not fits:
        raise ValueError(f"the reference adapter was trained on the embedded SmolLM2-135M-Instruct, not on "
                         f"{profile['model']['name']}: use it with the cpu-embedded profile, or set the switch to False")
    return fits and (choice if choice is not None else not profile.get("requires", {}).get("cuda", False))


def adapter_for(profile: dict, choice: bool | None = None) -> Path:
    """The adapter notebooks 06-07 evaluate and export: the reference one or notebook 05's course adapter."""
    return REFERENCE_ADAPTER if use_reference(profile, choice) else COURSE_ADAPTER
