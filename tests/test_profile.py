import pytest

from lib import profile
from lib.profile import ProfileError


@pytest.mark.parametrize("name", ["laptop-6gb", "cpu-embedded", "smoke"])
def test_every_profile_has_every_section(name):
    p = profile.load_profile(name)
    assert p["name"] == name
    for section in profile.REQUIRED_SECTIONS:
        assert isinstance(p[section], dict), section
    assert p["lora"]["alpha"] == 2 * p["lora"]["r"]          # the seed's alpha = 2r rule
    assert p["lora_fallback"]["target_modules"] == ["q_proj", "v_proj"]


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
