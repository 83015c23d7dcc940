"""Small models built through tool calls, shared by the solver and drawing tests."""
from lib.gennx.catalogue import load_catalogue
from lib.gennx.sandbox import GenNxSandbox

CATALOGUE = load_catalogue()
E = 2.1e8            # kN/m² (210 GPa)
CANTILEVER = {"length": 3.0, "load": 10.0, "inertia": 0.3 * 0.5**3 / 12}   # m, kN, m⁴ (0.5 × 0.3 rectangle)


def build(calls, box=None):
    """Run valid catalogue calls in a sandbox; any error fails the test there."""
    box = box or GenNxSandbox()
    for name, args in calls:
        assert CATALOGUE.check_call(name, args) == [], name
        response = box.execute(CATALOGUE.to_request(name, args))
        assert "error" not in response, (name, response)
    return box


def base(length_nodes, section=(0.5, 0.3)):
    return [("set_units", {"force": "KN", "length": "M"}),
            ("create_material_user", {"id": 1, "name": "E210", "material_type": "STEEL", "elastic_modulus": E, "poisson_ratio": 0.3}),
            ("create_section_rectangle", {"id": 1, "name": "R", "height": section[0], "width": section[1]}),
            ("create_nodes", {"nodes": length_nodes}),
            ("create_load_case", {"name": "P", "load_type": "L"})]


def cantilever():
    """A steel cantilever along x, fixed at node 1, tip load -P in z at node 2, analysed."""
    length, load = CANTILEVER["length"], CANTILEVER["load"]
    return build(base([{"id": 1, "x": 0, "y": 0, "z": 0}, {"id": 2, "x": length, "y": 0, "z": 0}]) + [
        ("create_beam", {"id": 1, "node_i": 1, "node_j": 2, "material_id": 1, "section_id": 1}),
        ("add_support", {"node_ids": [1], "support_type": "fixed"}),
        ("add_nodal_load", {"node_ids": [2], "load_case": "P", "fz": -load}),
        ("run_analysis", {})])
