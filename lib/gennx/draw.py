"""Draw a GEN NX model in 3D with matplotlib: its members, supports and loads, and after analysis its deflected shape.

The drawing reads the model through the API's own requests — GET `/db/NODE`, `/db/ELEM`, `/db/CONS`,
`/db/CNLD`, `/db/BMLD`, ... and, after `/doc/ANAL`, POST `/post/TABLE` (DISPLACEMENTG, REACTIONG) — so it
draws the course sandbox and a real GEN NX (`GenNxClient`) alike and never keeps a copy of the model.

Every drawn thing is one matplotlib artist whose gid says what it is: `member:3` (a beam, column or truss),
`face:7` (a plate or wall), `support:1`, `load:DL:...` (one arrow), `deflected:3`, `reaction:1`, and `nodes`
(one marker line holding every node). `drawn()` counts them; the tests and notebook 07 read them back.
A record that refers to something missing (an element on a deleted node, a load on a missing element) is
skipped and counted in a note on the drawing, never an exception.

>>> from lib.gennx.sandbox import GenNxSandbox
>>> box = GenNxSandbox()
>>> _ = box.request("POST", "/db/NODE", {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}, "2": {"X": 0, "Y": 0, "Z": 3}}})
>>> _ = box.request("POST", "/db/CONS", {"Assign": {"1": {"ITEMS": [{"CONSTRAINT": "1111111"}]}}})
>>> drawn(figure(box))
{'node': 2, 'support': 1}
"""
from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

HIGHLIGHT = "#ff6a00"          # the last change
COLUMN, BEAM, TRUSS = "#1f4e79", "#2e86c1", "#8e44ad"
FACE = {"WALL": "#a6acaf", "PLATE": "#f5cba7"}
CASE_COLOURS = ["#c0392b", "#27ae60", "#d68910", "#7d3c98", "#138d75", "#b03a2e", "#2471a3", "#6e2c00"]
REACTION, UNDEFORMED, DEFLECTED = "#117a65", "#bfc9ca", "#c0392b"
ARROWS_PER_LINE_LOAD = 5       # arrows along a beam's distributed load
LOAD_ARROW = 0.18              # the largest load arrow, as a share of the model's size
DEFLECTION = 0.10              # the largest deflection drawn, as a share of the model's size (auto scale)
NODE_IDS_UP_TO = 40            # node ids are written when there are this many nodes or fewer
FRAME_TYPES = ("BEAM", "TRUSS", "TENSTR", "COMPTR")
FACE_TYPES = ("PLATE", "WALL", "PLSTRS", "PLSTRN", "AXISYM")
TABLES = ("UNIT", "NODE", "ELEM", "CONS", "NSPR", "STLD", "LCOM-GEN", "CNLD", "BMLD", "PRES", "BODF", "FBLD", "FBLA")


# ---------------------------------------------------------------- reading through the API

def _get(api, table: str) -> dict:
    """The rows of one table through GET /db/TABLE ({} when empty, missing or answered with an error)."""
    body = api.request("GET", f"/db/{table}")
    rows = body.get(table) if isinstance(body, dict) else None
    return rows if isinstance(rows, dict) else {}


def _vec(values) -> np.ndarray | None:
    try:
        v = np.array([float(x) for x in values], dtype=float)
    except (TypeError, ValueError):
        return None
    return v if v.shape == (3,) and np.all(np.isfinite(v)) else None


def _items(table: dict):
    for key, record in table.items():
        items = record.get("ITEMS") if isinstance(record, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                yield str(key), item


@dataclass
class Model:
    """What `read_model` read: coordinates, elements, supports and loads, keyed by the API's string ids."""
    unit: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)        # id -> xyz
    elems: dict = field(default_factory=dict)        # id -> (TYPE, [node ids], ANGLE)
    supports: dict = field(default_factory=dict)     # node id -> "fixed" | "pinned" | "roller" | "partial" | "spring"
    cases: list = field(default_factory=list)        # static load case names, in order
    combos: list = field(default_factory=list)       # combination names
    tables: dict = field(default_factory=dict)       # the raw load tables (CNLD, BMLD, PRES, BODF, FBLD, FBLA)
    skipped: list = field(default_factory=list)      # records that refer to something missing

    @property
    def size(self) -> float:
        if not self.nodes:
            return 1.0
        pts = np.array(list(self.nodes.values()))
        return float(np.ptp(pts, axis=0).max()) or 1.0


def fixity(code: str) -> str:
    """The support symbol for a GEN NX constraint code (DX DY DZ RX RY RZ [RW]).

    >>> [fixity(c) for c in ("1111111", "1110000", "0010000", "1110110")]
    ['fixed', 'pinned', 'roller', 'partial']
    """
    code = (str(code) + "000000")[:6]
    if code == "111111":
        return "fixed"
    if code[:3] == "111" and code[3:] == "000":
        return "pinned"
    if code[3:] == "000":
        return "roller"
    return "partial"


def read_model(api) -> Model:
    """Read the tables the drawing needs through GET requests; malformed or dangling records are skipped."""
    db = {name: _get(api, name) for name in TABLES}
    m = Model(unit=next(iter(db["UNIT"].values()), {}) or {})
    for key, r in db["NODE"].items():
        xyz = _vec([r.get(a) for a in "XYZ"]) if isinstance(r, dict) else None
        if xyz is not None:
            m.nodes[str(key)] = xyz
    for key, r in db["ELEM"].items():
        nodes = r.get("NODE") if isinstance(r, dict) else None
        nodes = [str(n) for n in nodes if str(n) != "0"] if isinstance(nodes, list) else []
        if not nodes or any(n not in m.nodes for n in nodes):
            m.skipped.append(f"ELEM {key}")
            continue
        try:
            angle = float(r.get("ANGLE", 0) or 0)
        except (TypeError, ValueError):
            angle = 0.0
        m.elems[str(key)] = (str(r.get("TYPE", "BEAM")).upper(), nodes, angle)
    for key, item in _items(db["CONS"]):
        if key in m.nodes:
            m.supports[key] = fixity(item.get("CONSTRAINT", ""))
        else:
            m.skipped.append(f"CONS {key}")
    for key, _ in _items(db["NSPR"]):
        if key in m.nodes:
            m.supports.setdefault(key, "spring")
    m.cases = [r["NAME"] for _, r in sorted(db["STLD"].items(), key=lambda kv: str(kv[0]).zfill(9))
               if isinstance(r, dict) and isinstance(r.get("NAME"), str)]
    m.combos = [r["NAME"] for r in db["LCOM-GEN"].values() if isinstance(r, dict) and isinstance(r.get("NAME"), str)]
    m.tables = {name: db[name] for name in ("CNLD", "BMLD", "PRES", "BODF", "FBLD", "FBLA")}
    return m


def _result_table(api, ttype: str, label: str, columns: list[str]):
    """{node: [values]} and the unit label of one /post/TABLE answer, or None when there are no results."""
    body = api.request("POST", "/post/TABLE", {"Argument": {"TABLE_NAME": "draw", "TABLE_TYPE": ttype,
                                                            "LOAD_CASE_NAMES": [label]}})
    if not isinstance(body, dict) or "error" in body or not body:
        return None
    table = next(iter(body.values()))
    head, data = (table.get("HEAD"), table.get("DATA")) if isinstance(table, dict) else (None, None)
    if not isinstance(head, list) or not isinstance(data, list) or not all(c in head for c in ["Node", *columns]):
        return None
    rows = {}
    for row in data:
        try:
            rows[str(row[head.index("Node")])] = [float(row[head.index(c)]) for c in columns]
        except (IndexError, TypeError, ValueError):
            continue
    return (rows, table) if rows else None


def result_label(model: Model, case: str | None) -> str | None:
    """The table name of a load case or combination: `DL(ST)`, `1.2D+1.6L(CB)`; default the first combination."""
    if case is None:
        case = (model.combos or model.cases or [None])[0]
        if case is None:
            return None
    if case.endswith(")") and "(" in case:
        return case
    return f"{case}({'CB' if case in model.combos and case not in model.cases else 'ST'})"


@dataclass
class Results:
    label: str
    displacements: dict      # node -> [DX DY DZ RX RY RZ]
    reactions: dict          # node -> [FX FY FZ MX MY MZ]
    dist: str = ""
    force: str = ""


def read_results(api, model: Model, case: str | None = None) -> Results | None:
    """Displacements and reactions of one load case or combination, or None before an analysis."""
    label = result_label(model, case)
    if label is None:
        return None
    disp = _result_table(api, "DISPLACEMENTG", label, ["DX", "DY", "DZ", "RX", "RY", "RZ"])
    if disp is None:
        return None
    reac = _result_table(api, "REACTIONG", label, ["FX", "FY", "FZ", "MX", "MY", "MZ"])
    return Results(label, disp[0], reac[0] if reac else {}, str(disp[1].get("DIST", "")),
                   str(reac[1].get("FORCE", "")) if reac else "")


# ---------------------------------------------------------------- geometry helpers

def local_axes(a: np.ndarray, b: np.ndarray, angle: float = 0.0):
    """Element axes (x along i→j; z up for horizontal members, y = global Y for vertical ones), rotated by ANGLE°."""
    x = (b - a) / np.linalg.norm(b - a)
    if abs(x[2]) > 0.999:
        y = np.array([0.0, 1.0, 0.0])
        z = np.cross(x, y)
    else:
        y = np.cross([0.0, 0.0, 1.0], x)
        y /= np.linalg.norm(y)
        z = np.cross(x, y)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return x, c * y + s * z, -s * y + c * z


def hermite(a, b, ua, ub, ra, rb, n: int = 12) -> np.ndarray:
    """Points of a bent member: end translations u and rotations r (radians) interpolated by cubic Hermite shapes.

    The ends land exactly on a + ua and b + ub; the slopes follow the end rotations.

    >>> pts = hermite(np.zeros(3), np.array([2.0, 0, 0]), np.zeros(3), np.array([0, 0, -1.0]), np.zeros(3), np.zeros(3), n=3)
    >>> pts[-1].tolist(), round(float(pts[1][2]), 3)
    ([2.0, 0.0, -1.0], -0.5)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.linalg.norm(b - a))
    e = (b - a) / length
    t = np.linspace(0.0, 1.0, n)[:, None]
    h1, h2, h3, h4 = 1 - 3 * t**2 + 2 * t**3, t - 2 * t**2 + t**3, 3 * t**2 - 2 * t**3, -(t**2) + t**3
    u = h1 * ua + h3 * ub + length * (h2 * np.cross(ra, e) + h4 * np.cross(rb, e))
    return a + t * (b - a) + u


def nice_scale(value: float) -> float:
    """Round a scale factor down to 1, 2 or 5 × 10^k.

    >>> nice_scale(437.0), nice_scale(0.9)
    (200.0, 0.5)
    """
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(max(m for m in (1, 2, 5) if m * power <= value * (1 + 1e-12)) * power)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


# ---------------------------------------------------------------- drawing

class _Painter:
    """Draws into one 3D axes and keeps the points drawn, so the view can be fitted to them."""

    def __init__(self, ax, model: Model):
        self.ax, self.m, self.size = ax, model, model.size
        self.points: list[np.ndarray] = list(model.nodes.values())

    def line(self, pts, gid, **style):
        pts = np.asarray(pts, float)
        (artist,) = self.ax.plot(pts[:, 0], pts[:, 1], pts[:, 2], **style)
        artist.set_gid(gid)
        self.points += list(pts)
        return artist

    def face(self, pts, gid, **style):
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        poly = Poly3DCollection([np.asarray(pts, float)], **style)
        poly.set_gid(gid)
        self.ax.add_collection3d(poly)
        return poly

    def text(self, at, words, gid, **style):
        artist = self.ax.text(*at, words, gid=gid, **style)
        return artist

    def arrow(self, tip, vector, gid, colour, width=1.4, double=False):
        """One artist: the shaft from tail to tip and a two-line head at the tip."""
        tip, vector = np.asarray(tip, float), np.asarray(vector, float)
        length = float(np.linalg.norm(vector))
        d = vector / length
        side = np.cross(d, [0.0, 0.0, 1.0] if abs(d[2]) < 0.9 else [1.0, 0.0, 0.0])
        side /= np.linalg.norm(side)
        head = min(0.3 * length, 0.04 * self.size) + 1e-12
        pts = [tip - vector, tip, tip - head * d + 0.5 * head * side, tip, tip - head * d - 0.5 * head * side]
        if double:   # a moment: a second head behind the first
            back = tip - 1.6 * head * d
            pts += [back, back - head * d + 0.5 * head * side, back, back - head * d - 0.5 * head * side]
        return self.line(pts, gid, color=colour, lw=width, solid_capstyle="round")

    # -------------------------------------------------------- pieces

    def members(self, highlight: set, colour=None, prefix="member", width=2.2, alpha=1.0):
        for eid, (kind, nodes, _) in self.m.elems.items():
            pts = [self.m.nodes[n] for n in nodes]
            hot = eid in highlight
            if kind in FRAME_TYPES:
                vertical = abs(pts[1][2] - pts[0][2]) > 0.999 * np.linalg.norm(pts[1] - pts[0])
                base = colour or (TRUSS if kind != "BEAM" else COLUMN if vertical else BEAM)
                self.line(pts[:2], f"{prefix}:{eid}", color=HIGHLIGHT if hot else base, alpha=alpha,
                          lw=width * (1.8 if hot else 1.0), ls="--" if kind != "BEAM" and not colour else "-")
            elif kind in FACE_TYPES:
                fill = colour or FACE.get(kind, FACE["PLATE"])
                self.face(pts, f"face:{eid}" if prefix == "member" else f"{prefix}face:{eid}",
                          facecolor=HIGHLIGHT if hot else fill, alpha=0.45 * alpha, edgecolor="#555555",
                          linewidths=1.5 if hot else 0.6)

    def nodes(self, highlight: set, ids: bool):
        if not self.m.nodes:
            return
        self.line(list(self.m.nodes.values()), "nodes", ls="", marker="o", ms=3.5, color="#222222")
        hot = [p for n, p in self.m.nodes.items() if n in highlight]
        if hot:
            self.line(hot, "highlight:nodes", ls="", marker="o", ms=9, mfc="none", mec=HIGHLIGHT, mew=2)
        if ids and len(self.m.nodes) <= NODE_IDS_UP_TO:
            offset = 0.015 * self.size
            for n, p in self.m.nodes.items():
                self.text(p + offset, n, f"nodeid:{n}", fontsize=7, color=HIGHLIGHT if n in highlight else "#34495e")

    def supports(self, highlight: set):
        marker = {"fixed": ("s", True), "pinned": ("^", True), "roller": ("o", False), "partial": ("P", True),
                  "spring": ("D", False)}
        for n, kind in self.m.supports.items():
            shape, filled = marker[kind]
            colour = HIGHLIGHT if n in highlight else "#145a32"
            self.line([self.m.nodes[n]], f"support:{n}:{kind}", ls="", marker=shape, ms=10,
                      mfc=colour if filled else "white", mec=colour, mew=1.8)

    def loads(self, highlight: dict, only: list | None):
        """Nodal forces, beam loads and pressures as arrows scaled by magnitude (each kind to its own largest)."""
        m = self.m
        wanted = set(only or m.cases)
        colour = {c: CASE_COLOURS[i % len(CASE_COLOURS)] for i, c in enumerate(m.cases)}
        arrows = []      # (tip, vector of the load, kind, case, gid, hot, double)
        for key, it in _items(m.tables["CNLD"]):
            case = it.get("LCNAME")
            if case not in wanted:
                continue
            if key not in m.nodes:
                m.skipped.append(f"CNLD {key}")
                continue
            force, moment = _vec([it.get(c, 0) for c in ("FX", "FY", "FZ")]), _vec([it.get(c, 0) for c in ("MX", "MY", "MZ")])
            hot = key in highlight.get("CNLD", ())
            if force is not None and np.linalg.norm(force) > 0:
                arrows.append((m.nodes[key], force, "force", case, f"load:{case}:CNLD:{key}:{it.get('ID', '')}", hot, False))
            if moment is not None and np.linalg.norm(moment) > 0:
                arrows.append((m.nodes[key], moment, "moment", case, f"load:{case}:CNLD:{key}:{it.get('ID', '')}:M", hot, True))
        for key, it in _items(m.tables["BMLD"]):
            case = it.get("LCNAME")
            if case not in wanted:
                continue
            if key not in m.elems or m.elems[key][0] not in FRAME_TYPES:
                m.skipped.append(f"BMLD {key}")
                continue
            arrows += self._beam_load(key, it, case, key in highlight.get("BMLD", ()))
        for key, it in _items(m.tables["PRES"]):
            case = it.get("LCNAME")
            if case not in wanted:
                continue
            if key not in m.elems or len(m.elems[key][1]) < 3:
                m.skipped.append(f"PRES {key}")
                continue
            arrows += self._pressure(key, it, case, key in highlight.get("PRES", ()))
        longest = {}
        for _, v, kind, *_ in arrows:
            longest[kind] = max(longest.get(kind, 0.0), float(np.linalg.norm(v)))
        labelled = len(arrows) <= 12
        for tip, v, kind, case, gid, hot, double in arrows:
            length = LOAD_ARROW * self.size * max(float(np.linalg.norm(v)) / longest[kind], 0.08)
            vector = v / np.linalg.norm(v) * length
            self.arrow(tip, vector, gid, HIGHLIGHT if hot else colour.get(case, "#555555"), double=double)
            if labelled:
                self.text(tip - vector, f"{case} {_fmt(float(np.linalg.norm(v)))}", f"loadtext:{gid}", fontsize=7,
                          color=colour.get(case, "#555555"))
        for key, r in m.tables["FBLA"].items():
            self._floor(key, r, colour, wanted)
        weight = {r.get("LCNAME") for r in m.tables["BODF"].values() if isinstance(r, dict)}
        handles = [Line2D([], [], color=colour[c], lw=2, label=c + (" (+self-weight)" if c in weight else ""))
                   for c in m.cases if c in wanted]
        if handles:
            self.ax.legend(handles=handles, loc="upper left", fontsize=7, title="load cases", title_fontsize=7,
                           frameon=False)

    def _beam_load(self, key, it, case, hot):
        kind, nodes, angle = self.m.elems[key]
        a, b = self.m.nodes[nodes[0]], self.m.nodes[nodes[1]]
        x, y, z = local_axes(a, b, angle)
        axis = {"GX": [1, 0, 0], "GY": [0, 1, 0], "GZ": [0, 0, 1], "LX": x, "LY": y, "LZ": z}.get(it.get("DIRECTION"))
        d, p = it.get("D"), it.get("P")
        if axis is None or not isinstance(d, list) or not isinstance(p, list) or len(d) < 2 or len(p) < 2:
            self.m.skipped.append(f"BMLD {key}")
            return []
        try:
            d, p = [float(v) for v in d[:2]], [float(v) for v in p[:2]]
        except (TypeError, ValueError):
            self.m.skipped.append(f"BMLD {key}")
            return []
        axis = np.asarray(axis, float)
        gid = f"load:{case}:BMLD:{key}:{it.get('ID', '')}"
        if it.get("TYPE") == "CONLOAD" or abs(d[1] - d[0]) < 1e-9:
            return [(a + d[0] * (b - a), p[0] * axis, "point", case, gid, hot, False)] if p[0] else []
        out, n = [], ARROWS_PER_LINE_LOAD
        shift = 0.25 + 0.5 * (self.m.cases.index(case) % 2 if case in self.m.cases else 0)   # two cases side by side
        for i, t in enumerate(d[0] + (d[1] - d[0]) * (np.arange(n) + shift) / n):
            value = p[0] + (p[1] - p[0]) * (t - d[0]) / (d[1] - d[0])
            if value:
                out.append((a + t * (b - a), value * axis, "line", case, f"{gid}:{i}", hot, False))
        return out

    def _pressure(self, key, it, case, hot):
        pts = [self.m.nodes[n] for n in self.m.elems[key][1]]
        normal = np.cross(pts[1] - pts[0], pts[2] - pts[0])
        normal = normal / (np.linalg.norm(normal) or 1.0)
        axis = {"GX": [1, 0, 0], "GY": [0, 1, 0], "GZ": [0, 0, 1], "LZ": normal}.get(it.get("DIRECTION"), normal)
        forces = it.get("FORCES")
        value = forces[0] if isinstance(forces, list) and forces else 0
        if not isinstance(value, (int, float)) or not value:
            return []
        return [(np.mean(pts, axis=0), value * np.asarray(axis, float), "pressure", case,
                 f"load:{case}:PRES:{key}:{it.get('ID', '')}", hot, False)]

    def _floor(self, key, record, colour, wanted):
        if not isinstance(record, dict):
            return
        nodes = [str(n) for n in record.get("NODES", []) or []]
        if len(nodes) < 3 or any(n not in self.m.nodes for n in nodes):
            self.m.skipped.append(f"FBLA {key}")
            return
        ftype = next((r for r in self.m.tables["FBLD"].values()
                      if isinstance(r, dict) and r.get("NAME") == record.get("FLOOR_LOAD_TYPE_NAME")), {})
        cases = [i.get("LCNAME") for i in ftype.get("ITEM", []) if isinstance(i, dict) and i.get("LCNAME") in wanted]
        if cases:
            pts = [self.m.nodes[n] for n in nodes + nodes[:1]]
            self.line(pts, f"floorload:{key}", color=colour.get(cases[0], "#555555"), ls=":", lw=1.5)

    # -------------------------------------------------------- results

    def deflected(self, res: Results, scale: float | None):
        zero = [0.0] * 6
        moved = {n: np.asarray(res.displacements.get(n, zero), float) for n in self.m.nodes}
        biggest = max((float(np.linalg.norm(v[:3])) for v in moved.values()), default=0.0)
        scale = scale if scale is not None else nice_scale(DEFLECTION * self.size / biggest) if biggest > 0 else 1.0
        for eid, (kind, nodes, _) in self.m.elems.items():
            u = [moved[n] for n in nodes]
            pts = [self.m.nodes[n] for n in nodes]
            if kind == "BEAM":
                curve = hermite(pts[0], pts[1], scale * u[0][:3], scale * u[1][:3], scale * u[0][3:], scale * u[1][3:])
                self.line(curve, f"deflected:{eid}", color=DEFLECTED, lw=2)
            elif kind in FRAME_TYPES:
                self.line([p + scale * v[:3] for p, v in zip(pts, u)], f"deflected:{eid}", color=DEFLECTED, lw=2)
            elif kind in FACE_TYPES:
                self.face([p + scale * v[:3] for p, v in zip(pts, u)], f"deflectedface:{eid}", facecolor=DEFLECTED,
                          alpha=0.3, edgecolor=DEFLECTED, linewidths=0.8)
        return scale, biggest

    def reactions(self, res: Results):
        forces = {n: np.asarray(v[:3], float) for n, v in res.reactions.items() if n in self.m.nodes}
        biggest = max((float(np.linalg.norm(f)) for f in forces.values()), default=0.0)
        if biggest <= 0:
            return
        for n, f in forces.items():
            size = float(np.linalg.norm(f))
            if size < 1e-9 * biggest:
                continue
            vector = f / size * LOAD_ARROW * self.size * max(size / biggest, 0.08)
            tip = self.m.nodes[n] - 0.02 * self.size * f / size
            self.arrow(tip, vector, f"reaction:{n}", REACTION, width=2)
            parts = [f"{c} {_fmt(v)}" for c, v in zip(("FX", "FY", "FZ"), f) if abs(v) >= 0.01 * biggest]
            self.text(tip - vector * 1.08, " ".join(parts), f"reactiontext:{n}", fontsize=7, color=REACTION,
                      ha="center", va="top")

    # -------------------------------------------------------- view

    def fit(self):
        ax = self.ax
        ax.set_axis_off()
        if not self.m.nodes:
            ax.text2D(0.5, 0.5, "empty model (no nodes yet)", transform=ax.transAxes, ha="center", gid="note:empty")
            return
        pts = np.array(self.points)
        low, high = pts.min(axis=0), pts.max(axis=0)
        span = np.maximum(high - low, 0.12 * self.size)   # a flat model still gets some depth
        centre = (low + high) / 2
        ax.set_xlim(centre[0] - span[0] / 2, centre[0] + span[0] / 2)
        ax.set_ylim(centre[1] - span[1] / 2, centre[1] + span[1] / 2)
        ax.set_zlim(centre[2] - span[2] / 2, centre[2] + span[2] / 2)
        ax.set_box_aspect(span / span.max())
        extent = np.ptp(np.array(list(self.m.nodes.values())), axis=0)
        if extent[1] < 1e-9 * self.size and extent[2] > 0:
            ax.view_init(elev=12, azim=-78)       # a plane frame in X-Z: look at its face
        elif extent[2] < 1e-9 * self.size:
            ax.view_init(elev=55, azim=-60)       # a plan (slab, grid): look down on it
        else:
            ax.view_init(elev=22, azim=-56)
        triad = low - 0.06 * self.size
        for axis, name in enumerate("XYZ"):
            end = triad.copy()
            end[axis] += 0.12 * self.size
            self.ax.plot(*np.array([triad, end]).T, color="#7f8c8d", lw=1, gid=f"triad:{name}")
            self.ax.text(*end, name, fontsize=7, color="#7f8c8d", gid=f"triadtext:{name}")
        if self.m.skipped:
            ax.text2D(0.0, 0.0, f"skipped {len(self.m.skipped)} record(s) that refer to missing items: "
                      + ", ".join(self.m.skipped[:4]) + (" …" if len(self.m.skipped) > 4 else ""),
                      transform=ax.transAxes, fontsize=7, color="#b03a2e", gid="note:skipped")


# ---------------------------------------------------------------- public entry points

def changed(request) -> dict:
    """Which records a request wrote ({TABLE: {ids}}), for highlighting the last change.

    >>> changed({"method": "POST", "path": "/db/ELEM", "body": {"Assign": {"3": {}}}})
    {'ELEM': {'3'}}
    >>> changed({"method": "POST", "path": "/doc/ANAL", "body": {}})
    {}
    """
    method, path, body = ((request.get("method"), request.get("path"), request.get("body")) if isinstance(request, dict)
                          else (getattr(request, "method", ""), getattr(request, "path", ""), getattr(request, "body", None)))
    parts = [p for p in str(path or "").split("/") if p]
    if len(parts) < 2 or parts[0].lower() != "db" or str(method).upper() == "DELETE":
        return {}
    assign = body.get("Assign") if isinstance(body, dict) else None
    return {parts[1].upper(): {str(k) for k in assign}} if isinstance(assign, dict) else {}


def draw_model(api, ax=None, *, highlight: dict | None = None, load_cases: list | None = None, title: str | None = None,
               model: Model | None = None):
    """Draw nodes, members, faces, supports and loads into a 3D axes (a new figure when ax is None); returns the axes."""
    ax = ax if ax is not None else Figure(figsize=(6, 5), dpi=100).add_subplot(projection="3d")
    model = model or read_model(api)
    hot = highlight or {}
    p = _Painter(ax, model)
    p.members(hot.get("ELEM", set()))
    p.nodes(hot.get("NODE", set()), ids=True)
    p.supports(hot.get("CONS", set()) | hot.get("NSPR", set()))
    p.loads(hot, load_cases)
    p.fit()
    ax.set_title(title if title is not None else "model", fontsize=9)
    return ax


def draw_deflected(api, ax=None, *, case: str | None = None, scale: float | None = None, model: Model | None = None,
                   results: Results | None = None):
    """Draw the deflected shape of a load case or combination (default: the first combination) over the undeformed
    model, with reaction arrows and values; `scale` multiplies the displacements (None: the largest is drawn as 10 %
    of the model's size). Returns the axes; before an analysis only the model and a note are drawn."""
    ax = ax if ax is not None else Figure(figsize=(6, 5), dpi=100).add_subplot(projection="3d")
    model = model or read_model(api)
    res = results or read_results(api, model, case)
    p = _Painter(ax, model)
    p.members(set(), colour=UNDEFORMED, prefix="undeformed", width=1.2)
    if res is None:
        p.fit()
        ax.set_title(f"no analysis results{' for ' + case if case else ''} (run /doc/ANAL)", fontsize=9)
        return ax
    used, biggest = p.deflected(res, scale)
    p.supports(set())
    p.reactions(res)
    p.fit()
    ax.set_title(f"deflected shape: {res.label}  ·  scale ×{used:g}  ·  max {_fmt(biggest)} {res.dist}".rstrip(), fontsize=9)
    return ax


def figure(api, *, case: str | None = None, highlight=None, last: str | None = None, scale: float | None = None,
           size=(6, 5), dpi: int = 100, stack: str = "row") -> Figure:
    """The drawing the front ends show: the model (the last change highlighted) and, when the model has analysis
    results, its deflected shape and reactions beside it (`stack="row"`) or below it (`"column"`).
    `highlight`: a request (see `changed`) or {TABLE: ids}."""
    if highlight is not None and (hasattr(highlight, "path") or (isinstance(highlight, dict) and "path" in highlight)):
        request = highlight if isinstance(highlight, dict) else highlight.as_dict()
        last = last or f"{request.get('method')} {request.get('path')}"
        highlight = changed(request)
    model = read_model(api)
    res = read_results(api, model, case) if model.elems else None
    rows, cols = (2, 1) if stack == "column" else (1, 2)
    panels = (rows, cols) if res else (1, 1)
    fig = Figure(figsize=(size[0] * panels[1], size[1] * panels[0]), dpi=dpi)
    title = f"model — last: {last}" if last else "model"
    draw_model(api, fig.add_subplot(*panels, 1, projection="3d"), highlight=highlight, title=title, model=model)
    if res:
        draw_deflected(api, fig.add_subplot(*panels, 2, projection="3d"), scale=scale, model=model, results=res)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.02, top=1 - 0.5 / fig.get_figheight(), wspace=0.02, hspace=0.1)
    return fig


def drawn(obj) -> dict:
    """Count what a figure or axes shows, by kind (the gid before its first ':'); `node` counts node markers.

    Kinds: node, member, face, support, load, floorload, undeformed, deflected, deflectedface, reaction.
    """
    axes = obj.axes if isinstance(obj, Figure) else [obj]
    counts = Counter()
    keep = {"member", "face", "support", "load", "floorload", "undeformed", "deflected", "deflectedface", "reaction"}
    for ax in axes:
        for artist in ax.get_children():
            gid = artist.get_gid() or ""
            if gid == "nodes":
                counts["node"] += len(artist.get_data_3d()[0])
            elif gid.split(":")[0] in keep:
                counts[gid.split(":")[0]] += 1
    return dict(counts)


def artists(obj, kind: str) -> dict:
    """{gid: artist} of one kind (e.g. 'deflected'), for reading coordinates back (`get_data_3d()`)."""
    axes = obj.axes if isinstance(obj, Figure) else [obj]
    return {a.get_gid(): a for ax in axes for a in ax.get_children() if (a.get_gid() or "").split(":")[0] == kind}


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg; no pyplot, no display needed: safe in a server thread)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save(api, path, **options) -> Path:
    """Draw the model (and its deflected shape after analysis) and write it as an image; returns the path."""
    path = Path(path)
    path = path if path.suffix else path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = figure(api, **options)
    FigureCanvasAgg(fig)
    fig.savefig(path)
    return path
