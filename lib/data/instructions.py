"""The phase-2 instruction set (alpaca form: instruction / input / output) for the first SFT (notebook 03).

`course` is built deterministically from the course glossary (data/instructions/glossary.json) and the
computed domain questions; `alpaca` is tatsu-lab/alpaca from the Hugging Face Hub when it is reachable.

>>> rows = build_course_instructions(seed=0)
>>> len(rows) >= 300 and set(rows[0]) == {"instruction", "input", "output"}
True
"""
from __future__ import annotations

import json
import random

from ..jsonl import read_jsonl, write_jsonl
from ..paths import DATA
from . import domain

GLOSSARY = DATA / "instructions" / "glossary.json"
COURSE_SET = DATA / "instructions" / "course_alpaca.jsonl"


def build_course_instructions(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    data = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    rows = []
    for ko, en, def_ko, def_en in data["terms"]:
        rows += [
            {"instruction": "다음 구조 용어를 영어로 번역하세요.", "input": ko, "output": en},
            {"instruction": "Translate this structural engineering term into Korean.", "input": en, "output": ko},
            {"instruction": "다음 용어를 한 문장으로 설명하세요.", "input": ko, "output": def_ko},
            {"instruction": "Define the term in one sentence.", "input": en, "output": def_en},
            {"instruction": f"'{ko}'의 뜻을 영어 용어와 함께 알려 주세요.", "input": "", "output": f"{ko}({en}): {def_ko}"},
        ]
    for text, summary in data["paragraphs"]:
        korean = any("가" <= ch <= "힣" for ch in text)
        rows.append({"instruction": "다음 글을 한 문장으로 요약하세요." if korean else "Summarise the text in one sentence.",
                     "input": text, "output": summary})
    generators = domain.QA_GENERATORS + domain.COMPARISON_GENERATORS
    seen = {r["instruction"] + r["input"] for r in rows}
    while len(rows) < 330:
        _, question, answer = rng.choice(generators)(rng)
        if question not in seen:
            seen.add(question)
            rows.append({"instruction": question, "input": "", "output": answer})
    rng.shuffle(rows)
    return rows


def write_course_instructions(path=COURSE_SET) -> int:
    return write_jsonl(path, build_course_instructions())


def load_instructions(source: str = "course", limit: int | None = None, seed: int = 0) -> list[dict]:
    """Instruction rows: the shipped course set, or a seeded sample of tatsu-lab/alpaca from the hub."""
    if source == "course":
        rows = read_jsonl(COURSE_SET)
    elif source == "alpaca":
        try:
            from datasets import load_dataset

            dataset = load_dataset("tatsu-lab/alpaca", split="train")
        except Exception as err:  # no network or no hub: say which set works offline
            raise RuntimeError(f"tatsu-lab/alpaca could not be loaded ({type(err).__name__}: {str(err).splitlines()[0][:120]}); "
                               "use source='course', which ships with the course") from err
        rows = [{k: r[k] for k in ("instruction", "input", "output")} for r in dataset]
    else:
        raise ValueError(f"source must be 'course' or 'alpaca', not {source!r}")
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return rows


def to_messages(row: dict) -> list[dict]:
    """An alpaca row as a chat: the instruction (and input) from the user, the output from the assistant."""
    prompt = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
