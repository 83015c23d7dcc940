import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lib import profile
from lib.profile import ProfileError


@pytest.mark.parametrize("name", ["laptop-6gb", "cpu-embedded", "smoke"])
def test_every_profile_has_every_section(name):
    p = profile.load_profile(name)
    assert p["name"] == name
    for section in profile.REQUIRED_SECTIONS:
        assert isinstance(p[section], dict), section
    assert p["lora"]["alpha"] == 2 * p["lora"]["r"]          # the seed's alpha = 2r rule


def test_laptop_profile_follows_the_seed_plan():
    p = profile.load_profile("laptop-6gb")
    assert p["model"]["name"] == "Qwen/Qwen2.5-1.5B-Instruct" and p["backend"] == "unsloth"
    assert p["quantization"]["bnb_4bit_quant_type"] == "nf4" and p["quantization"]["load_in_4bit"]
    t = p["training"]
    assert (t["per_device_train_batch_size"], t["gradient_accumulation_steps"], t["learning_rate"], t["optim"]) == (1, 8, 2e-4, "paged_adamw_8bit")


@pytest.mark.parametrize("has_cuda, expected", [(True, "laptop-6gb"), (False, "cpu-embedded")])
def test_auto_picks_the_first_profile_that_fits(has_cuda, expected):
    assert profile.load_profile("auto", has_cuda=has_cuda)["name"] == expected


def test_environment_variable_chooses_the_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert profile.load_profile()["name"] == "smoke"


def test_unknown_profile_names_the_choices():
    with pytest.raises(ProfileError, match=r"unknown profile 'laptop'.*cpu-embedded"):
        profile.load_profile("laptop")


def test_overrides_and_course_model(monkeypatch):
    monkeypatch.setenv("COURSE_MODEL", "embedded")
    p = profile.load_profile("laptop-6gb", overrides={"lora.r": 16})
    assert p["model"]["source"] == "embedded" and p["lora"]["r"] == 16
    assert p["model"]["name"] == profile.load_profile("cpu-embedded")["model"]["name"]   # labels say what ran
    monkeypatch.setenv("COURSE_MODEL", "random:qwen2.5-1.5b-instruct")
    assert profile.load_profile("laptop-6gb")["model"]["name"] == "random:qwen2.5-1.5b-instruct"
    monkeypatch.setenv("COURSE_MODEL", "/models/qwen")
    p = profile.load_profile("smoke")
    assert (p["model"]["source"], p["model"]["name"]) == ("hub", "/models/qwen")


def test_override_of_a_missing_section_is_an_error():
    with pytest.raises(ProfileError, match="'nonsense' is not a section"):
        profile.load_profile("smoke", overrides={"nonsense.r": 1})


def test_broken_yaml_is_reported_with_its_path(tmp_path, monkeypatch):
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    monkeypatch.setattr(profile, "PROFILES", tmp_path)
    with pytest.raises(ProfileError, match=r"bad.yaml: not valid YAML"):
        profile.load_profile("bad")


def test_experiment_4_early_stopping_can_fire_in_every_profile():
    """Patience must be smaller than the epochs, or early stopping is a promise the trainer never keeps."""
    from lib.profile import PROFILE_NAMES, load_profile

    for name in PROFILE_NAMES:
        final = load_profile(name, has_cuda=True)["function_calling"]["final"]
        assert final["early_stopping_patience"] < final["num_train_epochs"], name



@pytest.mark.parametrize("name", ["laptop-6gb", "cpu-embedded", "smoke"])
def test_stage_training_gives_each_stage_its_epochs_over_the_section_keys(name):
    p = profile.load_profile(name, has_cuda=name == "laptop-6gb")
    fc = p["function_calling"]
    assert profile.stage_training(p, "first_sft")["num_train_epochs"] == p["first_sft"]["num_train_epochs"]
    assert profile.stage_training(p, "grid")["num_train_epochs"] == fc["grid_epochs"]
    final = profile.stage_training(p, "final")
    assert (final["num_train_epochs"], final["early_stopping_patience"]) == (fc["final"]["num_train_epochs"], fc["final"]["early_stopping_patience"])
    assert all(final[k] == v for k, v in fc.get("training", {}).items())
    with pytest.raises(profile.ProfileError, match="unknown training stage 'nope'"):
        profile.stage_training(p, "nope")


# ---------------------------------------------------------------- base.yaml + differences

FIXTURE = Path(__file__).parent / "fixtures" / "resolved_profiles.json"   # load_profile(name) before the base layout
REMOVED = [("lora_fallback",), ("inference", "do_sample")]              # keys no code read, removed on purpose
CHANGED = {  # values changed on purpose since: cpu-embedded's notebook 05 did not fit the 30-minute cell limit on 2 cores
    ("cpu-embedded", "function_calling", "grid_train_sizes"): [8, 16],
    ("cpu-embedded", "function_calling", "eval_examples"): 8,
    ("cpu-embedded", "function_calling", "final", "train_examples"): 16,
}


@pytest.mark.parametrize("name", ["laptop-6gb", "cpu-embedded", "smoke"])
def test_resolved_profiles_are_what_they_were_before_the_base_layout(name, monkeypatch):
    for var in ("COURSE_MODEL", "COURSE_OVERRIDES"):
        monkeypatch.delenv(var, raising=False)
    before = json.loads(FIXTURE.read_text(encoding="utf-8"))[name]
    for *parents, leaf in REMOVED:
        node = before
        for part in parents:
            node = node[part]
        del node[leaf]
    for (owner, *parents, leaf), value in CHANGED.items():
        if owner != name:
            continue
        node = before
        for part in parents:
            node = node[part]
        node[leaf] = value
    # JSON text, not ==: 1 == 1.0 == True in Python, but a changed type is a changed value
    assert json.dumps(profile.load_profile(name, has_cuda=True), sort_keys=True) == json.dumps(before, sort_keys=True)
    assert profile.load_profile("auto", has_cuda=name == "laptop-6gb")["name"] == ("laptop-6gb" if name == "laptop-6gb" else "cpu-embedded")


def _leaves(data: dict, prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


@pytest.mark.parametrize("name", ["laptop-6gb", "cpu-embedded", "smoke"])
def test_profile_files_state_only_what_differs_from_base(name):
    raw = yaml.safe_load((profile.PROFILES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert raw.pop("inherits") == "base"
    base = dict(_leaves(yaml.safe_load((profile.PROFILES / "base.yaml").read_text(encoding="utf-8"))))
    same = [key for key, value in _leaves(raw) if key in base and json.dumps(base[key]) == json.dumps(value)]
    assert not same, f"{name}.yaml repeats base.yaml's value for {same}"


@pytest.fixture
def profiles_dir(tmp_path, monkeypatch):
    """A copy of the shipped profiles where a test may add its own files."""
    for path in profile.PROFILES.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    monkeypatch.setattr(profile, "PROFILES", tmp_path)
    return tmp_path


def test_an_own_profile_states_a_few_keys_over_any_profile(profiles_dir):
    (profiles_dir / "my-cpu.yaml").write_text("inherits: cpu-embedded\ntraining:\n  learning_rate: 5.0e-4\n"
                                              "first_sft: {training: {max_steps: 3}}\n")
    mine, cpu = profile.load_profile("my-cpu"), profile.load_profile("cpu-embedded")
    assert mine["name"] == "my-cpu" and mine["training"]["learning_rate"] == 5e-4
    assert mine["first_sft"]["training"] == {"gradient_accumulation_steps": 2, "max_steps": 3}   # sections merge
    mine["training"]["learning_rate"] = cpu["training"]["learning_rate"]
    del mine["first_sft"]["training"]["max_steps"]
    assert {**mine, "name": "cpu-embedded"} == cpu
    assert "my-cpu" in profile.available_profiles() and "base" not in profile.available_profiles()


@pytest.mark.parametrize("text, message", [
    ("inherits: base\ntraining:\n  learning_rat: 1.0e-4\n", "key 'training.learning_rat' is not in base.yaml"),
    ("inherits: base\nfirst_sft:\n  training: {gradient_acumulation_steps: 2}\n",
     "key 'first_sft.training.gradient_acumulation_steps' is not in base.yaml"),
    ("inherits: base\nevaluation:\n  training: {seed: 1}\n", "key 'evaluation.training' is not in base.yaml"),
    ("inherits: base\nlora: 8\n", "'lora' is a section in base.yaml"),
    ("inherits: base\nlora:\n  r: {value: 8}\n", "'lora.r' is a single value in base.yaml"),
    ("inherits: bsae\n", "key 'inherits': 'bsae' is not a profile"),
    ("inherits: auto\n", "key 'inherits': 'auto' is not a profile"),
    ("lora: {r: 4}\n", "key 'inherits' is missing"),
    ("inherits: base\nname: other\n", "key 'name' comes from the file name"),
])
def test_a_bad_profile_file_names_the_file_and_the_key(profiles_dir, text, message):
    (profiles_dir / "mine.yaml").write_text(text)
    with pytest.raises(ProfileError, match=r"mine\.yaml: .*" + re.escape(message)):
        profile.load_profile("mine")


def test_an_inheritance_cycle_is_an_error(profiles_dir):
    (profiles_dir / "one.yaml").write_text("inherits: two\n")
    (profiles_dir / "two.yaml").write_text("inherits: one\n")
    with pytest.raises(ProfileError, match=re.escape("two.yaml: key 'inherits': 'one' makes a cycle (one → two → one)")):
        profile.load_profile("one")
    (profiles_dir / "self.yaml").write_text("inherits: self\n")
    with pytest.raises(ProfileError, match="makes a cycle"):
        profile.load_profile("self")


def test_base_is_not_a_profile_to_choose():
    with pytest.raises(ProfileError, match="'base' holds the defaults"):
        profile.load_profile("base")
