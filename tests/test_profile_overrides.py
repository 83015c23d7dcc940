"""Profile overrides: unknown keys and wrong types are errors that name the key and the expected type."""
import re

import pytest

from lib import profile
from lib.profile import ProfileError


@pytest.mark.parametrize("overrides, message", [
    ({"training.learnig_rate": 1e-4}, "override 'training.learnig_rate': no profile has this key"),
    ({"training.learning_rate": "fast"}, "override 'training.learning_rate': expected a number, got 'fast'"),
    ({"training.learning_rate": float("nan")}, "override 'training.learning_rate': expected a finite number"),
    ({"training.learning_rate": -4}, "override 'training.learning_rate': expected a number of at least 0, got -4"),
    ({"lora.r": "8"}, "override 'lora.r': expected an integer, got '8'"),
    ({"lora.target_modules": "q_proj"}, "override 'lora.target_modules': expected a list"),
])
def test_overrides_with_unknown_keys_or_wrong_types_name_the_key(overrides, message):
    with pytest.raises(ProfileError, match=re.escape(message)):
        profile.load_profile("smoke", overrides=overrides)


def test_overrides_the_course_uses_still_apply():
    p = profile.load_profile("smoke", overrides={"training.learning_rate": 2e-4, "training.max_steps": 3, "backend": "hf",
                                                 "function_calling.training.learning_rate": 1e-3, "lora.dropout": 0,
                                                 "evaluation.test_examples": None, "model.max_seq_length": 512})
    assert p["training"]["max_steps"] == 3 and p["function_calling"]["training"]["learning_rate"] == 1e-3


@pytest.mark.parametrize("value", ["[1]", "null", "5", '"abc"', "{bad"])
def test_course_overrides_that_are_not_an_object_are_a_profile_error(monkeypatch, value):
    monkeypatch.setenv("COURSE_OVERRIDES", value)
    with pytest.raises(ProfileError, match="COURSE_OVERRIDES must be a JSON object"):
        profile.load_profile("smoke")
