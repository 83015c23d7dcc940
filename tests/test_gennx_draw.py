"""The model drawing, read back from the matplotlib artists: what is drawn, where it moved, what it skipped."""
import re

import numpy as np
import pytest
from matplotlib.colors import to_hex

from lib.gennx import example_frame, draw
from lib.gennx.sandbox import GenNxSandbox

from .gennx_models import CANTILEVER, CATALOGUE, E, base, build, cantilever


def length_of(line):
    x, y, z = (np.asarray(v) for v in line.get_data_3d())
    return float(np.linalg.norm([x[0] - x[1], y[0] - y[1], z[0] - z[1]]))


@pytest.fixture(scope="module")
def frame():
    """The 2-storey RC frame of lib.gennx.example_frame, built and analysed through tool calls."""
    box, _ = example_frame.run(echo=lambda *_: None)
    return box


def test_the_demo_frame_is_drawn_member_by_member(frame):
    ax = draw.draw_model(frame)
    # 8 columns + 8 beams, 12 nodes, 4 fixed supports, 8 beams × 2 load cases × 5 arrows
    assert draw.drawn(ax) == {"member": 16, "node": 12, "support": 4, "load": 16 * draw.ARROWS_PER_LINE_LOAD}
    assert sorted(draw.artists(ax, "support")) == [f"support:{n}:fixed" for n in (1, 2, 3, 4)]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["DL (+self-weight)", "LL"]
    dead = [length_of(a) for g, a in draw.artists(ax, "load").items() if g.startswith("load:DL:")]
    live = [length_of(a) for g, a in draw.artists(ax, "load").items() if g.startswith("load:LL:")]
    assert np.mean(dead) / np.mean(live) == pytest.approx(abs(example_frame.DEAD / example_frame.LIVE), rel=1e-6)   # scaled by magnitude


def test_the_analysed_frame_shows_its_deflected_shape_and_reactions(frame):
    fig = draw.figure(frame)
    model, deflected = fig.axes
    assert draw.drawn(deflected) == {"undeformed": 16, "deflected": 16, "support": 4, "reaction": 4}
    assert "1.2D+1.6L(CB)" in deflected.get_title() and "scale ×" in deflected.get_title()
    texts = {t.get_gid(): t.get_text() for t in deflected.texts}
    expected = example_frame.applied_vertical_loads(gamma=24.0)["1.2D+1.6L"]
    fz = [float(re.search(r"FZ (\S+)", texts[f"reactiontext:{n}"]).group(1)) for n in ("1", "2", "3", "4")]
    assert sum(fz) == pytest.approx(expected, rel=1e-2)      # the labels are the reaction table's values (3 digits)
    assert len(draw.png(fig)) > 20_000


def test_plates_walls_trusses_and_nodal_loads_are_counted():
    nodes = [{"id": i + 1, "x": x, "y": y, "z": z} for i, (x, y, z) in
             enumerate([(0, 0, 0), (4, 0, 0), (4, 0, 3), (0, 0, 3), (4, 4, 3), (0, 4, 3)])]
    box = build(base(nodes) + [
        ("create_plate_thickness", {"id": 1, "name": "T200", "thickness": 0.2}),
        ("create_wall", {"id": 1, "node_ids": [1, 2, 3, 4], "material_id": 1, "thickness_id": 1, "wall_id": 1}),
        ("create_plate", {"id": 2, "node_ids": [4, 3, 5, 6], "material_id": 1, "thickness_id": 1}),
        ("create_truss", {"id": 3, "node_i": 1, "node_j": 3, "material_id": 1, "section_id": 1}),
        ("add_support", {"node_ids": [1], "support_type": "fixed"}),
        ("add_support", {"node_ids": [2], "support_type": "pinned"}),
        ("add_nodal_load", {"node_ids": [5], "load_case": "P", "fz": -10}),
        ("add_nodal_load", {"node_ids": [6], "load_case": "P", "fz": -20}),
        ("add_pressure_load", {"element_ids": [2], "load_case": "P", "pressure": -5})])
    ax = draw.draw_model(box, highlight=draw.changed(CATALOGUE.to_request("create_truss", {
        "id": 3, "node_i": 1, "node_j": 3, "material_id": 1, "section_id": 1})))
    assert draw.drawn(ax) == {"member": 1, "face": 2, "node": 6, "support": 2, "load": 3}
    assert sorted(draw.artists(ax, "support")) == ["support:1:fixed", "support:2:pinned"]
    loads = draw.artists(ax, "load")
    assert length_of(loads["load:P:CNLD:6:1"]) == pytest.approx(2 * length_of(loads["load:P:CNLD:5:1"]))
    assert to_hex(draw.artists(ax, "member")["member:3"].get_color()) == draw.HIGHLIGHT   # the last change


@pytest.mark.parametrize("scale", [None, 50.0])
def test_cantilever_free_end_moves_by_PL3_over_3EI_times_the_scale(scale):
    length, load, inertia = CANTILEVER["length"], CANTILEVER["load"], CANTILEVER["inertia"]
    box = cantilever()
    ax = draw.draw_deflected(box, case="P", scale=scale)
    used = float(re.search(r"scale ×(\S+)", ax.get_title()).group(1))
    assert used == (scale or used) and "P(ST)" in ax.get_title()
    x, y, z = (np.asarray(v) for v in draw.artists(ax, "deflected")["deflected:1"].get_data_3d())
    tip = load * length**3 / (3 * E * inertia)
    assert (x[-1], y[-1], z[-1]) == pytest.approx((length, 0.0, -used * tip), rel=1e-5, abs=1e-9)
    assert (x[0], y[0], z[0]) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)        # the fixed end stays
    if scale is None:      # the auto scale draws the largest deflection at about 10 % of the model's size
        assert 0.04 * length < used * tip <= 0.1 * length * (1 + 1e-9)
    assert "FZ 10" in next(t.get_text() for t in ax.texts if t.get_gid() == "reactiontext:1")


def test_an_empty_model_draws_without_raising():
    box = GenNxSandbox()
    fig = draw.figure(box)
    assert draw.drawn(fig) == {} and len(fig.axes) == 1
    assert any(t.get_text().startswith("empty model") for t in fig.axes[0].texts)
    assert draw.drawn(draw.draw_deflected(box)) == {} and len(draw.png(fig)) > 1000


def test_dangling_references_are_skipped_and_noted(frame):
    """A model whose records point at missing items (the sandbox refuses to make one; a file or a real GEN NX may hold one)."""
    box = GenNxSandbox()
    box.db = {name: {k: dict(v) for k, v in rows.items()} for name, rows in frame.db.items()}
    box.results = frame.results                       # results of the model before it was damaged
    del box.db["NODE"]["24"]                          # columns 4/8 and beams 12/15/16 lose a node
    box.db["CNLD"] = {"99": {"ITEMS": [{"ID": 1, "LCNAME": "DL", "FZ": -5}]}}
    box.db["BMLD"]["77"] = {"ITEMS": [{"ID": 1, "LCNAME": "LL", "TYPE": "UNILOAD", "DIRECTION": "GZ",
                                        "D": [0, 1, 0, 0], "P": [-1, -1, 0, 0]}]}
    box.db["ELEM"]["50"] = {"TYPE": "BEAM", "NODE": "not a list"}
    box.db["NODE"]["30"] = {"X": "a", "Y": 0, "Z": 0}
    fig = draw.figure(box)
    model, deflected = fig.axes
    counts = draw.drawn(model)
    assert counts["member"] == 16 - 3 and counts["node"] == 11 and counts["load"] == (8 - 2) * 2 * draw.ARROWS_PER_LINE_LOAD
    assert draw.drawn(deflected)["deflected"] == 13
    note = next(t.get_text() for t in model.texts if t.get_gid() == "note:skipped")
    assert note.startswith("skipped") and "ELEM 8, ELEM 15, ELEM 16, ELEM 50" in note
    assert len(draw.png(fig)) > 20_000
