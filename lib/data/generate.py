"""Expand the hand-written seeds into the full dataset, deterministically (one `random.Random(seed)`).

Mix (plan §3-4, docs/plan.md): single tool call 35 %, multi-step 20 %, domain Q&A 25 %, code comparison 10 %,
negative (no tool) 10 %. Single-call examples are Tier 1 85 %, Tier 2 11 %, Tier 3 4 % and the multi-step ones
all Tier 1, so tool data is ~90 % Tier 1 (the plan's 60/30/10 left Tier 1 tools ~15 examples each at 2,600
examples; its §3-2 asks 30–50 per tool, and Tier 1 is what a learner asks for). Every call
runs in the GEN NX sandbox and the example carries the sandbox's real response; examples whose calls fail
are dropped and drawn again. Each example keeps `meta.group` (its seed/template): the split never puts
one group in two splits.

Tools offered: what the course router (lib.router) offers for the example's request, the same choice the
served model meets, with the gold tools always among them. A gold tool the router ranks outside its `k`
takes the lowest place; in LOW_RANK_SHARE of the tool examples the gold tools are moved to a random lower
place on purpose, so the model learns to read every offered tool instead of calling the first one.
"""
from __future__ import annotations

import json
import random
import re
from collections import Counter

from ..gennx.catalogue import load_catalogue
from ..jsonl import read_jsonl
from ..paths import DATA
from ..router import default_router
from . import domain
from .contexts import sandbox_for
from .slots import fill_slots, say, slots_in, substitute

SEEDS = DATA / "seeds" / "gennx_tool_seeds.jsonl"
LOW_RANK_SHARE = 0.2
MIX = {"single": 0.35, "multi": 0.20, "domain_qa": 0.25, "comparison": 0.10, "negative": 0.10}
TIER_SHARE = {1: 0.85, 2: 0.11, 3: 0.04}   # of the single-call examples; multi-step ones are all Tier 1
SYSTEM = {
    "ko": ["당신은 MIDAS GEN NX 구조해석 도우미입니다. 필요할 때만 도구를 호출하세요.",
           "당신은 MIDAS GEN NX API를 다루는 구조 엔지니어링 어시스턴트입니다. 도구가 필요 없는 질문에는 바로 답하세요.",
           "MIDAS GEN NX 모델링·해석 도우미입니다. 사용자의 요청을 정확한 도구 호출로 바꾸고, 결과를 한국어로 요약하세요."],
    "en": ["You are a MIDAS GEN NX structural-analysis assistant. Call a tool only when it is needed.",
           "You operate MIDAS GEN NX through its API for a structural engineer. Answer directly when no tool is needed."],
}
PREFIX = {"ko": ["", "", "", "혹시 ", "음, ", "바로 ", "지금 "], "en": ["", "", "", "Hi, ", "OK, "]}
OUT_OF_SCOPE = [
    ("오늘 {city} 날씨 알려줘", "What's the weather in {city}?", "날씨 정보", "weather information"),
    ("{city}까지 가는 기차표 예매해 줘", "Book me a train to {city}.", "예매", "booking"),
    ("이 모델을 {other}로 변환해 줘", "Convert this model to {other}.", "{other} 변환", "converting to {other}"),
    ("해석 결과를 {person}한테 메일로 보내줘", "Email the results to {person}.", "이메일 전송", "sending email"),
    ("{other} 파일 열어서 보여 줘", "Open the {other} file and show it.", "{other} 파일 열기", "opening {other} files"),
    ("철근 물량 산출서를 엑셀로 뽑아줘", "Make a rebar take-off spreadsheet.", "엑셀 물량표 작성", "spreadsheets"),
    ("구조계산서 PDF 만들어 줘", "Generate the structural calculation report as a PDF.", "PDF 계산서 작성", "PDF reports"),
    ("현장 사진 보고 균열 원인 판단해 줘", "Look at this site photo and tell me why it cracked.", "사진 판독", "reading photos"),
    ("{city} 지역 땅값 알려줘", "What does land cost in {city}?", "부동산 정보", "property prices"),
    ("회의 일정 잡아 줘", "Schedule a meeting for tomorrow.", "일정 관리", "scheduling"),
]
FILL = {"ko": {"city": ["서울", "부산", "대전", "인천", "세종"], "other": ["ETABS", "SAP2000", "Revit", "Tekla", "AutoCAD"],
               "person": ["팀장님", "김 과장", "발주처", "PM님"]},
        "en": {"city": ["Seoul", "Busan", "Incheon", "Daejeon"], "other": ["ETABS", "SAP2000", "Revit", "Tekla", "AutoCAD"],
               "person": ["the client", "my manager", "the PM"]}}


def norm_text(text: str) -> str:
    """How duplicates are recognised: case, spaces and punctuation ignored, digits kept."""
    return re.sub(r"[\s\W_]+", "", text.lower())


class Generator:
    """`tokenizer`/`max_length` (optional) make every example fit the length budget: distractor tools are
    dropped first, and an example that still does not fit is drawn again."""

    def __init__(self, seed: int = 42, tokenizer=None, max_length: int | None = None):
        self.rng = random.Random(seed)
        self.tokenizer, self.max_length = tokenizer, max_length
        self.catalogue = load_catalogue()
        self.router = default_router()
        self.seeds = read_jsonl(SEEDS)
        self.facts = domain.load_facts()
        self.seen: set[str] = set()
        self.calls_per_tool: Counter = Counter()
        self.seed_misses: Counter = Counter()

    # ------------------------------------------------------------ pieces

    def _system(self, lang):
        return {"role": "system", "content": self.rng.choice(SYSTEM[lang])}

    def _vary(self, text, lang):
        """Light, meaning-preserving variation: a filler word in front, a matching ending behind."""
        text = self.rng.choice(PREFIX[lang]) + text
        if text.endswith("?"):
            return text
        stripped = text.rstrip(".")
        if lang == "ko" and stripped.endswith("줘"):
            return stripped + self.rng.choice(["", "", " 부탁해", "~", "."])
        if lang == "ko" and stripped.endswith("요"):
            return stripped + self.rng.choice(["", "."])
        if lang == "en":
            return stripped + self.rng.choice(["", ".", ". Thanks."])
        return text

    def _offered(self, called: list[str], user: str) -> tuple[list[str], str]:
        """(offered tool names best first, how the gold tools got there: router | added | lowered | none)."""
        gold = list(dict.fromkeys(called))
        ranked = self.router.offer(user)
        if not gold:
            return ranked, "none"
        others = [n for n in ranked if n not in gold][: max(0, len(ranked) - len(gold))]
        if self.rng.random() < LOW_RANK_SHARE and others:
            low = self.rng.randint(len(others) // 2 + 1, len(others))   # a place in the lower half
            return others[:low] + gold + others[low:], "lowered"
        if set(gold) <= set(ranked):
            return [n for n in ranked if n in gold or n in others], "router"
        kept = [n for n in ranked if n in gold or n in others]
        return kept + [n for n in gold if n not in kept], "added"

    def _fresh(self, user: str) -> bool:
        return norm_text(user) not in self.seen

    @staticmethod
    def _call_message(calls):
        return {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": n, "arguments": json.dumps(a, ensure_ascii=False)}} for n, a in calls]}

    @staticmethod
    def _tool_message(name, response):
        return {"role": "tool", "name": name, "content": json.dumps(response, ensure_ascii=False)}

    def _example(self, category, lang, messages, called, meta):
        user = next(m["content"] for m in messages if m["role"] == "user")
        names, placed = self._offered(called, user)
        tools = self.catalogue.openai_tools(names)
        needed = set(called)
        while self.tokenizer is not None and self._tokens(messages, tools) > self.max_length:
            extra = [t for t in tools if t["function"]["name"] not in needed]
            if not extra:
                return None
            tools.remove(extra[-1])   # the lowest-ranked tool that is not called
        return {"messages": messages, "tools": tools, "meta": {"category": category, "lang": lang, "offered": placed, **meta}}

    def _tokens(self, messages, tools) -> int:
        from ..chat_format import encode

        return len(encode(self.tokenizer, messages, tools)["input_ids"])

    # ------------------------------------------------------------ tool examples from seeds

    def from_seed(self, seed: dict) -> dict | None:
        values = fill_slots(slots_in(seed), self.rng, pipe="pipe" in seed["id"])
        lang = seed["lang"]
        user = self._vary(substitute(seed["user"], values), lang)
        if not self._fresh(user):
            return None
        calls = [(c["name"], substitute(c["arguments"], values)) for c in seed["calls"]]
        box = sandbox_for(seed["context"])
        messages = [self._system(lang), {"role": "user", "content": user}]
        responses = []
        sequential = seed["category"] == "multi" and seed.get("mode", "sequential") == "sequential"
        batches = [[c] for c in calls] if sequential else [calls]
        last_case_id = None
        for batch in batches:
            batch = [(n, {k: (last_case_id if v == "@last_case_id" else v) for k, v in a.items()}) for n, a in batch]
            results = []
            for name, args in batch:
                if self.catalogue.check_call(name, args):
                    return None
                response = box.execute(self.catalogue.to_request(name, args))
                if "error" in response:
                    return None
                if name == "create_load_case":
                    last_case_id = int(next(iter(response["STLD"])))
                results.append((name, args, response))
            messages.append(self._call_message([(n, a) for n, a, _ in results]))
            messages += [self._tool_message(n, r) for n, _, r in results]
            responses += results
        summary = self._summary(seed["summary"], values, responses, lang)
        messages.append({"role": "assistant", "content": summary})
        return self._example(seed["category"], lang, messages, [n for n, _ in calls],
                             {"tier": 1, "group": seed["id"], "context": seed["context"], "mode": "sequential" if sequential else "parallel"})

    def _summary(self, template, values, responses, lang):
        if not template.startswith("@"):
            return substitute(template, values)
        parts = []
        for kind in template[1:].split("+"):
            for name, args, response in responses:
                if _SUMMARY_TOOL[kind] == name:
                    parts.append(summarise_table(kind, next(iter(response.values())), lang))
        return " ".join(parts)

    # ------------------------------------------------------------ tier 2 and tier 3 from the catalogue

    def from_tool(self, tool) -> dict | None:
        lang = "ko" if self.rng.random() < 0.7 else "en"
        args = sample_arguments(tool.parameters, self.rng)
        if self.catalogue.check_call(tool.name, args):
            return None
        keyword, english = describe(tool.description)
        argtext = "; ".join(f"{k.replace('_', ' ')}: {_spoken(v)}" for k, v in args.items() if v not in ({}, []))
        if lang == "ko":
            user = self.rng.choice([f"{keyword} 해 주세요", f"{keyword} 부탁해요", f"GEN NX에서 {keyword} 좀 해줘", f"{keyword} 실행해 줘",
                                    f"{keyword} 진행해 주세요", f"이번엔 {keyword} 해줘", f"{keyword} 기능 써서 처리해 줘"])
        else:
            user = self.rng.choice([f"{english}.", f"Please do this in GEN NX: {english[0].lower() + english[1:]}.", f"Next: {english[0].lower() + english[1:]}.",
                                    f"Can you {english[0].lower() + english[1:]}?"])
        if argtext:
            user += f" ({argtext})"
        user = self._vary(user, lang)
        if not self._fresh(user):
            return None
        box = sandbox_for("analysed")
        response = box.execute(self.catalogue.to_request(tool.name, args))
        messages = [self._system(lang), {"role": "user", "content": user}, self._call_message([(tool.name, args)])]
        simulated = True
        if "error" in response:
            if not response["error"]["message"].startswith("the sandbox does not simulate"):
                return None
            simulated = False          # the example ends with the call: there is no real response to show
        else:
            messages.append(self._tool_message(tool.name, response))
            messages.append({"role": "assistant", "content": (f"{keyword} 요청을 실행했습니다." if lang == "ko" else f"Done: {english.lower()}.")})
        return self._example("single", lang, messages, [tool.name], {"tier": tool.tier, "group": f"tool:{tool.name}", "context": "analysed",
                                                                      "simulated": simulated})

    # ------------------------------------------------------------ answers without tools

    def from_fact_or_formula(self, category) -> dict | None:
        facts = [f for f in self.facts if f["kind"] == ("qa" if category == "domain_qa" else "comparison")]
        if self.rng.random() < 0.3:
            fact = self.rng.choice(facts)
            lang, question, answer = self.rng.choice(domain.fact_variants(fact))
            group = f"fact:{fact['id']}"
        else:
            gen = self.rng.choice(domain.QA_GENERATORS if category == "domain_qa" else domain.COMPARISON_GENERATORS)
            lang, question, answer = gen(self.rng)
            group = f"formula:{gen.__name__}"
        question = self._vary(question, lang)
        if not self._fresh(question):
            return None
        messages = [self._system(lang), {"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return self._example(category, lang, messages, [], {"tier": None, "group": group})

    def negative(self) -> dict | None:
        seeds = [s for s in self.seeds if s["category"] == "negative"]
        if self.rng.random() < 0.5:
            seed = self.rng.choice(seeds)
            lang, user, answer, group = seed["lang"], self._vary(seed["user"], seed["lang"]), seed["answer"], seed["id"]
        else:
            ko, en, what_ko, what_en = self.rng.choice(OUT_OF_SCOPE)
            lang = "ko" if self.rng.random() < 0.7 else "en"
            values = {k: self.rng.choice(v) for k, v in FILL[lang].items()}
            user = self._vary((ko if lang == "ko" else en).format(**values), lang)
            answer = (f"죄송하지만 {what_ko.format(**values)}은(는) 제가 쓸 수 있는 GEN NX 도구 범위 밖입니다. 모델링이나 해석, 결과 조회라면 도와드릴게요."
                      if lang == "ko" else f"Sorry, {what_en.format(**values)} is outside the GEN NX tools I have. I can help with modelling, analysis and results.")
            group = f"out_of_scope:{ko[:12]}"
        if not self._fresh(user):
            return None
        messages = [self._system(lang), {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        return self._example("negative", lang, messages, [], {"tier": None, "group": group})

    # ------------------------------------------------------------ the whole set

    def _balanced_single(self) -> dict | None:
        """An example from a single-call seed, favouring Tier 1 tools called least so far (weight 1/(1+n)²);
        a seed that keeps producing nothing new (its variations are used up) is set aside."""
        singles = [s for s in self.seeds if s["category"] == "single" and self.seed_misses[s["id"]] < 40]
        weights = [1 / (1 + self.calls_per_tool[s["calls"][0]["name"]]) ** 2 for s in singles]
        seed = self.rng.choices(singles, weights)[0]
        example = self.from_seed(seed)
        self.seed_misses[seed["id"]] = 0 if example is not None else self.seed_misses[seed["id"]] + 1
        return example

    def build(self, total: int = 2600, progress=None) -> list[dict]:
        targets = {c: round(total * share) for c, share in MIX.items()}
        tier_targets = {t: round(targets["single"] * s) for t, s in TIER_SHARE.items()}   # multi-step seeds are Tier 1
        single_t1 = tier_targets[1]
        plan = [("multi", targets["multi"], lambda: self.from_seed(self.rng.choice([s for s in self.seeds if s["category"] == "multi"]))),
                ("single-t1", single_t1, self._balanced_single),
                ("single-t2", tier_targets[2], lambda: self.from_tool(self.rng.choice(self.catalogue.tier(2)))),
                ("single-t3", targets["single"] - single_t1 - tier_targets[2], lambda: self.from_tool(self.rng.choice(usable_tier3(self.catalogue)))),
                ("domain_qa", targets["domain_qa"], lambda: self.from_fact_or_formula("domain_qa")),
                ("comparison", targets["comparison"], lambda: self.from_fact_or_formula("comparison")),
                ("negative", targets["negative"], self.negative)]
        examples = []
        for label, count, make in plan:
            made, attempts = 0, 0
            while made < count:
                attempts += 1
                if attempts > count * 60:
                    raise RuntimeError(f"{label}: only {made} of {count} distinct valid examples after {attempts} attempts")
                example = make()
                if example is not None:
                    self.seen.add(norm_text(next(m["content"] for m in example["messages"] if m["role"] == "user")))
                    self.calls_per_tool.update(c["function"]["name"] for m in example["messages"] for c in m.get("tool_calls") or [])
                    examples.append(example)
                    made += 1
                    if progress:
                        progress(1)
        self.rng.shuffle(examples)
        return examples


_SUMMARY_TOOL = {"reactions": "get_reactions", "displacements": "get_displacements", "beam_forces": "get_beam_forces",
                 "drift": "get_story_drift", "summary": "get_model_summary"}


def summarise_table(kind: str, table: dict, lang: str) -> str:
    """A short answer read off a result table, in the user's language."""
    if kind == "summary":
        counts = {k: v["COUNT"] for k, v in table.items()}
        parts = [f"{label} {counts.get(key, 0)}개" if lang == "ko" else f"{counts.get(key, 0)} {en}"
                 for key, label, en in (("NODE", "절점", "nodes"), ("ELEM", "요소", "elements"), ("MATL", "재료", "materials"),
                                        ("SECT", "단면", "sections"), ("STLD", "하중케이스", "load cases"))]
        return ("모델 현황: " + ", ".join(parts) + "입니다.") if lang == "ko" else "The model has " + ", ".join(parts) + "."
    rows, unit = table["DATA"], f"{table['FORCE']}, {table['DIST']}"
    if not rows:
        return "조회된 결과가 없습니다." if lang == "ko" else "The table is empty."
    if kind == "reactions":
        by_case: dict = {}
        for row in rows:
            by_case.setdefault(row[2], []).append(row)
        out = []
        for case, case_rows in by_case.items():
            fz = sum(float(r[5]) for r in case_rows)
            peak = max(case_rows, key=lambda r: abs(float(r[5])))
            out.append(f"{case}: 연직 반력 합계 FZ = {fz:.2f} {table['FORCE']}, 최대는 절점 {peak[1]}의 {float(peak[5]):.2f} {table['FORCE']}입니다." if lang == "ko"
                       else f"{case}: total vertical reaction FZ = {fz:.2f} {table['FORCE']}, largest at node {peak[1]} ({float(peak[5]):.2f}).")
        return " ".join(out)
    if kind == "displacements":
        out = [f"절점 {r[1]}({r[2]}): DX {float(r[3]) * 1000:.3f} mm, DY {float(r[4]) * 1000:.3f} mm, DZ {float(r[5]) * 1000:.3f} mm" if lang == "ko"
               else f"node {r[1]} ({r[2]}): DX {float(r[3]) * 1000:.3f} mm, DY {float(r[4]) * 1000:.3f} mm, DZ {float(r[5]) * 1000:.3f} mm" for r in rows[:4]]
        return ("변위 결과입니다(m 단위 결과를 mm로 환산): " if lang == "ko" else "Displacements (converted to mm): ") + "; ".join(out) + "."
    if kind == "beam_forces":
        out = [f"{r[3]} My {float(r[8]):.2f}, Vz {float(r[6]):.2f}" for r in rows[:5]]
        head = f"요소 {rows[0][1]}의 {rows[0][2]} 부재력({unit}): " if lang == "ko" else f"Element {rows[0][1]}, {rows[0][2]} ({unit}): "
        return head + "; ".join(out) + "."
    if kind == "drift":
        out = [f"{r[1]} {r[2]}: 층간변위비 {float(r[6]):.5f} ({r[8]})" if lang == "ko" else f"{r[1]} {r[2]}: drift ratio {float(r[6]):.5f} ({r[8]})" for r in rows]
        return ("층간변위 검토 결과(허용 0.015): " if lang == "ko" else "Story drift check (limit 0.015): ") + "; ".join(out) + "."
    raise KeyError(kind)


def _spoken(value) -> str:
    """An argument as a person would type it: plain values and lists plainly, objects as JSON."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return say(value)


def describe(description: str) -> tuple[str, str]:
    """(Korean keyword, English phrase) from a catalogue description such as 'Read nodes (절점 조회). GET …'."""
    english = re.split(r"\. |; ", re.sub(r"\s*\([^)]*\)", "", description))[0].strip().rstrip(".")
    match = re.search(r"\(([^()]*[가-힣][^()]*)\)", description)
    keyword = match.group(1).split(",")[0].strip() if match else english
    return keyword, english


def usable_tier3(catalogue):
    """Tier 3 tools a request can name without a body the sources do not describe: reads and commands."""
    return [t for t in catalogue.tier(3) if t.api["method"] == "GET" or t.api["path"].split("/")[1] in ("ope", "view", "post")]


EXISTING = {"node": [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24], "element": list(range(1, 17))}


def sample_arguments(schema: dict, rng, name: str = "") -> dict:
    """Arguments for a catalogue tool, valid under its schema and mostly pointing at the context model."""
    def value(spec, key):
        if "enum" in spec:
            return rng.choice(spec["enum"])
        kind = spec.get("type")
        if kind == "array":
            item = spec.get("items", {})
            low, high = spec.get("minItems", 1), min(spec.get("maxItems", 3), 3)
            if "node" in key and item.get("type") == "integer":
                return sorted(rng.sample(EXISTING["node"], rng.randint(max(low, 1), max(low, high))))
            if ("element" in key or "elem" in key) and item.get("type") == "integer":
                return sorted(rng.sample(EXISTING["element"], rng.randint(max(low, 1), max(low, high))))
            if key in ("load_cases", "cases"):
                return rng.sample(["DL", "LL", "WX", "EX"], rng.randint(1, 2))
            if key == "combinations":
                return [rng.choice(["1.2D+1.6L", "1.4D"])]
            return [value(item, key) for _ in range(max(low, 1) if low else rng.randint(1, high))]
        if kind == "object":
            props, required = spec.get("properties", {}), set(spec.get("required", []))
            return {k: value(v, k) for k, v in props.items() if k in required or rng.random() < 0.3}
        if kind == "integer":
            low = spec.get("minimum", 1)
            if "node" in key:
                return rng.choice(EXISTING["node"])
            if "element" in key or key == "elem":
                return rng.choice(EXISTING["element"])
            return rng.randint(low, max(low, min(spec.get("maximum", 30), 30)))
        if kind == "number":
            return _number(spec, key, rng)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "string":
            if "load_case" in key or key in ("case", "lcname"):
                return rng.choice(["DL", "LL"])
            if "path" in key or "file" in key:
                return rng.choice(["C:\\work\\export.json", "D:\\gennx\\model.mct", "C:\\temp\\view.png"])
            return rng.choice(["G1", "Core", "Frame_A", "1F", "Zone1", "Typical"])
        return None
    props, required = schema.get("properties", {}), set(schema.get("required", []))
    args = {k: value(v, k) for k, v in props.items() if k in required or rng.random() < 0.4}
    for alternative in schema.get("anyOf", []):
        if all(k in args for k in alternative.get("required", [])):
            break
    else:
        if schema.get("anyOf"):
            key = schema["anyOf"][0]["required"][0]
            args[key] = value(props[key], key)
    return {k: v for k, v in args.items() if v is not None}


NUMBER_HINTS = [  # (words in the argument name, plausible values)
    (("damping", "ratio"), [0.02, 0.03, 0.05]), (("gravity", "grav"), [9.806, 9.81]), (("angle", "beta"), [0, 30, 45, 90]),
    (("scale", "factor"), [0.5, 0.85, 1.0, 1.2]), (("period",), [0.1, 0.5, 1.0, 2.0, 3.0]), (("level", "elevation", "z"), [0, 3.5, 7.0, 10.5]),
    (("x", "y"), [0, 3, 6, 7.5, 12]), (("stiff", "kx", "ky", "kz"), [1e3, 1e4, 1e5, 1e6]), (("mass",), [1.5, 10, 25, 50]),
    (("thick", "width", "height", "depth", "diameter", "size"), [0.15, 0.2, 0.3, 0.5, 0.8]), (("tol",), [0.001, 0.0001]),
    (("temp",), [15, 20, 25]), (("modulus", "elast"), [2.1e8, 2.5e7]), (("poisson",), [0.2, 0.3]),
]


def _number(spec: dict, key: str, rng) -> float:
    low, high = spec.get("minimum", spec.get("exclusiveMinimum", -1e9)), spec.get("maximum", 1e9)
    words = set(key.lower().split("_"))
    for hints, values in NUMBER_HINTS:
        fitting = [v for v in values if low <= v <= high and v != spec.get("exclusiveMinimum")]
        if any(h in words or (len(h) > 3 and h in key.lower()) for h in hints) and fitting:
            return rng.choice(fitting)
    fitting = [v for v in (0.5, 1, 2, 5, 10, 20, 50, 100) if low <= v <= high and v != spec.get("exclusiveMinimum")]
    return rng.choice(fitting) if fitting else high


def counts(examples: list[dict]) -> dict:
    return {"category": Counter(e["meta"]["category"] for e in examples),
            "tier": Counter(e["meta"].get("tier") for e in examples if e["meta"]["category"] in ("single", "multi"))}
