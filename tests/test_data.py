import json
import subprocess
import sys

import pytest

from lib.data import domain, instructions
from lib.data import slots
from lib.data.generate import MIX, TIER_SHARE, Generator, norm_text
from lib.data.split import split_examples
from lib.data.validate import read_lines, validate_file, validate_rows
from lib.gennx.catalogue import load_catalogue
from lib.jsonl import JsonlError, read_jsonl
from lib.paths import DATA, ROOT


@pytest.fixture(scope="module")
def built():
    return Generator(seed=7).build(total=400)


def test_seeds_cover_every_category_and_tier1_tool():
    seeds = read_jsonl(DATA / "seeds" / "gennx_tool_seeds.jsonl")
    facts = domain.load_facts()
    assert 100 <= len(seeds) + len(facts) <= 500
    assert {s["category"] for s in seeds} == {"single", "multi", "negative"}
    assert {f["kind"] for f in facts} == {"qa", "comparison"} and all(f["source"] for f in facts)
    seeded_tools = {c["name"] for s in seeds for c in s["calls"]}
    assert {t.name for t in load_catalogue().tier(1)} <= seeded_tools


def test_every_tier1_tool_has_five_single_call_templates_in_both_languages():
    seeds = read_jsonl(DATA / "seeds" / "gennx_tool_seeds.jsonl")
    assert len({s["id"] for s in seeds}) == len(seeds), "seed ids must be unique"
    singles = [s for s in seeds if s["category"] == "single"]
    for tool in load_catalogue().tier(1):
        mine = [s for s in singles if s["calls"][0]["name"] == tool.name]
        assert len(mine) >= 5 and {s["lang"] for s in mine} == {"ko", "en"}, (tool.name, len(mine))


def test_every_slot_format_in_the_seeds_is_known():
    seeds = read_jsonl(DATA / "seeds" / "gennx_tool_seeds.jsonl")
    used = {fmt for s in seeds for _, fmt in slots.SLOT.findall(json.dumps(s, ensure_ascii=False)) if fmt}
    assert used and used <= set(slots.FORMATS), used - set(slots.FORMATS)


@pytest.mark.parametrize("value, fmt, text", [
    ([1, 2, 3, 4], "range", "1~4"), ([9, 10, 11, 13], "range", "9~11, 13"), ([1, 3], "range", "1, 3"), ([2, 3], "range", "2, 3"),
    ([301, 302, 303], "thru", "301 through 303"), ([1, 2, 3, 4], "dash", "1-4"), ([1, 2, 3, 11, 12, 13], "to", "1to3 11to13"),
    ([5], "and", "5"), ([5, 6], "and", "5 and 6"), ([1, 2, 12, 11], "and", "1, 2, 12 and 11"), ([11, 12, 13, 14], "sp", "11 12 13 14"),
    ([9, 10, 11], "first", "9"), ([9, 10, 11], "last", "11"),
    ((0, 0, 3.5), "pt", "(0, 0, 3.5)"), ((0, 0, 3.5), "ptc", "(0,0,3.5)"), ((7.5, 0, 3.5), "eq", "x=7.5m, y=0, z=3.5m"),
    ((6, 0, 3.5), "XYZ", "X 6 Y 0 Z 3.5"), ((6, 0, 3.5), "sp", "6 0 3.5"),
    (3.5, "m", "3.5 m"), (0.5, "mm", "500"), (0.45, "mmu", "450 mm"), (0.0065, "mm", "6.5"), (0.1143, "mmu", "114.3 mm"),
    (20, "kN", "20 kN"), (20, "kNc", "20kN"), (20, "kN_ko", "20킬로뉴턴"), (-7.5, "kNm", "-7.5 kN/m"), (7.5, "kNm_ko", "미터당 7.5킬로뉴턴"),
    (2.5, "kNm2", "2.5 kN/m2"), (3, "kPa", "3 kPa"),
    (1e4, "sci", "1e4"), (2.1e8, "sci", "2.1e8"), (5e5, "sci", "5e5"), (2.1e8, "comma", "210,000,000"),
    (5e3, "man", "5000"), (2e4, "man", "2만"), (1e5, "man", "10만"), (2.5e7, "man", "2500만"), (2.1e8, "man", "2.1억"),
    (0.25, "pct", "25%"), (0.3, "pct", "30%"), (0.6, "L", "0.6L"), ("KN", "unit", "kN"), ("MM", "unit", "mm"), ("TONF", "unit", "tonf"),
])
def test_slot_formats_write_values_the_way_people_type_them(value, fmt, text):
    assert slots.render(value, fmt) == text


def test_formatted_slots_only_change_the_text():
    seed = {"user": "node {new_node} at {xyz:eq}, fix {base_run:range}", "calls": [
        {"arguments": {"id": "{new_node}", "x": "{x}", "y": "{y}", "z": "{z}", "node_ids": "{base_run}", "name": "C{b:mm}"}}]}
    names = slots.slots_in(seed)
    assert names == {"new_node", "xyz", "base_run", "x", "y", "z", "b"}
    import random
    values = slots.fill_slots(names, random.Random(0))
    assert values["xyz"] == (values["x"], values["y"], values["z"])
    run = values["base_run"]
    assert run == list(range(run[0], run[-1] + 1)) and 2 <= len(run) <= 4
    args = slots.substitute(seed["calls"][0]["arguments"], values)
    assert args["node_ids"] == run and args["x"] == values["x"] and args["name"] == f"C{round(values['b'] * 1000)}"
    assert slots.substitute("{base_run:range}", values) == slots.render(run, "range")      # a formatted slot is text
    assert slots.fill_slots({"x0z", "00z"}, random.Random(1))["00z"][:2] == (0, 0)
    with pytest.raises(KeyError, match="unknown slot format"):
        slots.substitute("{x:furlongs}", values)


@pytest.mark.parametrize("seed_id", [s["id"] for s in read_jsonl(DATA / "seeds" / "gennx_tool_seeds.jsonl") if s["calls"]])
def test_every_tool_seed_yields_a_valid_example(seed_id):
    gen = Generator(seed=1)
    seed = next(s for s in gen.seeds if s["id"] == seed_id)
    example = next((e for e in (gen.from_seed(seed) for _ in range(20)) if e is not None), None)
    assert example is not None, "no valid example in 20 draws"
    assert validate_rows([example]).problems == {}


def test_generation_is_reproducible():
    a, b = Generator(seed=3).build(total=150), Generator(seed=3).build(total=150)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def test_mix_hits_the_targets(built):
    counts = {c: sum(e["meta"]["category"] == c for e in built) for c in MIX}
    for category, share in MIX.items():
        assert abs(counts[category] / len(built) - share) <= 0.02, (category, counts)
    singles = [e["meta"]["tier"] for e in built if e["meta"]["category"] == "single"]
    for tier, share in TIER_SHARE.items():                     # of the single-call examples
        assert abs(singles.count(tier) / len(singles) - share) <= 0.02, (tier, singles.count(tier))
    assert {e["meta"]["tier"] for e in built if e["meta"]["category"] == "multi"} == {1}


def test_all_generated_examples_validate(built):
    report = validate_rows(built)
    assert report.problems == {} and report.executed_calls > 0


def test_split_has_no_leakage_and_keeps_the_mix(built):
    parts = split_examples(built, seed=5)
    assert sum(len(v) for v in parts.values()) == len(built)
    groups = {name: {e["meta"]["group"] for e in rows} for name, rows in parts.items()}
    requests = {name: {norm_text(e["messages"][1]["content"]) for e in rows} for name, rows in parts.items()}
    for a, b in (("train", "eval"), ("train", "test"), ("eval", "test")):
        assert not groups[a] & groups[b], f"a seed/template in {a} and {b}"
        assert not requests[a] & requests[b], f"the same request in {a} and {b}"
    assert abs(len(parts["train"]) / len(built) - 0.8) < 0.05


def _good(built):
    return next(e for e in built if e["meta"]["category"] == "single" and e["meta"]["tier"] == 1 and e["meta"].get("context") == "frame")


def _call(example):
    return next(m for m in example["messages"] if m.get("tool_calls"))["tool_calls"][0]["function"]


@pytest.mark.parametrize("corrupt, reason", [
    (lambda e: _call(e).update(name="make_coffee"), "tool name: 'make_coffee' is not in the catalogue"),
    (lambda e: e.update(tools=[]), "is called but not offered"),
    (lambda e: _call(e).update(arguments="{not json"), "arguments:"),
    (lambda e: _call(e).update(arguments=json.dumps({"nonsense": 1})), "schema:"),
    (lambda e: e.update(messages=[m for m in e["messages"] if m["role"] != "user"]), "structure:"),
    (lambda e: next(m for m in e["messages"] if m["role"] == "tool").update(content='{"NODE": {}}'), "sandbox: the tool message"),
])
def test_validator_names_the_problem(built, corrupt, reason):
    example = json.loads(json.dumps(_good(built)))
    corrupt(example)
    problems = validate_rows([example]).problems
    assert any(reason in r for r in problems.get(1, [])), problems


def test_validator_catches_a_call_that_fails_in_the_sandbox(built):
    example = json.loads(json.dumps(next(e for e in built if any(
        c["function"]["name"] == "create_beam" for m in e["messages"] for c in m.get("tool_calls") or []))))
    call = next(c["function"] for m in example["messages"] for c in m.get("tool_calls") or [] if c["function"]["name"] == "create_beam")
    args = json.loads(call["arguments"])
    args["material_id"] = 99
    call["arguments"] = json.dumps(args)
    assert any("sandbox: create_beam failed: ELEM" in r for r in validate_rows([example]).problems[1])


def test_duplicates_contradictions_and_length(built, embedded_tokenizer):
    good = _good(built)
    other = json.loads(json.dumps(good))      # the same request answered without the call
    other["messages"] = [m for m in other["messages"] if m["role"] in ("system", "user")] + [{"role": "assistant", "content": "no call"}]
    report = validate_rows([good, json.loads(json.dumps(good)), other])
    assert report.problems[2] == ["duplicate: same request as line 1"]
    assert report.problems[3] == ["contradiction: same request as line 1 but different calls"]
    short = validate_rows([good], embedded_tokenizer, max_length=50).problems[1]
    assert short[0].startswith("length:") and "> max length 50" in short[0]


def test_file_validation_keeps_valid_lines_and_names_bad_ones(tmp_path, built):
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(built[0], ensure_ascii=False), "{broken", json.dumps(built[1], ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_file(path, out_valid=tmp_path / "kept.jsonl")
    assert report.valid_lines == [1, 3] and report.problems[2][0].startswith("json: line is not valid JSON")
    assert len(read_jsonl(tmp_path / "kept.jsonl")) == 2
    cli = subprocess.run([sys.executable, "-m", "lib.data", "validate", str(path), "--profile", "smoke"],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 1 and f"{path}:2: json: line is not valid JSON" in cli.stdout


def test_a_file_that_is_not_jsonl_gets_one_clear_error(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(JsonlError, match="is not a JSONL file: no line is a JSON object"):
        read_lines(csv)
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(JsonlError, match="not UTF-8"):
        read_lines(binary)


def test_computed_answers_match_the_formulas():
    assert domain.kds_ec(24) == pytest.approx(8500 * 28 ** (1 / 3))
    assert domain.kds_ec(50) == pytest.approx(8500 * 55 ** (1 / 3))      # Δf interpolated: 4 + (50-40)/10
    assert domain.en_ecm(30) == pytest.approx(22000 * 3.8 ** 0.3)


def test_instruction_set_is_shipped_and_reproducible():
    shipped = read_jsonl(instructions.COURSE_SET)
    assert shipped == instructions.build_course_instructions()
    assert len(shipped) >= 300 and all(r["instruction"] and r["output"] for r in shipped)
    assert instructions.to_messages({"instruction": "Q", "input": "X", "output": "A"}) == [
        {"role": "user", "content": "Q\n\nX"}, {"role": "assistant", "content": "A"}]


def test_alpaca_without_the_hub_says_what_works_offline():
    with pytest.raises(RuntimeError, match="use source='course'"):
        instructions.load_instructions("alpaca")
