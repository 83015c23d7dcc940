"""Score a model on the Berkeley Function Calling Leaderboard (BFCL v4) with BFCL's own AST checker.

The cases come from the `bfcl-eval` package (`pip install --no-deps bfcl-eval==2026.3.23`):
line-delimited JSON under `bfcl_eval/data/` (questions) and `possible_answer/` (accepted answers).
Each case is asked in the course's chat format (the ChatML tool template, OpenAI-style tool
schemas), answered greedily, parsed with `lib.tool_calls`, turned into BFCL's model-output form
`[{name: {param: value}}]` and judged by BFCL's `ast_checker`. Irrelevance cases pass when the
model calls nothing, as BFCL defines them. The prompt format is ours, not the leaderboard's, so
the published numbers are a reference point, not a target to match to the decimal.

>>> tool = to_openai_tool({"name": "geo.distance", "description": "Distance.",
...     "parameters": {"type": "dict", "required": ["a"], "properties": {
...         "a": {"type": "tuple", "items": {"type": "float"}, "description": "Point."}}}})
>>> tool["function"]["name"], tool["function"]["parameters"]["properties"]["a"]["type"]
('geo_distance', 'array')
>>> to_bfcl_output([ToolCall("geo_distance", {"a": [1.0, 2.0]})])
[{'geo_distance': {'a': [1.0, 2.0]}}]
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

from ..tool_calls import ToolCall, parse_tool_calls

PACKAGE_PIN = "bfcl-eval==2026.3.23"
# Short names (as the leaderboard's tables say them) -> the BFCL v4 file category.
CATEGORIES = {
    "simple": "simple_python", "multiple": "multiple", "parallel": "parallel",
    "parallel_multiple": "parallel_multiple", "irrelevance": "irrelevance",
    "live_simple": "live_simple", "live_multiple": "live_multiple", "live_parallel": "live_parallel",
    "live_parallel_multiple": "live_parallel_multiple", "live_irrelevance": "live_irrelevance",
    "live_relevance": "live_relevance",
}
DEFAULT_CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
# BFCL's loader appends this to every Python function's description (bfcl_eval.utils,
# _func_doc_language_specific_pre_processing); the leaderboard's prompts carry it, so ours do too.
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
PUBLISHED_SOURCE = ("BFCL paper: Patil et al., 'The Berkeley Function Calling Leaderboard (BFCL): From Tool Use "
                    "to Agentic Evaluation of Large Language Models', ICML 2025, Table 1")
PUBLISHED_MODEL = "Qwen2.5-1.5B-Instruct (FC)"
PUBLISHED = {"overall": 36.6, "simple": 72.4, "multiple": 87.0, "irrelevance": 62.7}
PUBLISHED_NOTES = {
    "overall": "BFCL's overall also covers live, multi-turn and agentic categories: not comparable",
    "simple": "BFCL's 'simple' averages Python, Java and JavaScript; ours is Python only",
    "irrelevance": "BFCL's 'irrelevance detection' averages the non-live and live sets; ours is non-live only",
}
CAVEAT = ("Our prompt is the course's ChatML tool template with OpenAI-style schemas, greedy decoding and a "
          "sample of cases; the leaderboard ran each model through its own handler on every case. "
          "Compare directions (base vs fine-tuned), not decimals.")
CHECKER_MODEL = "course-model"  # our row in the checker's model table; no "_" (the checker reads "_" as "/")


class BfclUnavailableError(RuntimeError):
    """The BFCL data or checker cannot be used here; the message says how to install it."""


# ---------------------------------------------------------------- data

def data_dir() -> Path:
    """The `data/` folder of the installed bfcl-eval package."""
    try:
        import bfcl_eval  # an empty package: importing it pulls in none of its heavy dependencies
    except ImportError as err:
        raise BfclUnavailableError(
            f"BFCL needs the package bfcl-eval: `pip install --no-deps {PACKAGE_PIN}` "
            "(`make install` does this)") from err
    return Path(bfcl_eval.__file__).parent / "data"


def file_category(category: str) -> str:
    """BFCL's file category for a short or full name.

    >>> file_category("simple"), file_category("simple_python"), file_category("live_multiple")
    ('simple_python', 'simple_python', 'live_multiple')
    """
    if category in CATEGORIES:
        return CATEGORIES[category]
    if category in CATEGORIES.values():
        return category
    raise ValueError(f"unknown BFCL category '{category}': choose from {sorted(CATEGORIES)} "
                     "(single-turn Python categories; Java, JavaScript, multi-turn and agentic are not supported)")


def _read_lines(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from err
    return rows


def _with_hint(functions: list[dict]) -> list[dict]:
    functions = copy.deepcopy(functions)
    for function in functions:
        function["description"] = function.get("description", "") + PYTHON_HINT
    return functions


def load_cases(category: str, sample: int | None = None, seed: int = 0) -> list[dict]:
    """The cases of one category: id, category, messages, functions (BFCL form) and ground truth.

    `sample` picks that many cases at random (seeded by `seed` and the category, so the same call
    returns the same cases everywhere), kept in file order; `None` takes them all.
    `ground_truth` is None for (ir)relevance cases, which have no accepted answer to match.

    >>> [c["id"] for c in load_cases("parallel", sample=3, seed=0)] == [c["id"] for c in load_cases("parallel", sample=3, seed=0)]
    True
    >>> len(load_cases("simple")), load_cases("irrelevance", sample=1)[0]["ground_truth"]
    (400, None)
    """
    name = file_category(category)
    folder = data_dir()
    rows = _read_lines(folder / f"BFCL_v4_{name}.json")
    answers_file = folder / "possible_answer" / f"BFCL_v4_{name}.json"
    answers = {row["id"]: row["ground_truth"] for row in _read_lines(answers_file)} if answers_file.exists() else {}
    if sample is not None and sample < len(rows):
        if sample < 0:
            raise ValueError(f"sample must be a positive number of cases or None (all), not {sample}")
        picked = sorted(random.Random(f"bfcl:{name}:{seed}").sample(range(len(rows)), sample))
        rows = [rows[i] for i in picked]
    cases = []
    for row in rows:
        if len(row["question"]) != 1:
            raise ValueError(f"{row['id']}: {len(row['question'])} turns; only single-turn cases are supported")
        cases.append({"id": row["id"], "category": name, "messages": row["question"][0],
                      "functions": _with_hint(row["function"]), "ground_truth": answers.get(row["id"])})
    return cases


# ---------------------------------------------------------------- prompt side: BFCL docs -> OpenAI tools

def tool_name(name: str) -> str:
    """The name a model sees: BFCL swaps '.' for '_' for OpenAI-style tools (names must match ^[a-zA-Z0-9_-]+$).

    >>> tool_name("math.sqrt")
    'math_sqrt'
    """
    return name.replace(".", "_")


def _gorilla_to_openapi() -> dict:
    data_dir()  # a clear error when bfcl-eval is missing
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI  # plain dict, no dependencies

    return GORILLA_TO_OPENAPI


def _schema(node: dict, mapping: dict, is_property: bool) -> dict:
    """One BFCL parameter (and what it nests) as JSON Schema: BFCL's _cast_to_openai_type, to any depth."""
    node = dict(node)
    kind = node.get("type")
    node["type"] = mapping.get(kind, "string")  # BFCL: missing or unknown types become strings
    if is_property and kind == "float":  # BFCL keeps the float hint that "number" loses
        node["format"] = "float"
        node["description"] = node.get("description", "") + " This is a float type value."
    if isinstance(node.get("properties"), dict):
        node["properties"] = {k: _schema(v, mapping, True) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _schema(node["items"], mapping, False)
    return node


def to_openai_tool(function: dict) -> dict:
    """A BFCL function doc as an OpenAI tool dict, the way BFCL converts it for OpenAI-style models.

    Follows `bfcl_eval.model_handler.utils.convert_to_tool` (not importable without tree-sitter and
    tenacity): '.' in names becomes '_', types map through BFCL's GORILLA_TO_OPENAPI table
    (dict→object, float→number, tuple→array, any→string), the parameters become an object schema.
    """
    mapping = _gorilla_to_openapi()
    item = copy.deepcopy(function)
    params = item.get("parameters") or {}
    properties = params.get("properties") or {}
    item["name"] = tool_name(item["name"])
    item["parameters"] = {**params, "type": "object",
                          "properties": {k: _schema(v, mapping, True) for k, v in properties.items()}}
    return {"type": "function", "function": item}


# ---------------------------------------------------------------- answer side: our calls -> BFCL's checker

def to_bfcl_output(calls: list[ToolCall]) -> list[dict]:
    """Parsed calls in BFCL's decoded model-output form: one `{name: arguments}` dict per call."""
    return [{call.name: call.arguments} for call in calls]


def _ast_checker():
    """BFCL's `ast_checker`, imported without the leaderboard's API clients.

    `ast_checker.py` imports `MODEL_CONFIG_MAPPING` from `bfcl_eval.constants.model_config`, which
    imports every model handler and so `anthropic`, `openai`, `mistralai`, `cohere`, tree-sitter...
    The checker only reads one flag from that table: `underscore_to_dot`, for models whose tool names
    cannot hold '.'. So, unless the real module is already loaded, a module object holding that table
    stands in for it in `sys.modules` while the checker is imported, and is taken out again after
    (nothing on disk changes; later imports see the real module). Our row says
    `underscore_to_dot=True`: we show the model '_' names, and the checker matches them against the
    expected dotted names the same way it does for OpenAI-style models on the leaderboard.
    """
    data_dir()
    name = "bfcl_eval.constants.model_config"
    stub = None
    if name not in sys.modules:
        stub = types.ModuleType(name, "Stand-in for BFCL's model table: the AST checker only needs this mapping.")
        stub.MODEL_CONFIG_MAPPING = {}
        sys.modules[name] = stub
    try:
        from bfcl_eval.eval_checker.ast_eval import ast_checker as module
    finally:
        if stub is not None and sys.modules.get(name) is stub:
            del sys.modules[name]
    module.MODEL_CONFIG_MAPPING.setdefault(CHECKER_MODEL, types.SimpleNamespace(underscore_to_dot=True))
    return module.ast_checker


def check_calls(case: dict, calls: list[ToolCall]) -> dict:
    """BFCL's verdict on `calls` for `case`: {valid, error_type, error}; never raises.

    Relevance categories only ask whether a call was made (irrelevance: none may be; relevance: one
    must be); the others go to BFCL's AST checker with the case's accepted answers.
    """
    category = case["category"]
    if "relevance" in category:  # irrelevance and relevance, as BFCL's relevance runner judges them
        called = bool(calls)
        if "irrelevance" in category:
            return ({"valid": True, "error_type": None, "error": []} if not called else
                    {"valid": False, "error_type": "irrelevance_error:decoder_success",
                     "error": [f"called {[c.name for c in calls]} where no function fits"]})
        return ({"valid": True, "error_type": None, "error": []} if called else
                {"valid": False, "error_type": "relevance_error:decoder_failed", "error": ["no function call"]})
    if not calls:
        return {"valid": False, "error_type": "ast_decoder:decoder_failed", "error": ["no function call decoded"]}
    from bfcl_eval.constants.enums import Language

    try:
        verdict = _ast_checker()(case["functions"], to_bfcl_output(calls), case["ground_truth"],
                                 Language.PYTHON, category, CHECKER_MODEL)
    except Exception as err:  # an odd value can trip the checker itself: a failed case, not a crash
        return {"valid": False, "error_type": "checker_exception", "error": [f"{type(err).__name__}: {err}"]}
    return {"valid": bool(verdict["valid"]), "error_type": verdict.get("error_type") if not verdict["valid"] else None,
            "error": verdict.get("error", [])}


def score_output(case: dict, text: str) -> dict:
    """Parse one raw model output and judge it: the per-case record (without prompt and timing).

    >>> case = {"id": "irrelevance_0", "category": "irrelevance", "functions": [], "ground_truth": None}
    >>> score_output(case, "I cannot help with that.")["valid"]
    True
    >>> score_output(case, '<tool_call>{"name": "f", "arguments": {}}</tool_call>')["error_type"]
    'irrelevance_error:decoder_success'
    """
    parsed = parse_tool_calls(text)
    verdict = check_calls(case, parsed.calls)
    if not verdict["valid"] and not parsed.calls and parsed.errors:
        verdict["error"] = list(verdict["error"]) + [f"parse: {e}" for e in parsed.errors]
    return {"id": case["id"], "category": case["category"], "output": text,
            "calls": [{"name": c.name, "arguments": c.arguments} for c in parsed.calls],
            "parse_errors": parsed.errors, **verdict}


# ---------------------------------------------------------------- running a model

def short_name(file_cat: str) -> str:
    """The short name of a BFCL file category (`simple_python` -> `simple`)."""
    return next((k for k, v in CATEGORIES.items() if v == file_cat), file_cat)


@dataclass
class BfclResult:
    """Per-case records of one BFCL run, with per-category accuracy and a table beside the published scores."""
    model: str
    settings: dict
    records: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def accuracy(self) -> dict[str, float]:
        """Share of cases passed per category (0..1), keyed by short name, in run order."""
        out: dict[str, list[bool]] = {}
        for record in self.records:
            out.setdefault(short_name(record["category"]), []).append(bool(record["valid"]))
        return {name: sum(v) / len(v) for name, v in out.items()}

    @property
    def overall(self) -> float:
        """Unweighted mean of the category accuracies (how BFCL averages its subcategories)."""
        acc = self.accuracy()
        return sum(acc.values()) / len(acc) if acc else float("nan")

    def table(self):
        """pandas DataFrame: our accuracy per category next to the published Qwen2.5-1.5B-Instruct scores (%)."""
        import pandas as pd

        rows, acc = [], self.accuracy()
        for name, value in acc.items():
            cases = [r for r in self.records if short_name(r["category"]) == name]
            rows.append({"category": name, "bfcl_file": CATEGORIES.get(name, name), "cases": len(cases),
                         "correct": sum(bool(r["valid"]) for r in cases), "ours (%)": round(100 * value, 1),
                         f"published {PUBLISHED_MODEL} (%)": PUBLISHED.get(name),
                         "note": PUBLISHED_NOTES.get(name, "")})
        rows.append({"category": "overall", "bfcl_file": "", "cases": len(self.records),
                     "correct": sum(bool(r["valid"]) for r in self.records),
                     "ours (%)": round(100 * self.overall, 1) if acc else None,
                     f"published {PUBLISHED_MODEL} (%)": PUBLISHED["overall"],
                     "note": "ours: mean of the categories above; " + PUBLISHED_NOTES["overall"]})
        frame = pd.DataFrame(rows)
        frame.attrs.update(model=self.model, source=PUBLISHED_SOURCE, caveat=CAVEAT)
        return frame

    def failures(self, category: str | None = None) -> list[dict]:
        """Records of failed cases (optionally of one category), to read what went wrong."""
        return [r for r in self.records if not r["valid"]
                and (category is None or short_name(r["category"]) == short_name(file_category(category)))]

    def to_dict(self) -> dict:
        return {"model": self.model, "settings": self.settings, "seconds": self.seconds,
                "accuracy": self.accuracy(), "overall": self.overall, "published": {
                    "model": PUBLISHED_MODEL, "source": PUBLISHED_SOURCE, "scores": PUBLISHED, "caveat": CAVEAT},
                "records": self.records}

    def save(self, path) -> Path:
        """Write the result as JSON (Korean and other text kept readable)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "BfclResult":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["model"], data["settings"], data["records"], data.get("seconds", 0.0))


def run_bfcl(loaded, categories=DEFAULT_CATEGORIES, sample: int | None = 10, max_new_tokens: int = 128,
             seed: int = 0, batch_size: int = 8, model_label: str | None = None, progress: bool = True) -> BfclResult:
    """Ask `loaded` (a lib.models.LoadedModel) the sampled BFCL cases and score every answer.

    Greedy decoding on the course template with `lib.inference.generate_batch` (cases of similar
    prompt length share a batch, so little padding is computed). A record per case keeps the
    rendered prompt, the raw output, the parsed calls, the checker's verdict and error, and timing
    (`seconds` is the case's share of its batch).
    """
    from tqdm.auto import tqdm

    from ..chat_format import render
    from ..inference import generate_batch

    names = [file_category(c) for c in categories]
    cases = [case for name in names for case in load_cases(name, sample, seed)]
    _ast_checker()  # fail before generating if the checker cannot be imported
    tools = [[to_openai_tool(f) for f in case["functions"]] for case in cases]
    prompts = [render(case["messages"], t, add_generation_prompt=True) for case, t in zip(cases, tools)]
    result = BfclResult(model_label or getattr(loaded, "source", "model"), {
        "categories": [short_name(n) for n in names], "sample": sample, "seed": seed, "max_new_tokens": max_new_tokens,
        "batch_size": batch_size, "decoding": "greedy", "template": "course ChatML tool template",
        "package": PACKAGE_PIN})
    records: list[dict | None] = [None] * len(cases)
    order = sorted(range(len(cases)), key=lambda i: len(prompts[i]))
    start = time.perf_counter()
    with tqdm(total=len(cases), desc="BFCL", **({} if progress else {"disable": True})) as bar:  # TQDM_DISABLE still works
        for first in range(0, len(order), max(1, batch_size)):
            batch = order[first:first + max(1, batch_size)]
            out = generate_batch(loaded.model, loaded.tokenizer, [(cases[i]["messages"], tools[i]) for i in batch],
                                 max_new_tokens=max_new_tokens)
            for i, reply in zip(batch, out["replies"]):
                records[i] = {**score_output(cases[i], reply["text"]), "prompt": prompts[i],
                              "prompt_tokens": reply["prompt_tokens"], "new_tokens": reply["new_tokens"],
                              "stopped": reply["stopped"], "seconds": round(out["seconds"] / len(batch), 3)}
            bar.update(len(batch))
    result.records, result.seconds = records, time.perf_counter() - start
    return result


# ---------------------------------------------------------------- command line

def _sample_arg(text: str) -> int | None:
    return None if text.lower() in ("all", "none") else int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.evaluate.bfcl", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="base", help="base | adapter folder | merged model folder")
    parser.add_argument("--profile", default=None, help="profile name (default: $COURSE_PROFILE or auto)")
    parser.add_argument("--categories", nargs="+", default=None, help=f"default: the profile's ({', '.join(DEFAULT_CATEGORIES)})")
    parser.add_argument("--sample", default=None, help="cases per category, or 'all' (default: the profile's)")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's evaluation.batch_size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="where to write the result JSON")
    args = parser.parse_args(argv)
    from ..profile import load_profile
    from .inputs import load_for_eval

    profile = load_profile(args.profile)
    settings = profile.get("evaluation", {})
    try:
        loaded, label = load_for_eval(profile, args.model)
    except FileNotFoundError as err:
        parser.error(str(err))
    result = run_bfcl(loaded, categories=args.categories or settings.get("bfcl_categories", DEFAULT_CATEGORIES),
                      sample=settings.get("bfcl_sample", 10) if args.sample is None else _sample_arg(args.sample),
                      max_new_tokens=args.max_new_tokens or settings.get("max_new_tokens", 128),
                      seed=args.seed, batch_size=args.batch_size or settings.get("batch_size", 8), model_label=label)
    path = result.save(args.out)
    print(result.table().to_string(index=False))
    print(f"\n{len(result.records)} cases in {result.seconds:.0f} s -> {path}\nsource: {PUBLISHED_SOURCE}\n{CAVEAT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
