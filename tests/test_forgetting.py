"""The forgetting check: its held-out rows, its answer checks, and perplexity on the real embedded model."""
import math

import pytest

from lib import profile
from lib.data import instructions
from lib.evaluate import forgetting
from lib.evaluate.forgetting import answer_checks, repeated_share, text_language


@pytest.mark.parametrize("name", ["smoke", "cpu-embedded", "laptop-6gb"])
def test_held_out_rows_are_notebook_03s_eval_split_and_never_its_training_rows(name):
    p = profile.load_profile(name)
    cfg = p["first_sft"]
    trained = instructions.load_instructions("course", limit=cfg["train_examples"] + cfg["eval_examples"], seed=0)[:cfg["train_examples"]]
    held = forgetting.instruction_eval_rows(p, p["evaluation"]["forgetting_examples"])
    assert len(held) == min(p["evaluation"]["forgetting_examples"], cfg["eval_examples"])
    key = lambda r: (r["instruction"], r["input"])  # noqa: E731
    assert not {key(r) for r in held} & {key(r) for r in trained}


@pytest.mark.parametrize("text, lang", [
    ("서울입니다.", "ko"), ("The capital is Paris.", "en"), ("KBC 2016 기준으로 계산합니다.", "ko"),
    ("Seoul (서울) is the capital of Korea.", "en"), ("", None), ("12 + 30 = 42", None),
])
def test_text_language(text, lang):
    assert text_language(text) == lang


@pytest.mark.parametrize("text, share", [
    ("one two three four", 0.0), ("a b c a b c", 0.25), ("go go go go go", 2 / 3), ("short", 0.0),
    ("abcdefghij" * 3, 11 / 21), ("대한민국의 수도는 서울입니다.", 0.0),
])
def test_repeated_share(text, share):
    assert repeated_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text, lang, stopped, failed", [
    ("대한민국의 수도는 서울입니다.", "ko", True, []),
    ("The capital of France is Paris.", "ko", True, ["language_ok"]),
    ("", "en", True, ["not_empty", "language_ok"]),
    ("Paris is the capital of France and", "en", False, ["stopped"]),
    ('<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>', "en", True, ["no_tool_call"]),
    ("the sky the sky the sky the sky the sky the sky", "en", True, ["not_repetitive"]),
])
def test_answer_checks(text, lang, stopped, failed):
    checks = answer_checks(text, lang, stopped)
    assert [k for k in forgetting.CHECKS if not checks[k]] == failed
    assert checks["passed"] is (not failed)


def test_delta_direction():
    base = {"perplexity": {"perplexity": 8.0}, "checks": {"stopped": 1.0, "passed": 0.5}}
    tuned = {"perplexity": {"perplexity": 7.0}, "checks": {"stopped": 0.75, "passed": 0.5}}
    rows = {r["measure"]: r for r in forgetting.forgetting_delta(base, tuned)}
    assert rows["perplexity"]["delta"] == -1.0 and not rows["perplexity"]["worse"]
    assert rows["stopped"]["delta"] == -0.25 and rows["stopped"]["worse"]
    assert rows["passed"]["delta"] == 0 and not rows["passed"]["worse"]


def test_perplexity_of_real_answers_is_lower_than_of_scrambled_ones(embedded_model):
    rows = forgetting.instruction_eval_rows(profile.load_profile("cpu-embedded"), 2)
    scrambled = [{**r, "output": " ".join(reversed(r["output"].split()))[::-1]} for r in rows]
    real = forgetting.perplexity(embedded_model, rows)
    noise = forgetting.perplexity(embedded_model, scrambled)
    assert real["rows"] == 2 and real["tokens"] > 0
    assert 1 < real["perplexity"] < noise["perplexity"] < math.inf


def test_forgetting_check_on_the_embedded_model(embedded_model):
    result = forgetting.forgetting_check(embedded_model, profile.load_profile("cpu-embedded"), n_rows=1, max_new_tokens=6)
    assert len(result["answers"]) == len(forgetting.GENERAL_PROMPTS)
    assert all(isinstance(a["answer"], str) and set(forgetting.CHECKS) <= set(a) for a in result["answers"])
    assert all(0 <= v <= 1 for v in result["checks"].values())
    assert result["perplexity"]["rows"] == 1 and result["perplexity"]["perplexity"] > 1
