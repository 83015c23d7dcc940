"""Hardware profiles: one YAML per machine size, read by one function.

A profile holds the model, quantisation, LoRA, training and inference settings. Notebooks take its
name from the environment variable COURSE_PROFILE (default `auto`, which picks the first profile
that fits this machine) and never branch on it themselves.

>>> load_profile("smoke")["model"]["source"]
'random-tiny'
>>> load_profile("smoke", overrides={"lora.r": 8})["lora"]["r"]
8
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os

import yaml

from .paths import PROFILES

REQUIRED_SECTIONS = ("model", "quantization", "lora", "lora_fallback", "training", "inference", "dataset",
                     "evaluation", "export")


class ProfileError(ValueError):
    """A profile name or file that cannot be used; the message says which and why."""


def available_profiles() -> list[str]:
    """Names of the shipped profiles, `auto` included."""
    return sorted(p.stem for p in PROFILES.glob("*.yaml"))


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def unsloth_importable() -> bool:
    """True when Unsloth is installed (checked without importing it: the import patches libraries)."""
    return importlib.util.find_spec("unsloth") is not None


def _read(name: str) -> dict:
    path = PROFILES / f"{name}.yaml"
    if not path.exists():
        raise ProfileError(f"unknown profile '{name}'; choose one of {available_profiles()}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    return data


def _fits(profile: dict, has_cuda: bool) -> bool:
    return not profile.get("requires", {}).get("cuda", False) or has_cuda


def resolve_name(name: str | None = None, has_cuda: bool | None = None) -> str:
    """The concrete profile name for `name` (or $COURSE_PROFILE); `auto` becomes the first that fits.

    >>> resolve_name("auto", has_cuda=False)
    'cpu-embedded'
    >>> resolve_name("auto", has_cuda=True)
    'laptop-6gb'
    """
    name = name or os.environ.get("COURSE_PROFILE") or "auto"
    if name != "auto":
        _read(name)  # fail early on a typo
        return name
    has_cuda = cuda_available() if has_cuda is None else has_cuda
    for candidate in _read("auto")["candidates"]:
        if _fits(_read(candidate), has_cuda):
            return candidate
    raise ProfileError("no profile fits this machine")


def _set_dotted(data: dict, key: str, value) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise ProfileError(f"override '{key}': '{part}' is not a section of the profile")
        node = node[part]
    node[leaf] = value


# the names the built-in sources go by (cpu-embedded and smoke use the same ones)
SOURCE_NAMES = {"embedded": "SmolLM2-135M-Instruct", "random-tiny": "tiny-random-llama"}


def model_override(spec: str) -> dict:
    """COURSE_MODEL=embedded | random-tiny | random:<architecture> | <local folder> | <hub id>, e.g. to run laptop-6gb on the embedded model.

    The name changes with the source, so that reports, labels and the base recorded with an adapter
    name the model that was really loaded, not the profile's usual one.
    """
    if spec in SOURCE_NAMES or spec.startswith("random:"):
        return {"model.source": spec, "model.name": SOURCE_NAMES.get(spec, spec)}
    return {"model.source": "hub", "model.name": spec}


def load_profile(name: str | None = None, overrides: dict | None = None, has_cuda: bool | None = None) -> dict:
    """Read a profile (resolving `auto`), apply $COURSE_MODEL, $COURSE_OVERRIDES and dotted-key `overrides`.

    The result is a plain dict; `profile["name"]` is the concrete profile that was chosen.
    """
    resolved = resolve_name(name, has_cuda)
    profile = copy.deepcopy(_read(resolved))
    missing = [s for s in REQUIRED_SECTIONS if s not in profile]
    if missing:
        raise ProfileError(f"profile '{resolved}' lacks the section(s) {missing}")
    changes = {}
    if os.environ.get("COURSE_MODEL"):
        changes.update(model_override(os.environ["COURSE_MODEL"]))
    if os.environ.get("COURSE_OVERRIDES"):  # e.g. '{"function_calling.grid_train_sizes": [100, 200]}'
        try:
            changes.update(json.loads(os.environ["COURSE_OVERRIDES"]))
        except json.JSONDecodeError as err:
            raise ProfileError(f"COURSE_OVERRIDES must be a JSON object of dotted keys: {err}") from err
    changes.update(overrides or {})
    for key, value in changes.items():
        _set_dotted(profile, key, value)
    profile["overrides"] = changes
    return profile
