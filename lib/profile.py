"""Hardware profiles: one YAML per machine size, read by one function.

A profile holds the model, quantisation, LoRA, training and inference settings. `base.yaml` has every
key once with its default (laptop-6gb's values); each profile file says `inherits: base` and only the
keys that differ, and `load_profile` merges them (sections key by key, lists and values replace).
Notebooks take the profile's name from the environment variable COURSE_PROFILE (default `auto`, which
picks the first profile that fits this machine) and never branch on it themselves.

>>> load_profile("smoke")["model"]["source"]
'random-tiny'
>>> load_profile("smoke", overrides={"lora.r": 8})["lora"]["r"]
8
"""
from __future__ import annotations

import copy
import importlib.util
import json
import math
import os

import yaml

from .paths import PROFILES

PROFILE_NAMES = ("laptop-6gb", "cpu-embedded", "smoke")   # the concrete profiles (`auto` picks one of them)
REQUIRED_SECTIONS = ("model", "quantization", "lora", "training", "inference", "dataset", "evaluation", "export")
BASE = "base"             # the file every profile builds on: every key once, with its default; not a profile to choose
STAGE_SECTIONS = ("first_sft", "function_calling")   # sections that may carry their own `training` keys (stage_training)


class ProfileError(ValueError):
    """A profile name or file that cannot be used; the message says which and why."""


def available_profiles() -> list[str]:
    """Names of the profiles one can choose, `auto` included (`base` holds the defaults and is not one of them)."""
    return sorted(p.stem for p in PROFILES.glob("*.yaml") if p.stem != BASE)


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


def _merge(base: dict, diff: dict) -> dict:
    """`diff` over `base`: sections merge key by key, lists and single values replace.

    >>> _merge({"lora": {"r": 8, "alpha": 16}, "grid": [8, 16]}, {"lora": {"r": 4}, "grid": [4]})
    {'lora': {'r': 4, 'alpha': 16}, 'grid': [4]}
    """
    merged = copy.deepcopy(base)
    for key, value in diff.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _key_reference(base: dict) -> dict:
    """The keys a profile file may set: base.yaml's, the optional training keys, and each stage's `training`."""
    ref = copy.deepcopy(base)
    for key in OPTIONAL_KEYS:
        section, leaf = key.split(".")
        ref[section].setdefault(leaf, None)
    for section in STAGE_SECTIONS:
        ref[section].setdefault("training", ref["training"])
    return ref


def _check_keys(diff: dict, ref: dict, where, prefix: str = "") -> None:
    """Raise ProfileError naming the file and the key for a key that base.yaml does not have (a typo)."""
    for key, value in diff.items():
        dotted = prefix + str(key)
        if key not in ref:
            raise ProfileError(f"{where}: key '{dotted}' is not in base.yaml (a typo?); a profile may set only "
                               f"the keys base.yaml lists")
        if isinstance(ref[key], dict):
            if not isinstance(value, dict):
                raise ProfileError(f"{where}: '{dotted}' is a section in base.yaml: give its keys, not {value!r}")
            _check_keys(value, ref[key], where, dotted + ".")
        elif isinstance(value, dict) and ref[key] is not None:
            raise ProfileError(f"{where}: '{dotted}' is a single value in base.yaml, not a section")


def _resolve(name: str, chain: tuple = ()) -> dict:
    """Profile `name` as the code sees it: its file merged over the files it inherits, down to base.yaml.

    >>> _resolve("laptop-6gb") == _resolve("base")
    True
    """
    data = _read(name)
    if name == BASE:
        return data
    where = PROFILES / f"{name}.yaml"
    if "name" in data:
        raise ProfileError(f"{where}: key 'name' comes from the file name ('{name}'); remove it")
    parent = data.pop("inherits", None)
    if parent is None:
        raise ProfileError(f"{where}: key 'inherits' is missing: say which profile this one builds on, e.g. 'inherits: base'")
    if not isinstance(parent, str) or parent == "auto" or not (PROFILES / f"{parent}.yaml").exists():
        raise ProfileError(f"{where}: key 'inherits': {parent!r} is not a profile; choose '{BASE}' or one of "
                           f"{[n for n in available_profiles() if n != 'auto']}")
    if parent in chain + (name,):
        raise ProfileError(f"{where}: key 'inherits': '{parent}' makes a cycle ({' → '.join(chain + (name, parent))})")
    _check_keys(data, _key_reference(_read(BASE)), where)
    return _merge(_resolve(parent, chain + (name,)), data)


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
    if name == BASE:
        raise ProfileError(f"'{BASE}' holds the defaults every profile builds on, not a profile to choose; "
                           f"choose one of {available_profiles()}")
    if name != "auto":
        _resolve(name)  # fail early on a typo in the name or in the file
        return name
    has_cuda = cuda_available() if has_cuda is None else has_cuda
    for candidate in _read("auto")["candidates"]:
        if _fits(_resolve(candidate), has_cuda):
            return candidate
    raise ProfileError("no profile fits this machine")


# keys a profile may leave out (the code reads them with a default), with their type
OPTIONAL_KEYS = {"training.max_steps": int, "training.eval_steps": int}


def _lookup(data: dict, key: str):
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return KeyError
        data = data[part]
    return data


def _known_values(key: str) -> list:
    """The values `key` has in the shipped profiles; a section's own `training` mapping takes the training keys."""
    paths = [key] + (["training." + key.split(".training.", 1)[1]] if ".training." in key else [])
    found = (_lookup(_resolve(name), path) for name in available_profiles() if name != "auto" for path in paths)
    return [v for v in found if v is not KeyError]


def _type_name(kind) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(kind, kind.__name__)


def check_override(key: str, value) -> None:
    """Raise ProfileError naming the key when it is unknown or its value has the wrong type.

    The expected type is the one the shipped profiles use for that key; numbers must be finite and keep
    the sign of the shipped values (a learning rate of -4 is a typo, not a setting).

    >>> check_override("training.learning_rate", "fast")
    Traceback (most recent call last):
    ...
    lib.profile.ProfileError: override 'training.learning_rate': expected a number, got 'fast'
    """
    if not isinstance(key, str) or not key:
        raise ProfileError(f"override key {key!r}: expected a dotted key such as 'training.learning_rate'")
    known = _known_values(key)
    kinds = {OPTIONAL_KEYS[key]} if key in OPTIONAL_KEYS else {type(v) for v in known if v is not None}
    if not known and key not in OPTIONAL_KEYS:
        parts = key.split(".")
        for i in range(1, len(parts)):
            if not _known_values(".".join(parts[:i])):
                raise ProfileError(f"override '{key}': '{parts[i - 1]}' is not a section of the profile")
        raise ProfileError(f"override '{key}': no profile has this key (a typo?); lib/profiles/base.yaml lists every key")
    if not kinds or value is None and None in known:
        return   # the shipped value is null: any value (or null again) is allowed
    if float in kinds or (kinds == {int} and isinstance(value, float) and value.is_integer()):
        kinds = kinds | {int, float}
    if type(value) not in kinds:
        expected = " or ".join(sorted({_type_name(float if k is int and float in kinds else k) for k in kinds}))
        raise ProfileError(f"override '{key}': expected {expected}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ProfileError(f"override '{key}': expected a finite number, got {value!r}")
        if value < 0 and all(v >= 0 for v in known if isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise ProfileError(f"override '{key}': expected a number of at least 0, got {value!r}")


def _set_dotted(data: dict, key: str, value) -> None:
    check_override(key, value)
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
    """COURSE_MODEL=embedded | random-tiny | random:<architecture> | <local folder> | <hub id>.

    E.g. COURSE_MODEL=embedded runs laptop-6gb on the embedded model.

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
    profile = {"name": resolved, **_resolve(resolved)}   # the name is the file's name
    missing = [s for s in REQUIRED_SECTIONS if s not in profile]
    if missing:
        raise ProfileError(f"profile '{resolved}' lacks the section(s) {missing}")
    changes = {}
    if os.environ.get("COURSE_MODEL"):
        changes.update(model_override(os.environ["COURSE_MODEL"]))
    if os.environ.get("COURSE_OVERRIDES"):  # e.g. '{"function_calling.grid_train_sizes": [100, 200]}'
        try:
            env = json.loads(os.environ["COURSE_OVERRIDES"])
        except (ValueError, RecursionError) as err:
            raise ProfileError(f"COURSE_OVERRIDES must be a JSON object of dotted keys: {err}") from err
        if not isinstance(env, dict):
            raise ProfileError(f"COURSE_OVERRIDES must be a JSON object of dotted keys such as "
                               f"'{{\"training.learning_rate\": 2e-4}}', got {type(env).__name__}: {os.environ['COURSE_OVERRIDES'][:60]}")
        changes.update(env)
    if overrides is not None and not isinstance(overrides, dict):
        raise ProfileError(f"overrides must be a dict of dotted keys, got {type(overrides).__name__}")
    changes.update(overrides or {})
    for key, value in changes.items():
        _set_dotted(profile, key, value)
    profile["overrides"] = changes
    return profile


def stage_training(profile: dict, stage: str) -> dict:
    """The `training=` settings of one training stage: its epochs (and patience) over the section's own `training` keys.

    Stages: `first_sft` (notebook 03), `grid` (notebook 05, experiments 1–3), `final` (notebook 05, experiment 4).
    The result overrides the profile's `training` section in lib.train.train.

    >>> stage_training(load_profile("smoke"), "final")
    {'num_train_epochs': 2, 'early_stopping_patience': 1, 'gradient_accumulation_steps': 1}
    """
    if stage == "first_sft":
        section = profile["first_sft"]
        return {"num_train_epochs": section["num_train_epochs"], **section.get("training", {})}
    fc = profile["function_calling"]
    if stage == "grid":
        return {"num_train_epochs": fc["grid_epochs"], **fc.get("training", {})}
    if stage == "final":
        final = fc["final"]
        return {"num_train_epochs": final["num_train_epochs"], "early_stopping_patience": final["early_stopping_patience"],
                **fc.get("training", {})}
    raise ProfileError(f"unknown training stage '{stage}': choose first_sft, grid or final")
