"""Did the fine-tune cost general ability? (plan §4-3, docs/plan.md: check the model against its base afterwards.)

Two measurements, each run on the base model and on the fine-tuned one, reported as a delta:

- perplexity on the reference answers of the instruction set's eval split (the rows notebook 03 holds
  out: `load_instructions("course", train + eval, seed=0)[train:]`), rendered with the course
  template; only the assistant tokens count (lib.masking). Lower is better; a rise means forgetting.
- automatic answer checks on fixed general prompts in Korean and English (no tools offered): the
  answer is not empty, ends by itself (EOS before max_new_tokens), contains no `<tool_call>`, is in
  the language of the question and does not repeat itself.

>>> answer_checks("서울입니다.", "ko", stopped=True)["passed"]
True
>>> answer_checks('<tool_call>{"name": "run_analysis"}</tool_call>', "en", stopped=True)["no_tool_call"]
False
"""
from __future__ import annotations

import math

import torch

from ..inference import generate_batch
from ..masking import IGNORE, assistant_labels

GENERAL_PROMPTS = [
    ("ko", "대한민국의 수도는 어디인가요? 한 문장으로 답하세요."),
    ("ko", "봄에 가기 좋은 여행지 한 곳을 추천하고 이유를 짧게 말해 주세요."),
    ("ko", "건강을 위한 생활 습관 세 가지를 알려 주세요."),
    ("ko", "철근 콘크리트 보가 무엇인지 두 문장으로 설명해 주세요."),
    ("en", "What is the capital of France? Answer in one sentence."),
    ("en", "Give two tips for writing a clear email."),
    ("en", "Explain in two sentences why the sky looks blue."),
    ("en", "What does a structural engineer do? Answer briefly."),
]
CHECKS = ("not_empty", "stopped", "no_tool_call", "language_ok", "not_repetitive")


def instruction_eval_rows(profile: dict, n: int | None = None) -> list[dict]:
    """The instruction-set rows notebook 03 keeps for evaluation (never trained on), the first `n`."""
    from ..data.instructions import load_instructions

    cfg = profile["first_sft"]
    rows = load_instructions("course", limit=cfg["train_examples"] + cfg["eval_examples"], seed=0)[cfg["train_examples"]:]
    return rows[:n] if n is not None else rows


def text_language(text: str) -> str | None:
    """"ko" when at least 30 % of the letters are Hangul, "en" when there are letters but fewer, else None.

    >>> text_language("서울은 Seoul"), text_language("Paris is the capital."), text_language("1 + 1 = 2")
    ('ko', 'en', None)
    """
    hangul = sum("가" <= ch <= "힣" for ch in text)
    letters = hangul + sum(ch.isascii() and ch.isalpha() for ch in text)
    if not letters:
        return None
    return "ko" if hangul / letters >= 0.3 else "en"


def _repeats(items: list) -> float:
    return 1 - len(set(items)) / len(items) if items else 0.0


def repeated_share(text: str, words: int = 3, chars: int = 10) -> float:
    """Share of n-grams that already occurred earlier in the text (0 = no repetition).

    The larger of word 3-grams and character 10-grams: the second catches loops without spaces.

    >>> repeated_share("the cat sat on the mat"), round(repeated_share("a b c a b c a b c"), 2)
    (0.0, 0.57)
    >>> round(repeated_share("helpershelpershelpershelpers"), 2)
    0.63
    """
    tokens = text.split()
    flat = " ".join(tokens)
    return max(_repeats([tuple(tokens[i:i + words]) for i in range(len(tokens) - words + 1)]),
               _repeats([flat[i:i + chars] for i in range(len(flat) - chars + 1)]))


def answer_checks(text: str, lang: str, stopped: bool) -> dict:
    """The automatic checks of one answer (see the module docstring); `passed` when all hold."""
    checks = {"not_empty": bool(text.strip()), "stopped": bool(stopped), "no_tool_call": "<tool_call>" not in text,
              "language_ok": text_language(text) == lang, "not_repetitive": repeated_share(text) < 0.3}
    checks["passed"] = all(checks.values())
    return checks


@torch.inference_mode()
def perplexity(loaded, rows: list[dict]) -> dict:
    """Perplexity of the reference answers (assistant tokens only, course template), token-weighted.

    Returns {"perplexity", "mean_nll", "tokens", "rows"}.
    """
    from ..data.instructions import to_messages

    total, count = 0.0, 0
    for row in rows:
        enc = assistant_labels(loaded.tokenizer, to_messages(row))
        ids = torch.tensor([enc["input_ids"]], device=loaded.model.device)
        labels = torch.tensor([enc["labels"]], device=loaded.model.device)
        logits = loaded.model(input_ids=ids).logits[:, :-1].float()
        target = labels[:, 1:]
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                ignore_index=IGNORE, reduction="sum")
        total += float(nll)
        count += int((target != IGNORE).sum())
    mean = total / count if count else float("nan")
    return {"perplexity": math.exp(mean) if count else float("nan"), "mean_nll": mean, "tokens": count, "rows": len(rows)}


def general_answers(loaded, max_new_tokens: int = 128, prompts=GENERAL_PROMPTS) -> list[dict]:
    """Greedy answers to the fixed general prompts, each with its checks."""
    out = generate_batch(loaded.model, loaded.tokenizer, [([{"role": "user", "content": p}], None) for _, p in prompts],
                         max_new_tokens=max_new_tokens)
    return [{"lang": lang, "prompt": prompt, "answer": reply["text"], **answer_checks(reply["text"], lang, reply["stopped"])}
            for (lang, prompt), reply in zip(prompts, out["replies"])]


def forgetting_check(loaded, profile: dict, n_rows: int | None = None, max_new_tokens: int = 128) -> dict:
    """Perplexity on the held-out instruction rows and the general-prompt checks for one model."""
    rows = instruction_eval_rows(profile, n_rows)
    answers = general_answers(loaded, max_new_tokens)
    shares = {c: sum(a[c] for a in answers) / len(answers) for c in CHECKS + ("passed",)}
    return {"perplexity": perplexity(loaded, rows), "answers": answers, "checks": shares}


def forgetting_delta(base: dict, tuned: dict) -> list[dict]:
    """Rows (measure, base, fine-tuned, delta, worse) comparing two `forgetting_check` results.

    >>> b = {"perplexity": {"perplexity": 10.0}, "checks": {"passed": 0.5}}
    >>> t = {"perplexity": {"perplexity": 12.0}, "checks": {"passed": 0.75}}
    >>> [(r["measure"], r["delta"], r["worse"]) for r in forgetting_delta(b, t)]
    [('perplexity', 2.0, True), ('passed', 0.25, False)]
    """
    rows = [{"measure": "perplexity", "base": base["perplexity"]["perplexity"], "fine-tuned": tuned["perplexity"]["perplexity"]}]
    rows += [{"measure": key, "base": base["checks"][key], "fine-tuned": tuned["checks"][key]} for key in base["checks"]]
    for r in rows:
        r["delta"] = r["fine-tuned"] - r["base"]
        r["worse"] = r["delta"] > 0 if r["measure"] == "perplexity" else r["delta"] < 0
    return rows
