"""Section properties (area, second moments, torsion constant) for the GEN NX sandbox's solver.

GEN NX section axes: local y along the width, local z along the depth; Iyy is the strong axis of a beam.

>>> props = shape_properties("SB", [0.6, 0.3])
>>> round(props["A"], 4), round(props["Iyy"], 6)
(0.18, 0.0054)
>>> parse_h_name("H 400x200x8/13")
[400.0, 200.0, 8.0, 13.0]
"""
from __future__ import annotations

import math
import re

# A few rolled shapes of the AISC and EN databases: [H, B, tw, tf] in mm (published nominal dimensions).
ROLLED_MM = {
    ("AISC", "W14X22"): [349.0, 127.0, 5.84, 8.51], ("AISC", "W12X26"): [310.0, 165.0, 5.84, 9.65],
    ("AISC", "W10X33"): [247.0, 202.0, 7.37, 11.0], ("AISC", "W8X31"): [203.0, 203.0, 7.24, 11.0],
    ("EN", "HEA300"): [290.0, 300.0, 8.5, 14.0], ("EN", "HEB300"): [300.0, 300.0, 11.0, 19.0],
    ("EN", "IPE300"): [300.0, 150.0, 7.1, 10.7], ("EN", "IPE400"): [400.0, 180.0, 8.6, 13.5],
}
_H_NAME = re.compile(r"^H[\s-]*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*[/xX×]\s*(\d+(?:\.\d+)?)$")


class SectionError(ValueError):
    """Dimensions that do not describe a section, or a database name the sandbox does not know."""


def parse_h_name(name: str) -> list[float] | None:
    """[H, B, tw, tf] in mm from a KS-style H-shape name such as 'H 400x200x8/13' (None if it is not one)."""
    match = _H_NAME.match(name.strip())
    return [float(g) for g in match.groups()] if match else None


def _rect_torsion(a: float, b: float) -> float:
    a, b = max(a, b), min(a, b)
    ratio = b / a
    return a * b**3 * (1 / 3 - 0.21 * ratio * (1 - ratio**4 / 12))


def shape_properties(shape: str, size: list[float]) -> dict:
    """A, Iyy (strong axis), Izz, J for the user-dimension shapes the course uses (SB, SR, P, H)."""
    if not size or any(not isinstance(v, (int, float)) or v < 0 for v in size):
        raise SectionError(f"vSIZE must be non-negative numbers, got {size}")
    if shape == "SB" and len(size) >= 2 and min(size[:2]) > 0:
        h, b = size[:2]
        return {"A": b * h, "Iyy": b * h**3 / 12, "Izz": h * b**3 / 12, "J": _rect_torsion(h, b)}
    if shape == "SR" and size[0] > 0:
        d = size[0]
        i = math.pi * d**4 / 64
        return {"A": math.pi * d**2 / 4, "Iyy": i, "Izz": i, "J": 2 * i}
    if shape == "P" and len(size) >= 2 and 0 < 2 * size[1] < size[0]:
        d, t = size[:2]
        di = d - 2 * t
        i = math.pi * (d**4 - di**4) / 64
        return {"A": math.pi * (d**2 - di**2) / 4, "Iyy": i, "Izz": i, "J": 2 * i}
    if shape == "H" and len(size) >= 4:
        h, b1, tw, tf1 = size[:4]
        b2 = size[4] if len(size) > 4 and size[4] else b1
        tf2 = size[5] if len(size) > 5 and size[5] else tf1
        web = h - tf1 - tf2
        if min(h, b1, tw, tf1, b2, tf2) <= 0 or web <= 0 or tw > min(b1, b2):
            raise SectionError(f"H-section dimensions do not fit together: {size}")
        parts = [(b1 * tf1, h - tf1 / 2, b1 * tf1**3 / 12, tf1 * b1**3 / 12),
                 (tw * web, tf2 + web / 2, tw * web**3 / 12, web * tw**3 / 12),
                 (b2 * tf2, tf2 / 2, b2 * tf2**3 / 12, tf2 * b2**3 / 12)]
        area = sum(p[0] for p in parts)
        zc = sum(p[0] * p[1] for p in parts) / area
        iyy = sum(p[2] + p[0] * (p[1] - zc) ** 2 for p in parts)
        izz = sum(p[3] for p in parts)
        j = (b1 * tf1**3 + b2 * tf2**3 + web * tw**3) / 3
        return {"A": area, "Iyy": iyy, "Izz": izz, "J": j}
    raise SectionError(f"shape {shape} with vSIZE {size} is not supported by the sandbox (SB, SR, P, H are)")


def db_section_mm(shape: str, db_name: str, name: str) -> list[float]:
    """[H, B, tw, tf] in mm of a database H-shape: parsed from a KS name, or from the small AISC/EN table."""
    if shape == "H":
        dims = parse_h_name(name) if db_name.startswith("KS") or db_name == "JIS" else None
        dims = dims or ROLLED_MM.get((db_name, name.replace(" ", "").upper()))
        if dims:
            return dims
    raise SectionError(f"Failed to get section data for: {name}")
