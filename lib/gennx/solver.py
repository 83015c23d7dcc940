"""Linear static analysis of a sandbox model with PyNiteFEA, with results in GEN NX axes and units.

Why PyNiteFEA: it is pure Python (numpy/scipy), installs on every OS from PyPI without a compiler, solves
3D frames, trusses, springs, releases and quad plates, and its source is short enough for a learner to read.

Axes: GEN NX is Z-up, PyNite is Y-up. Points and vectors map as (x, y, z)_GEN → (x, z, -y)_PyNite.
Member forces are reported in GEN's element axes (local z = section depth): Moment-y is the strong-axis
moment, positive when it sags (tension at the bottom); Shear-z is the matching shear.

>>> gen_to_pynite([1.0, 2.0, 3.0])
[1.0, 3.0, -2.0]
"""
from __future__ import annotations

import json
import math
import warnings

from ..paths import DATA
from .sections import SectionError, db_section_mm, shape_properties

FORCE_N = {"N": 1.0, "KN": 1e3, "KGF": 9.80665, "TONF": 9806.65, "LBF": 4.4482216, "KIPS": 4448.2216}
LENGTH_M = {"M": 1.0, "CM": 0.01, "MM": 0.001, "FT": 0.3048, "IN": 0.0254}
PARTS = {"PartI": 0.0, "Part1/4": 0.25, "Part2/4": 0.5, "Part3/4": 0.75, "PartJ": 1.0}
FRAME_TYPES = ("BEAM", "TRUSS")
PLANAR_TYPES = ("PLATE", "WALL")
TOL = 1e-6


class AnalysisError(RuntimeError):
    """The model cannot be analysed; the message is what the sandbox answers."""


def gen_to_pynite(v):
    return [v[0], v[2], -v[1]]


def pynite_to_gen(v):
    return [v[0], -v[2], v[1]]


def load_grades() -> dict:
    return json.loads((DATA / "gennx" / "material_grades.json").read_text(encoding="utf-8"))


def concrete_modulus(formula: str, fck: float) -> float:
    """Ec in MPa from fck by the standard's formula (see material_grades.json)."""
    if formula.startswith("KDS"):
        delta = 4 if fck <= 40 else 6 if fck >= 60 else 4 + (fck - 40) / 10
        return 8500 * (fck + delta) ** (1 / 3)
    if formula.startswith("EN"):
        return 22000 * ((fck + 8) / 10) ** 0.3
    return 4700 * math.sqrt(fck)


def unit_factors(unit: dict) -> tuple[float, float]:
    return FORCE_N[unit.get("FORCE", "KN")], LENGTH_M[unit.get("DIST", "M")]


def material_properties(record: dict, unit: dict, grades: dict | None = None) -> dict:
    """E, nu, weight density (gamma) of a MATL record, in model units; raises AnalysisError when unknown."""
    force, length = unit_factors(unit)
    param = (record.get("PARAM") or [{}])[0]
    if param.get("P_TYPE") == 2:
        return {"E": param["ELAST"], "nu": param.get("POISN", 0.3), "gamma": param.get("DEN", 0.0)}
    grades = grades or load_grades()
    std = grades["standards"].get(param.get("STANDARD"))
    if not std or param.get("DB") not in std["grades"]:
        raise AnalysisError(f"Failed to get material data for: {param.get('DB')}")
    strength = std["grades"][param["DB"]]
    e_mpa = std["E"] if std["family"] == "steel" else concrete_modulus(std["formula"], strength)
    return {"E": e_mpa * 1e6 / force * length**2, "nu": std["poisson"],
            "gamma": std["weight_density"] * 1e3 / force * length**3}


def section_properties(record: dict, unit: dict) -> dict:
    """A, Iyy, Izz, J of a SECT record in model units (database shapes are in mm)."""
    before = record.get("SECT_BEFORE", {})
    sect_i = before.get("SECT_I", {})
    try:
        if before.get("DATATYPE") == 1:
            _, length = unit_factors(unit)
            mm = db_section_mm(before.get("SHAPE"), sect_i.get("DB_NAME", ""), sect_i.get("SECT_NAME", ""))
            size = [v * 0.001 / length for v in mm]
            return shape_properties("H", size)
        return shape_properties(before.get("SHAPE"), sect_i.get("vSIZE", []))
    except SectionError as err:
        raise AnalysisError(str(err)) from err


def _polygon_area_xy(points) -> float:
    return abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(points, points[1:] + points[:1]))) / 2


def _items(table: dict):
    for key, record in table.items():
        for item in record.get("ITEMS", []):
            yield key, item


class _Builder:
    """Turns the sandbox tables into one PyNite model with one load combination per static load case."""

    def __init__(self, db: dict):
        from Pynite import FEModel3D

        self.db = db
        self.unit = db.get("UNIT", {}).get("1", {"FORCE": "KN", "DIST": "M"})
        self.model = FEModel3D()
        self.nodes = db.get("NODE", {})
        self.elems = db.get("ELEM", {})
        self.cases = {r["NAME"]: key for key, r in db.get("STLD", {}).items()}
        self.loaded = set()

    def build(self):
        if not self.cases:
            raise AnalysisError("[Error] Load information has not been entered for Analysis.")
        if not self.elems:
            raise AnalysisError("Analysis failed: the model has no elements.")
        used = {n for e in self.elems.values() for n in e["NODE"]}
        for nid in sorted(used, key=int):
            self.model.add_node(str(nid), *gen_to_pynite([self.nodes[str(nid)][k] for k in "XYZ"]))
        grades = load_grades()
        for mid, record in self.db.get("MATL", {}).items():
            p = material_properties(record, self.unit, grades)
            self.model.add_material(f"M{mid}", p["E"], p["E"] / (2 * (1 + p["nu"])), p["nu"], p["gamma"])
        for sid, record in self.db.get("SECT", {}).items():
            s = section_properties(record, self.unit)
            # PyNite's local y is vertical for horizontal members, so its Iz is GEN's strong-axis Iyy
            self.model.add_section(f"S{sid}", s["A"], s["Izz"], s["Iyy"], s["J"])
        rotation_free = set(used)
        for eid, e in self.elems.items():
            if e["TYPE"] in FRAME_TYPES:
                self.model.add_member(f"E{eid}", str(e["NODE"][0]), str(e["NODE"][1]), f"M{e['MATL']}", f"S{e['SECT']}",
                                      rotation=e.get("ANGLE", 0))
                if e["TYPE"] == "TRUSS":
                    self.model.def_releases(f"E{eid}", Rxi=True, Ryi=True, Rzi=True, Ryj=True, Rzj=True)
                else:
                    rotation_free -= {str(n) for n in e["NODE"]} | set(e["NODE"])
            elif e["TYPE"] in PLANAR_TYPES:
                if len(e["NODE"]) != 4:
                    raise AnalysisError(f"Analysis failed: element {eid} has {len(e['NODE'])} nodes; "
                                        "the sandbox solves 4-node plates only.")
                thick = self.db["THIK"][str(e["SECT"])]["T_IN"]
                self.model.add_quad(f"E{eid}", *[str(n) for n in e["NODE"]], thick, f"M{e['MATL']}")
                rotation_free -= {str(n) for n in e["NODE"]} | set(e["NODE"])
        self._supports(rotation_free)
        self._loads()
        for name in self.cases:
            self.model.add_load_combo(name, {name: 1.0})
        return self.model

    def _supports(self, rotation_free):
        supported = {}
        # a plane structure type restrains the out-of-plane DOFs of every node (GEN order DX DY DZ RX RY RZ)
        plane = {1: "010101", 2: "100011", 3: "001110", 4: "000001"}.get(self.db.get("STYP", {}).get("1", {}).get("STYP", 0))
        if plane:
            for node in self.model.nodes:
                supported[node] = [plane[i] == "1" for i in [0, 2, 1, 3, 5, 4]]
        for key, item in _items(self.db.get("CONS", {})):
            code = item["CONSTRAINT"]
            flags = supported.setdefault(key, [False] * 6)
            # GEN DX DY DZ RX RY RZ → PyNite DX DZ DY RX RZ RY
            for gen_i, pyn_i in enumerate([0, 2, 1, 3, 5, 4]):
                flags[pyn_i] = flags[pyn_i] or code[gen_i] == "1"
        for node in rotation_free:  # nodes joined only by trusses have no rotational stiffness
            flags = supported.setdefault(str(node), [False] * 6)
            flags[3] = flags[4] = flags[5] = True
        for key, flags in supported.items():
            if self.model.nodes.get(key) is not None:
                self.model.def_support(key, *flags)
        for key, item in _items(self.db.get("NSPR", {})):
            for value, dof in zip(item.get("SDR", []), ["DX", "DZ", "DY", "RX", "RZ", "RY"]):
                if value:
                    self.model.def_support_spring(key, dof, value)
        for key, item in _items(self.db.get("FRLS", {})):
            def released(flag):  # GEN Fx Fy Fz Mx My Mz → PyNite Dx Dz Dy Rx Rz Ry
                return {"Dx": flag[0] == "1", "Dz": flag[1] == "1", "Dy": flag[2] == "1",
                        "Rx": flag[3] == "1", "Rz": flag[4] == "1", "Ry": flag[5] == "1"}
            i, j = released(item["FLAG_I"]), released(item["FLAG_J"])
            self.model.def_releases(f"E{key}", **{k + "i": v for k, v in i.items()}, **{k + "j": v for k, v in j.items()})

    def _node_force(self, node, vector6, case):
        f = gen_to_pynite(vector6[:3])
        m = gen_to_pynite(vector6[3:])
        for name, value in zip(["FX", "FY", "FZ", "MX", "MY", "MZ"], f + m):
            if value:
                if self.model.nodes.get(str(node)) is None:
                    raise AnalysisError(f"Analysis failed: node {node} carries a load but no element.")
                self.model.add_node_load(str(node), name, value, case)
                self.loaded.add(case)

    def _case(self, name):
        if name not in self.cases:
            raise AnalysisError(f"Analysis failed: load case '{name}' does not exist.")
        return name

    def _planar_area(self, e):
        pts = [[self.nodes[str(n)][k] for k in "XYZ"] for n in e["NODE"]]
        a = [pts[1][i] - pts[0][i] for i in range(3)]
        b = [pts[2][i] - pts[0][i] for i in range(3)]
        c = [pts[3][i] - pts[0][i] for i in range(3)] if len(pts) == 4 else b
        def cross(u, v):
            return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
        n1, n2 = cross(a, b), cross(b, c)
        area = (math.dist([0, 0, 0], n1) + (math.dist([0, 0, 0], n2) if len(pts) == 4 else 0)) / 2
        return area

    def _loads(self):
        db = self.db
        for key, item in _items(db.get("CNLD", {})):
            self._node_force(key, [item.get(k, 0) for k in ("FX", "FY", "FZ", "MX", "MY", "MZ")], self._case(item["LCNAME"]))
        direction = {"GX": ("FX", 1), "GY": ("FZ", -1), "GZ": ("FY", 1), "LX": ("Fx", 1), "LY": ("Fz", -1), "LZ": ("Fy", 1)}
        for key, item in _items(db.get("BMLD", {})):
            case = self._case(item["LCNAME"])
            pyn_dir, sign = direction[item["DIRECTION"]]
            member = self.model.members[f"E{key}"]
            length = member.L()
            d, p = item["D"], item["P"]
            if item["TYPE"] == "UNILOAD":
                self.model.add_member_dist_load(f"E{key}", pyn_dir, sign * p[0], sign * p[1], d[0] * length, d[1] * length, case)
            else:
                self.model.add_member_pt_load(f"E{key}", pyn_dir, sign * p[0], d[0] * length, case)
            self.loaded.add(case)
        for _, record in db.get("BODF", {}).items():
            case = self._case(record["LCNAME"])
            fv = record["FV"]
            for axis, value in zip(["FX", "FY", "FZ"], gen_to_pynite(fv)):
                if value:
                    if self.model.members:
                        self.model.add_member_self_weight(axis, value, case)
            for eid, e in self.elems.items():
                if e["TYPE"] in PLANAR_TYPES:
                    gamma = material_properties(db["MATL"][str(e["MATL"])], self.unit)["gamma"]
                    weight = self._planar_area(e) * db["THIK"][str(e["SECT"])]["T_IN"] * gamma
                    for n in e["NODE"]:
                        self._node_force(n, [w * weight / len(e["NODE"]) for w in fv] + [0, 0, 0], case)
            self.loaded.add(case)
        axis_of = {"GX": 0, "GY": 1, "GZ": 2}
        for key, item in _items(db.get("PRES", {})):
            case = self._case(item["LCNAME"])
            if item["DIRECTION"] not in axis_of:
                raise AnalysisError(f"Analysis failed: pressure direction {item['DIRECTION']} is not simulated (use GX, GY or GZ).")
            e = self.elems[str(key)]
            total = item["FORCES"][0] * self._planar_area(e)
            for n in e["NODE"]:
                vec = [0.0] * 6
                vec[axis_of[item["DIRECTION"]]] = total / len(e["NODE"])
                self._node_force(n, vec, case)
        self._floor_loads()
        self._story_loads()
        if not self.loaded:
            raise AnalysisError("[Error] Load information has not been entered for Analysis.")

    def _beam_between(self, a, b):
        for eid, e in self.elems.items():
            if e["TYPE"] == "BEAM" and {int(a), int(b)} == {int(n) for n in e["NODE"]}:
                return eid
        return None

    def _floor_loads(self):
        types = {r["NAME"]: r for r in self.db.get("FBLD", {}).values()}
        for record in self.db.get("FBLA", {}).values():
            ftype = types[record["FLOOR_LOAD_TYPE_NAME"]]
            nodes = record["NODES"]
            pts = [[self.nodes[str(n)][k] for k in "XYZ"] for n in nodes]
            area = _polygon_area_xy([p[:2] for p in pts])
            edges = list(zip(nodes, nodes[1:] + nodes[:1]))
            lengths = [math.dist(pts[i], pts[(i + 1) % len(pts)]) for i in range(len(pts))]
            perimeter = sum(lengths)
            for item in ftype["ITEM"]:
                case = self._case(item["LCNAME"])
                w = item["FLOOR_LOAD"] * area / perimeter  # force per length of the polygon's edges
                for (a, b), length in zip(edges, lengths):
                    beam = self._beam_between(a, b)
                    if beam is not None:
                        self.model.add_member_dist_load(f"E{beam}", "FY", w, w, 0, length, case)
                    else:
                        for n in (a, b):
                            self._node_force(n, [0, 0, w * length / 2, 0, 0, 0], case)
                self.loaded.add(case)

    def _story_loads(self):
        stories = {r["STORY_NAME"]: r["STORY_LEVEL"] for r in self.db.get("STOR", {}).values()}
        case_by_key = {key: r["NAME"] for key, r in self.db.get("STLD", {}).items()}
        for table, entries, fx, fy in (("SWIND", "ADDITIONAL_LOAD", "ALONG_X", "ALONG_Y"),
                                       ("SSEIS", "SEISMIC_FORCE", "FORCE_X", "FORCE_Y")):
            for key, record in self.db.get(table, {}).items():
                case = case_by_key[key]
                for entry in record.get(entries, []):
                    level = stories[entry["STORY_NAME"]]
                    at_level = [nid for nid in self.model.nodes if abs(self.nodes[nid]["Z"] - level) < TOL]
                    if not at_level:
                        raise AnalysisError(f"Analysis failed: no node lies on story {entry['STORY_NAME']} (Z = {level}).")
                    sx = record.get("SCALE_FACTOR_X", 1) * entry.get(fx, 0) / len(at_level)
                    sy = record.get("SCALE_FACTOR_Y", 1) * entry.get(fy, 0) / len(at_level)
                    for nid in at_level:
                        self._node_force(nid, [sx, sy, 0, 0, 0, 0], case)


def _node_vector(node, prefix, combo):
    values = [getattr(node, prefix + c)[combo] for c in ("X", "Y", "Z")]
    moments = [getattr(node, ("Rxn" if prefix == "RxnF" else "R") + ("M" if prefix == "RxnF" else "") + c)[combo]
               for c in ("X", "Y", "Z")]
    return pynite_to_gen(values) + pynite_to_gen(moments)


def _member_forces(member, combo):
    length = member.L()
    out = {}
    for part, r in PARTS.items():
        x = r * length
        # GEN local z = PyNite local y (depth); GEN local y = -PyNite local z. Sagging moments positive.
        out[part] = [member.axial(x, combo), -member.shear("Fz", x, combo), member.shear("Fy", x, combo),
                     member.torque(x, combo), -member.moment("Mz", x, combo), member.moment("My", x, combo)]
    return out


def analyse(db: dict) -> dict:
    """Per static load case: reactions and displacements per node, member forces per beam at 5 parts."""
    builder = _Builder(db)
    model = builder.build()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.analyze_linear(check_stability=True, check_statics=False)
    except Exception as err:  # PyNite raises plain exceptions for singular/unstable models
        raise AnalysisError(f"Analysis failed: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}") from err
    supported = {k for k, _ in _items(db.get("CONS", {}))} | {k for k, _ in _items(db.get("NSPR", {}))}
    results = {}
    for case in builder.cases:
        reactions = {n: _node_vector(model.nodes[n], "RxnF", case) for n in model.nodes if n in supported}
        displacements = {n: _node_vector(model.nodes[n], "D", case) for n in model.nodes}
        forces = {name[1:]: _member_forces(m, case) for name, m in model.members.items()}
        results[case] = {"reactions": reactions, "displacements": displacements, "beam_forces": forces}
    return results


def combine(results: dict, combos: dict) -> dict:
    """Results of load combinations (LCOM-GEN records) from the case results: add, envelope (max/min), ABS, SRSS."""
    out = {}

    def resolve(name):
        if name in out:
            return out[name]
        record = combos[name]
        terms = []
        for item in record["vCOMB"]:
            source = results[item["LCNAME"]] if item.get("ANAL", "ST") == "ST" else resolve(item["LCNAME"])
            terms.append((item["FACTOR"], source))
        kind = record.get("iTYPE", 0)
        out[name] = _combine_terms(terms, kind)
        return out[name]

    for name in combos:
        resolve(name)
    return out


def _combine_terms(terms, kind):
    def merge(path_values):
        vectors = [[f * v for v in vec] for f, vec in path_values]
        if kind == 0:
            return [sum(c) for c in zip(*vectors)]
        if kind == 1:
            return [max(c) for c in zip(*vectors)]  # the max half of the envelope; min is reported beside it
        if kind == 2:
            return [sum(abs(x) for x in c) for c in zip(*vectors)]
        return [math.sqrt(sum(x * x for x in c)) for c in zip(*vectors)]

    first = terms[0][1]
    combined = {"reactions": {}, "displacements": {}, "beam_forces": {}}
    for kind_key in ("reactions", "displacements"):
        for node in first[kind_key]:
            combined[kind_key][node] = merge([(f, r[kind_key][node]) for f, r in terms])
    for elem, parts in first["beam_forces"].items():
        combined["beam_forces"][elem] = {part: merge([(f, r["beam_forces"][elem][part]) for f, r in terms]) for part in parts}
    return combined
