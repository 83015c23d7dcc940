"""Values for the `{slot}` placeholders of the seeds: realistic, consistent with the context model, seeded.

Each sampler takes a `random.Random` and returns a value (or a dict of related values, e.g. a material
standard with a grade of that standard). `fill_slots` samples every slot a seed uses.

A template can write a slot the way engineers type it with a format suffix, `{slot:fmt}` (see `FORMATS`):
ids as ranges (`{base_run:range}` → "1~4"), points (`{xyz:eq}` → "x=7.5m, y=0, z=3.5m"), lengths in mm
(`{b:mm}x{h:mm}` → "500x600"), forces with units (`{p:kN_ko}` → "20킬로뉴턴"). A point slot is named by its
three coordinates, each the x/y/z slot or 0: `{xyz}`, `{xy0}`, `{00z}`. Formats only change the text; a
string that is exactly `{slot}` (no suffix) still becomes the typed value in call arguments.
"""
from __future__ import annotations

import json
import re

from ..paths import DATA
from .contexts import SAVED_PATHS

GRADES = json.loads((DATA / "gennx" / "material_grades.json").read_text(encoding="utf-8"))["standards"]
FRAME_BASE, FRAME_TOPS = [1, 2, 3, 4], [11, 12, 13, 14, 21, 22, 23, 24]
COLUMNS, BEAMS = list(range(1, 9)), list(range(9, 17))
PANELS = [[11, 12, 13, 14], [21, 22, 23, 24]]
WALLS = [[1, 2, 12, 11], [2, 3, 13, 12], [3, 4, 14, 13], [4, 1, 11, 14], [11, 12, 22, 21], [12, 13, 23, 22]]
KS_H = ["H 400x200x8/13", "H 300x150x6.5/9", "H 588x300x12/20", "H 350x175x7/11", "H 250x250x9/14",
        "H 200x200x8/12", "H 500x200x10/16", "H 600x200x11/17", "H 294x200x8/12", "H 390x300x10/16", "H 450x200x9/14"]
ROLLED = [("AISC", "W14X22"), ("AISC", "W12X26"), ("AISC", "W10X33"), ("EN", "HEA300"), ("EN", "HEB300"), ("EN", "IPE300"), ("EN", "IPE400")]
NEW_CASES = [("SDL", "D", "고정하중"), ("LR", "LR", "지붕활하중"), ("WY", "W", "풍하중"), ("EY", "E", "지진하중"),
             ("SNOW", "S", "적설하중"), ("TEMP", "T", "온도하중"), ("LL2", "L", "활하중"), ("PART", "D", "고정하중"),
             ("RAIN", "R", "강우하중"), ("CONST", "L", "활하중"), ("WX2", "W", "풍하중"), ("EQY", "E", "지진하중")]
DESCRIPTIONS = ["superimposed dead", "roof live", "partition", "equipment", "finishes", "추가 고정하중", "설비하중", "마감하중"]
FACTORS = [(1.2, 1.6), (1.2, 1.0), (1.35, 1.5), (1.0, 1.0), (1.2, 0.5), (0.9, 0.0), (1.5, 1.8), (1.1, 1.3)]
FLOOR_TYPES = ["Residential", "Corridor", "Roof", "Lobby", "Storage", "Classroom", "Parking", "Mech"]


def _num(value: float):
    """Round to what a person would say: 3.0 → 3, 0.35 stays."""
    value = round(value, 4)
    return int(value) if value == int(value) else value


def _two(rng, pool):
    a, b = rng.sample(pool, 2)
    return a, b


def _subset(rng, pool, low=1, high=4):
    return sorted(rng.sample(pool, rng.randint(low, min(high, len(pool)))))


def _run(rng, pool, low=2, high=4):
    """Consecutive ids from `pool` (what a person writes as a range, "9~12")."""
    length = rng.randint(low, min(high, len(pool)))
    start = rng.randrange(len(pool) - length + 1)
    return pool[start:start + length]


def _material(rng):
    standard = rng.choice(sorted(GRADES))
    grade = rng.choice(sorted(GRADES[standard]["grades"]))
    return {"standard": standard, "grade": grade, "mtype": "STEEL" if GRADES[standard]["family"] == "steel" else "CONC"}


def _rect(rng):
    b = rng.choice([0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8])
    h = rng.choice([x for x in (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0) if x >= b])
    return {"b": _num(b), "h": _num(h), "bmm": int(round(b * 1000)), "hmm": int(round(h * 1000))}


def _h_dims(rng):
    hh = rng.choice([0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7])
    hb = rng.choice([x for x in (0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3) if x <= hh])
    tw = rng.choice([0.006, 0.0065, 0.007, 0.008, 0.009, 0.01, 0.012])
    tf = rng.choice([0.009, 0.01, 0.011, 0.012, 0.014, 0.016, 0.02])
    return {"hh": hh, "hb": hb, "tw": tw, "tf": tf, "hmm2": f"{int(hh * 1000)}x{int(hb * 1000)}"}


def _pipe(rng):
    d = rng.choice([0.1143, 0.1398, 0.1651, 0.2191, 0.2733, 0.3185, 0.3556, 0.4064])
    t = rng.choice([0.0045, 0.006, 0.008, 0.0095, 0.012])
    return {"d": d, "t": t, "dmm": f"{d * 1000:g}", "tmm": f"{t * 1000:g}"}


def _circle(rng):
    d = rng.choice([0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2])
    return {"d": _num(d), "dmm": int(round(d * 1000))}


def _load_case(rng):
    name, ltype, ko = rng.choice(NEW_CASES)
    return {"new_case": name, "ltype": ltype, "ltype_ko": ko}


def _factors(rng):
    d, l = rng.choice(FACTORS)
    return {"d_f": _num(d), "l_f": _num(l)} if l else {"d_f": _num(d), "l_f": 1.6}


def _nodes_pair(rng):
    a, b = _two(rng, FRAME_BASE + FRAME_TOPS)
    return {"ni": a, "nj": b}


def _forces(rng, *names, low=5, high=200, step=5):
    out = {}
    for name in names:
        value = rng.randrange(low, high + 1, step)
        out[name] = value
        out["neg" + name] = -value
    return out


def _story_pair(rng):
    a, b = _two(rng, ["2F", "3F"])
    return {"story": a, "story2": b}


SAMPLERS = {
    "new_node": lambda r: {"new_node": r.randint(100, 499), "new_node2": r.randint(500, 999)},
    "spare_node": lambda r: r.randint(301, 305),
    "x": lambda r: _num(r.randrange(0, 49) * 0.5), "y": lambda r: _num(r.randrange(0, 41) * 0.5),
    "z": lambda r: _num(r.choice([3.0, 3.2, 3.5, 4.0, 4.2, 4.5, 6.0, 7.0, 8.4, 10.5, 12.0])),
    "new_elem": lambda r: r.randint(100, 999), "ni": _nodes_pair,
    "mat": lambda r: r.choice([1, 2]), "sect": lambda r: r.choice([1, 2, 3]), "beta": lambda r: r.choice([0, 90]),
    "quad": lambda r: r.choice(PANELS), "wallq": lambda r: r.choice(WALLS), "thick": lambda r: r.choice([1, 2]),
    "wall_id": lambda r: r.randint(1, 20),
    "elem": lambda r: dict(zip(("elem", "elem2"), r.sample(COLUMNS + BEAMS, 2))),
    "new_mat": lambda r: r.randint(3, 30), "new_sect": lambda r: r.randint(4, 40), "new_thick": lambda r: r.randint(3, 20),
    "new_group": lambda r: r.randint(1, 20), "standard": _material,
    "cgrade": lambda r: r.choice(sorted(GRADES["KS01(RC)"]["grades"])), "sgrade": lambda r: r.choice(sorted(GRADES["KS21(S)"]["grades"])),
    "hname": lambda r: r.choice(KS_H), "rolled": lambda r: dict(zip(("rolled_db", "rolled"), r.choice(ROLLED))),
    "b": _rect, "hh": _h_dims, "d": None, "t": None,
    "slab": lambda r: (lambda s: {"slab": s, "slabmm": int(round(s * 1000))})(r.choice([0.12, 0.15, 0.18, 0.2, 0.21, 0.25, 0.3])),
    "base": lambda r: (lambda b: {"base": b, "base2": [n for n in FRAME_BASE if n not in b][:1] or [4]})(_subset(r, FRAME_BASE, 1, 3)),
    "tops": lambda r: _subset(r, FRAME_TOPS, 1, 4), "node": lambda r: dict(zip(("node", "node2"), r.sample(FRAME_TOPS, 2))),
    "beam": lambda r: r.choice(BEAMS), "beams": lambda r: _subset(r, BEAMS, 1, 4), "cols": lambda r: _subset(r, COLUMNS, 2, 4),
    "k": lambda r: {"k": r.choice([1e3, 5e3, 1e4, 2e4, 5e4, 1e5]), "k2": r.choice([1e4, 5e4, 1e5, 5e5, 1e6])},
    "new_case": _load_case, "desc": lambda r: r.choice(DESCRIPTIONS),
    "case": lambda r: r.choice(["DL", "LL"]), "lcase": lambda r: r.choice(["WX", "EX"]),
    "combo": lambda r: r.choice(["1.2D+1.6L", "1.4D"]),
    "p": lambda r: _forces(r, "p", "p2"), "w": lambda r: (lambda v: {"w": v, "negw": -v})(_num(r.randrange(10, 121) * 0.5)),
    "q": lambda r: (lambda v: {"q": v, "negq": -v})(_num(r.randrange(2, 21) * 0.5)),
    "qd": lambda r: (lambda d, l: {"qd": d, "negqd": -d, "ql": l, "negql": -l})(_num(r.randrange(4, 17) * 0.5), _num(r.randrange(4, 13) * 0.5)),
    "fname": lambda r: r.choice(FLOOR_TYPES), "floor": lambda r: r.choice(PANELS),
    "new_story_id": lambda r: (lambda i: {"new_story_id": i, "sname": r.choice([f"{i}F", "Roof", "PH", f"{i}층"]), "level": _num(3.5 * (i - 1))})(r.randint(4, 9)),
    "story": _story_pair, "wcase_id": lambda r: 5, "ecase_id": lambda r: 6,   # WX2 / EX2 of the context, still without story forces
    "fx": lambda r: {"fx": r.randrange(10, 301, 5), "fx2": r.randrange(10, 301, 5), "fy": r.randrange(0, 151, 5)},
    "d_f": _factors, "gname": lambda r: r.choice(["Columns_1F", "Beams_2F", "Core", "Frame_A", "Perimeter", "Roof_Beams"]),
    "gravity": lambda r: r.choice([9.806, 9.81, 9.80665]), "stype": lambda r: r.choice(["3D", "X-Z", "Y-Z", "X-Y"]),
    "mass": lambda r: r.choice(["lumped", "consistent"]),
    "force": lambda r: r.choice(["KN", "N", "KGF", "TONF", "KIPS", "LBF"]), "length": lambda r: r.choice(["M", "MM", "CM", "FT", "IN"]),
    "path": lambda r: r.choice(SAVED_PATHS), "pos": lambda r: r.choice([0.25, 0.3, 0.4, 0.5, 0.6, 0.75]),
    "E": lambda r: r.choice([{"E": 2.1e8, "nu": 0.3, "gamma": 77, "mname": "UserSteel"}, {"E": 1.1e7, "nu": 0.3, "gamma": 5, "mname": "Timber"},
                             {"E": 7.0e7, "nu": 0.33, "gamma": 27, "mname": "Alu"}, {"E": 2.5e7, "nu": 0.2, "gamma": 18, "mname": "LightConc"},
                             {"E": 2.0e7, "nu": 0.25, "gamma": 19, "mname": "GFRP"}]),
    "plate": lambda r: r.choice([101, 102]),
    # consecutive ids, for templates that write them as a range ({beam_run:range} → "9~12")
    "base_run": lambda r: _run(r, FRAME_BASE, 2, 4), "top_run": lambda r: _run(r, r.choice([FRAME_TOPS[:4], FRAME_TOPS[4:]]), 2, 4),
    "col_run": lambda r: _run(r, COLUMNS, 2, 4), "beam_run": lambda r: _run(r, BEAMS, 2, 4),
    "spare_run": lambda r: _run(r, list(range(301, 306)), 2, 5),
    "dead_case": lambda r: r.choice(["SDL", "DL2", "FIN", "PART", "SW"]),     # a new dead-load (D) case name
}
# slots filled by another slot's sampler (joint values)
ALIASES = {"new_node2": "new_node", "nj": "ni", "elem2": "elem", "grade": "standard", "mtype": "standard",
           "h": "b", "bmm": "b", "hmm": "b", "hb": "hh", "tw": "hh", "tf": "hh", "hmm2": "hh", "slabmm": "slab",
           "base2": "base", "node2": "node", "k2": "k", "negp": "p", "p2": "p", "negp2": "p", "negw": "w", "negq": "q",
           "ql": "qd", "negqd": "qd", "negql": "qd", "sname": "new_story_id", "level": "new_story_id", "story2": "story",
           "fx2": "fx", "fy": "fx", "l_f": "d_f", "ltype": "new_case", "ltype_ko": "new_case", "rolled_db": "rolled",
           "nu": "E", "gamma": "E", "mname": "E", "dmm": "d", "tmm": "d"}
SLOT = re.compile(r"\{([a-zA-Z0-9_]*[a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z0-9_]+))?\}")
POINT = re.compile(r"[x0][y0][z0]")      # a point slot: each coordinate is the x/y/z slot or 0


def slots_in(obj) -> set[str]:
    """Every `{slot}` name used anywhere in a seed (user text, calls, summary), without format suffixes.

    >>> sorted(slots_in({"user": "fix {base_run:range} and node {xyz:pt}", "calls": [{"arguments": {"x": "{x}"}}]}))
    ['base_run', 'x', 'xyz']
    """
    return {name for name, _ in SLOT.findall(json.dumps(obj, ensure_ascii=False))}


def fill_slots(names: set[str], rng, pipe: bool = False) -> dict:
    """Sample a value for each slot; joint samplers fill their related slots together.

    A point slot (`xyz`, `xy0`, `00z`, …) is the tuple of the x/y/z slots it names (0 where it says 0), so
    `{xyz:pt}` in the text and `"{x}"`, `"{y}"`, `"{z}"` in the arguments always agree.
    """
    points = {n for n in names if POINT.fullmatch(n)}
    names = (set(names) - points) | {axis for n in points for axis in n if axis != "0"}
    values: dict = {}
    for name in sorted(names):
        if name in values:
            continue
        root = ALIASES.get(name, name)
        if root == "d":
            sampled = _pipe(rng) if pipe else _circle(rng)
        elif root == "t":
            sampled = _pipe(rng)
        else:
            if root not in SAMPLERS or SAMPLERS[root] is None:
                raise KeyError(f"no sampler for slot '{name}'")
            sampled = SAMPLERS[root](rng)
        if isinstance(sampled, dict):
            for key, value in sampled.items():
                values.setdefault(key, value)
        else:
            values[root] = sampled
    for point in points:
        values[point] = tuple(0 if axis == "0" else values[axis] for axis in point)
    missing = (names | points) - set(values)
    if missing:
        raise KeyError(f"slots without a value: {sorted(missing)}")
    return values


def say(value) -> str:
    """How a value reads in a request: lists as '1, 2, 3', points as '(x, y, z)', floats without a trailing .0."""
    if isinstance(value, list):
        return ", ".join(say(v) for v in value)
    if isinstance(value, tuple):
        return "(" + ", ".join(say(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e5 else f"{value:.3g}"
    return str(value)


# ------------------------------------------------------------------ format suffixes: {slot:fmt}

def _runs(ids) -> list[list]:
    """Split ids into runs of consecutive numbers, in the order given."""
    runs: list[list] = []
    for i in ids if isinstance(ids, (list, tuple)) else [ids]:
        if runs and isinstance(i, int) and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def ranged(ids, sep: str, joiner: str = ", ") -> str:
    """Ids with every run of 3 or more consecutive numbers written as `first{sep}last`.

    >>> ranged([1, 2, 3, 4], "~"), ranged([9, 10, 11, 13], " through "), ranged([1, 2, 4], "-")
    ('1~4', '9 through 11, 13', '1, 2, 4')
    """
    parts = []
    for run in _runs(ids):
        parts += [f"{run[0]}{sep}{run[-1]}"] if len(run) >= 3 else [say(i) for i in run]
    return joiner.join(parts)


def _and(items) -> str:
    """An English list: 'a', 'a and b', 'a, b and c'."""
    items = [say(i) for i in (items if isinstance(items, (list, tuple)) else [items])]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _point(value, spec: str) -> str:
    x, y, z = value
    if spec == "eq":          # units on the non-zero coordinates, as people write them
        return ", ".join(f"{a}={say(v)}" + ("m" if v else "") for a, v in zip("xyz", value))
    if spec == "XYZ":
        return f"X {say(x)} Y {say(y)} Z {say(z)}"
    return "(" + ",".join(say(v) for v in value) + ")"


def _metric(value: float, scale: float) -> str:
    return say(_tidy(value * scale))


def _tidy(value: float):
    value = round(value, 6)
    return int(value) if value == int(value) else value


def _korean_big(value) -> str:
    """10000 → '1만', 2.1e8 → '2.1억' (below 10 000 unchanged)."""
    for unit, scale in (("억", 1e8), ("만", 1e4)):
        if abs(value) >= scale:
            return f"{_tidy(value / scale)}{unit}"
    return say(_tidy(value))


UNIT_WORDS = {"KN": "kN", "KGF": "kgf", "TONF": "tonf", "LBF": "lbf", "KIPS": "kips", "MM": "mm", "CM": "cm", "M": "m",
              "IN": "in", "FT": "ft", "N": "N"}

FORMATS = {
    # unit names as typed (set_units takes KN, MM …)
    "unit": lambda v: UNIT_WORDS.get(v, str(v)),        # KN → kN
    # ids
    "range": lambda v: ranged(v, "~"),                  # Korean templates: 1~4
    "thru": lambda v: ranged(v, " through "),           # 1 through 4
    "dash": lambda v: ranged(v, "-"),                   # 1-4
    "to": lambda v: ranged(v, "to", " "),               # GEN's own list syntax (MCT): 1to4 11
    "and": _and,                                        # 1, 2 and 4
    "sp": lambda v: " ".join(say(i) for i in (v if isinstance(v, (list, tuple)) else [v])),   # 1 2 4 / 0 0 3.5
    "first": lambda v: say(v[0]), "last": lambda v: say(v[-1]),
    # points (x, y, z)
    "pt": lambda v: say(tuple(v)),                      # (0, 0, 3.5)
    "ptc": lambda v: _point(v, "ptc"),                  # (0,0,3.5)
    "eq": lambda v: _point(v, "eq"),                    # x=7.5m, y=0, z=3.5m
    "XYZ": lambda v: _point(v, "XYZ"),                  # X 6 Y 0 Z 3.5
    # lengths given in m
    "m": lambda v: f"{say(v)} m",                       # 3.5 m
    "mm": lambda v: _metric(v, 1000),                   # 500 (for 500x600)
    "mmu": lambda v: f"{_metric(v, 1000)} mm",          # 500 mm
    # forces in kN, line loads in kN/m, pressures in kN/m²
    "kN": lambda v: f"{say(v)} kN", "kNc": lambda v: f"{say(v)}kN",
    "kN_ko": lambda v: f"{say(v)}킬로뉴턴",
    "kNm": lambda v: f"{say(v)} kN/m", "kNm_ko": lambda v: f"미터당 {say(v)}킬로뉴턴",
    "kNm2": lambda v: f"{say(v)} kN/m2", "kPa": lambda v: f"{say(v)} kPa",
    # big numbers (stiffness, modulus)
    "sci": lambda v: f"{v:.3g}".replace("e+0", "e").replace("e+", "e"),   # 2.1e8
    "comma": lambda v: f"{_tidy(v):,}",                 # 210,000,000
    "man": _korean_big,                                 # 1만, 2.1억
    # relative positions 0..1
    "pct": lambda v: f"{_tidy(v * 100)}%", "L": lambda v: f"{say(v)}L",
}


def render(value, fmt: str | None) -> str:
    """A slot value as text, in the format a template asks for (`FORMATS`); no format → `say`.

    >>> render([1, 2, 3, 4], "range"), render([9, 10, 11, 12], "thru"), render([1, 2, 3, 4], "dash"), render([1, 2, 3, 11], "to")
    ('1~4', '9 through 12', '1-4', '1to3 11')
    >>> render((0, 0, 3.5), "pt"), render((0, 0, 3.5), "ptc"), render((7.5, 0, 3.5), "eq"), render((6, 0, 3.5), "XYZ")
    ('(0, 0, 3.5)', '(0,0,3.5)', 'x=7.5m, y=0, z=3.5m', 'X 6 Y 0 Z 3.5')
    >>> render(0.5, "mm") + "x" + render(0.6, "mm"), render(0.5, "mmu"), render(0.0065, "mm")
    ('500x600', '500 mm', '6.5')
    >>> render(20, "kN"), render(20, "kN_ko"), render(20, "kNm"), render(1e4, "sci"), render(2.1e8, "man"), render("KN", "unit")
    ('20 kN', '20킬로뉴턴', '20 kN/m', '1e4', '2.1억', 'kN')
    """
    if fmt is None:
        return say(value)
    if fmt not in FORMATS:
        raise KeyError(f"unknown slot format ':{fmt}' (known: {', '.join(FORMATS)})")
    return FORMATS[fmt](value)


def substitute(template, values: dict):
    """Fill a seed template: a string that is exactly '{slot}' becomes the typed value, others are formatted
    (`{slot:fmt}` through `render`, so a formatted slot is always text).

    >>> substitute({"id": "{n}", "name": "C{b:mm}"}, {"n": 7, "b": 0.5})
    {'id': 7, 'name': 'C500'}
    >>> substitute("fix {base:range} and {base:thru}", {"base": [1, 2, 3, 4]})
    'fix 1~4 and 1 through 4'
    """
    if isinstance(template, str):
        whole = SLOT.fullmatch(template)
        if whole and whole.group(2) is None:
            return values[whole.group(1)]
        return SLOT.sub(lambda m: render(values[m.group(1)], m.group(2)), template)
    if isinstance(template, list):
        out = []
        for item in template:
            filled = substitute(item, values)
            out.append(filled)
        return out
    if isinstance(template, dict):
        return {k: substitute(v, values) for k, v in template.items()}
    return template
