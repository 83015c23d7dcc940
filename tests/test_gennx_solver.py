"""The sandbox's solver against hand calculations (textbook cases), through tool calls only."""
import pytest

from lib.gennx import example_frame

from .gennx_models import CANTILEVER, CATALOGUE, E, base, build, cantilever


def table(box, name, **args):
    data = box.execute(CATALOGUE.to_request(name, args))
    return [[float(c) if c.replace(".", "").replace("-", "").replace("e", "").replace("+", "").isdigit() else c for c in row]
            for row in next(iter(data.values()))["DATA"]]



def test_cantilever_tip_deflection_is_PL3_over_3EI():
    length, load, inertia = CANTILEVER["length"], CANTILEVER["load"], CANTILEVER["inertia"]
    box = cantilever()
    (row,) = table(box, "get_displacements", load_cases=["P"], node_ids=[2])
    assert row[5] == pytest.approx(-load * length**3 / (3 * E * inertia), rel=1e-5)
    (reaction,) = table(box, "get_reactions", load_cases=["P"])
    assert reaction[5] == pytest.approx(load, rel=1e-5) and reaction[7] == pytest.approx(-load * length, rel=1e-5)


def test_simply_supported_beam_reactions_and_midspan_moment():
    length, w = 8.0, -12.0
    box = build(base([{"id": 1, "x": 0, "y": 0, "z": 0}, {"id": 2, "x": length, "y": 0, "z": 0}]) + [
        ("create_beam", {"id": 1, "node_i": 1, "node_j": 2, "material_id": 1, "section_id": 1}),
        ("set_structure_type", {"structure_type": "X-Z"}),     # a plane frame: no torsion, no out-of-plane sway
        ("add_support", {"node_ids": [1], "support_type": "pinned"}),
        ("add_support", {"node_ids": [2], "support_type": "roller"}),
        ("add_beam_uniform_load", {"element_ids": [1], "load_case": "P", "value": w}),
        ("run_analysis", {})])
    reactions = table(box, "get_reactions", load_cases=["P"])
    assert [r[5] for r in reactions] == pytest.approx([-w * length / 2] * 2, rel=1e-5)
    forces = {row[3]: row for row in table(box, "get_beam_forces", load_cases=["P"])}
    assert forces["Part2/4"][8] == pytest.approx(-w * length**2 / 8, rel=1e-5)      # sagging moment positive
    assert forces["PartI"][8] == pytest.approx(0, abs=1e-4)
    assert abs(forces["PartI"][6]) == pytest.approx(-w * length / 2, rel=1e-5)


def test_portal_frame_with_a_rigid_beam_against_hand_calculation():
    h, span, load = 4.0, 6.0, 20.0
    inertia = 0.3 * 0.5**3 / 12
    nodes = [{"id": 1, "x": 0, "y": 0, "z": 0}, {"id": 2, "x": span, "y": 0, "z": 0},
             {"id": 3, "x": 0, "y": 0, "z": h}, {"id": 4, "x": span, "y": 0, "z": h}]
    box = build(base(nodes) + [
        ("create_section_rectangle", {"id": 2, "name": "rigid", "height": 5.0, "width": 3.0}),
        ("create_beam", {"id": 1, "node_i": 1, "node_j": 3, "material_id": 1, "section_id": 1}),
        ("create_beam", {"id": 2, "node_i": 2, "node_j": 4, "material_id": 1, "section_id": 1}),
        ("create_beam", {"id": 3, "node_i": 3, "node_j": 4, "material_id": 1, "section_id": 2}),
        ("add_support", {"node_ids": [1, 2], "support_type": "fixed"}),
        ("add_nodal_load", {"node_ids": [3], "load_case": "P", "fx": load}),
        ("run_analysis", {})])
    # two fixed-fixed columns in parallel: k = 2 * 12EI/h³; each takes H/2 and M = (H/2) h / 2 at both ends
    sway = load * h**3 / (24 * E * inertia)
    disp = {row[1]: row for row in table(box, "get_displacements", load_cases=["P"])}
    assert disp[3][3] == pytest.approx(sway, rel=0.01) and disp[4][3] == pytest.approx(sway, rel=0.01)
    reactions = table(box, "get_reactions", load_cases=["P"])
    assert sum(r[3] for r in reactions) == pytest.approx(-load, rel=1e-5)
    for r in reactions:
        assert r[3] == pytest.approx(-load / 2, rel=0.01)
        assert abs(r[7]) == pytest.approx(load * h / 4, rel=0.01)


def test_two_storey_rc_frame_reactions_sum_to_the_loads():
    box, response = example_frame.run(echo=lambda _: None)
    table_ = next(iter(response.values()))
    sums = {row[0]: float(row[3]) for row in table_["SUB_TABLES"][0]["SUMMATION"]["DATA"]}
    expected = example_frame.applied_vertical_loads(gamma=24.0)
    assert sums == pytest.approx(expected, rel=1e-5)
    assert set(sums) == {"DL", "LL", "1.2D+1.6L"}


def test_combination_types_on_known_numbers():
    from lib.gennx.solver import combine

    def case(v):
        return {"reactions": {"1": [v, 0, 0, 0, 0, 0]}, "displacements": {}, "beam_forces": {}}

    results = {"A": case(3.0), "B": case(-4.0)}
    combos = {name: {"NAME": name, "iTYPE": kind, "vCOMB": [{"ANAL": "ST", "LCNAME": "A", "FACTOR": 1}, {"ANAL": "ST", "LCNAME": "B", "FACTOR": 1}]}
              for name, kind in [("add", 0), ("env", 1), ("abs", 2), ("srss", 3)]}
    combos["nested"] = {"NAME": "nested", "iTYPE": 0, "vCOMB": [{"ANAL": "CB", "LCNAME": "add", "FACTOR": 2}]}
    out = combine(results, combos)
    assert [out[n]["reactions"]["1"][0] for n in ("add", "env", "abs", "srss", "nested")] == pytest.approx([-1, 3, 7, 5, -2])
