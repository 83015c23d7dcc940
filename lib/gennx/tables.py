"""`/post/TABLE` answers of the GEN NX sandbox: result tables in the real API's layout (all cells strings).

Load cases are named with their type suffix, `DL(ST)` for a static case and `1.2D+1.6L(CB)` for a
combination; an unknown name gives an empty table, not an error (as the real API does).
"""
from __future__ import annotations

FORCE_LABEL = {"N": "N", "KN": "kN", "KGF": "kgf", "TONF": "tonf", "LBF": "lbf", "KIPS": "kips"}
DIST_LABEL = {"M": "m", "CM": "cm", "MM": "mm", "FT": "ft", "IN": "in"}
ALLOWABLE_DRIFT_RATIO = 0.015   # KDS 41 17 00 allowable drift for seismic grade I (0.010 special, 0.020 grade II)
HEADS = {
    "REACTIONG": ["Index", "Node", "Load", "FX", "FY", "FZ", "MX", "MY", "MZ"],
    "DISPLACEMENTG": ["Index", "Node", "Load", "DX", "DY", "DZ", "RX", "RY", "RZ"],
    "BEAMFORCE": ["Index", "Elem", "Load", "Part", "Axial", "Shear-y", "Shear-z", "Torsion", "Moment-y", "Moment-z"],
    "STORY_DRIFT_X": ["Index", "Load Case", "Story", "Story Height", "Maximum Drift/Node", "Maximum Drift/Story Drift",
                      "Maximum Drift/Story Drift Ratio", "Allowable Story Drift Ratio", "Remark"],
}
HEADS["STORY_DRIFT_Y"] = HEADS["STORY_DRIFT_X"]


class TableError(ValueError):
    """A table request the sandbox answers with an error body."""


def _fmt(value: float) -> str:
    return f"{value:.7g}" if abs(value) >= 1e-12 else "0"


def _cases(sandbox, names: list[str]):
    """(label, results) for each requested name whose suffix and name exist."""
    found = []
    for label in names:
        name, _, suffix = label.rpartition("(")
        kind = suffix.rstrip(")").split(":")[0]
        source = sandbox.results.get(kind, {}) if kind in ("ST", "CB") else {}
        if name in source:
            found.append((name, source[name]))
    return found


def _argument_problem(argument: dict) -> str | None:
    """The first Argument field of the wrong type (the real API answers such a body with an error too)."""
    shapes = {"TABLE_TYPE": str, "TABLE_NAME": (str, type(None)), "UNIT": dict, "NODE_ELEMS": dict,
              "LOAD_CASE_NAMES": list, "PARTS": (list, type(None))}
    for key, kind in shapes.items():
        if key in argument and not isinstance(argument[key], kind):
            return f"Argument.{key} has the wrong type ({type(argument[key]).__name__})"
    if not isinstance(argument.get("NODE_ELEMS", {}).get("KEYS", []), list):
        return "Argument.NODE_ELEMS.KEYS must be a list of numbers"
    if not all(isinstance(x, str) for x in argument.get("LOAD_CASE_NAMES", [])):
        return "Argument.LOAD_CASE_NAMES must be a list of strings such as \"DL(ST)\""
    if not all(p in ("PartI", "Part1/4", "Part2/4", "Part3/4", "PartJ") for p in argument.get("PARTS") or []):
        return "Argument.PARTS must name parts among PartI, Part1/4, Part2/4, Part3/4, PartJ"
    return None


def result_table(sandbox, argument: dict) -> dict:
    problem = _argument_problem(argument)
    if problem:
        raise TableError(problem)
    ttype = argument["TABLE_TYPE"]
    if ttype not in HEADS:
        raise TableError(f"MIDAS GEN NX there was an error creating utbl. (ex PostMode: {ttype} is not simulated by the sandbox)")
    if sandbox.results is None:
        raise TableError("There are no analysis results: run the analysis first (POST /doc/ANAL).")
    unit = {**sandbox.db["UNIT"]["1"], **argument.get("UNIT", {})}
    if unit != sandbox.db["UNIT"]["1"]:
        raise TableError("Argument.UNIT other than the model's units is not simulated by the sandbox")
    keys = {str(k) for k in argument.get("NODE_ELEMS", {}).get("KEYS", [])}
    cases = _cases(sandbox, argument.get("LOAD_CASE_NAMES", []))
    rows = []
    if ttype in ("REACTIONG", "DISPLACEMENTG"):
        field = "reactions" if ttype == "REACTIONG" else "displacements"
        for name, res in cases:
            for node in sorted(res[field], key=int):
                if not keys or node in keys:
                    rows.append([node, name, *map(_fmt, res[field][node])])
    elif ttype == "BEAMFORCE":
        parts = argument.get("PARTS") or ["PartI", "Part1/4", "Part2/4", "Part3/4", "PartJ"]
        beams = {k for k, e in sandbox.table("ELEM").items() if e["TYPE"] in ("BEAM", "TRUSS")}
        for name, res in cases:
            for elem in sorted(res["beam_forces"], key=int):
                if elem in beams and (not keys or elem in keys):
                    for part in parts:
                        rows.append([elem, name, part, *map(_fmt, res["beam_forces"][elem][part])])
    else:
        rows = _drift_rows(sandbox, cases, 0 if ttype.endswith("_X") else 1)
    table = {"FORCE": FORCE_LABEL[unit["FORCE"]], "DIST": DIST_LABEL[unit["DIST"]], "HEAD": HEADS[ttype],
             "DATA": [[str(i + 1), *row] for i, row in enumerate(rows)]}
    if ttype == "REACTIONG" and rows:
        table["SUB_TABLES"] = [{"SUMMATION": {"HEAD": ["Load", "FX", "FY", "FZ"], "DATA": [
            [name, *(_fmt(sum(res["reactions"][n][i] for n in res["reactions"] if not keys or n in keys)) for i in range(3))]
            for name, res in cases]}}]
    return {argument.get("TABLE_NAME") or "empty": table}


def _drift_rows(sandbox, cases, axis):
    stories = sorted(sandbox.table("STOR").values(), key=lambda s: s["STORY_LEVEL"])
    if len(stories) < 2:
        raise TableError("story drift needs at least two stories (POST /db/STOR or /ope/STOR)")
    nodes = sandbox.table("NODE")
    rows = []
    for name, res in cases:
        disp = res["displacements"]
        def at(level):
            return {n: disp[n][axis] for n in disp if abs(nodes[n]["Z"] - level) < 1e-6}
        for below, story in zip(stories, stories[1:]):
            upper, lower = at(story["STORY_LEVEL"]), at(below["STORY_LEVEL"])
            if not upper:
                continue
            node = max(upper, key=lambda n: abs(upper[n]))
            base = max(lower.values(), key=abs) if lower else 0.0
            height = story["STORY_LEVEL"] - below["STORY_LEVEL"]
            drift = abs(upper[node] - base)
            ratio = drift / height
            rows.append([name, story["STORY_NAME"], _fmt(height), node, _fmt(drift), _fmt(ratio),
                         _fmt(ALLOWABLE_DRIFT_RATIO), "OK" if ratio <= ALLOWABLE_DRIFT_RATIO else "NG"])
    return rows
