"""Build and analyse a 2-storey RC frame through tool calls only, printing each API request.

    python -m lib.gennx.example_frame

Units → materials → sections → nodes → elements → supports → load cases → loads → combination →
analysis → reaction table. The reactions must sum to the applied loads (self-weight + beam loads).
"""
from __future__ import annotations

import sys

from .catalogue import load_catalogue
from .sandbox import GenNxSandbox

BAY_X, BAY_Y, STOREY = 6.0, 5.0, 3.5
COLUMN, BEAM = (0.5, 0.5), (0.6, 0.4)        # (height, width) in m
DEAD, LIVE = -15.0, -10.0                    # kN/m on every beam


def frame_calls() -> list[tuple[str, dict]]:
    """The tool calls, in order, that build the frame (what a fine-tuned model should emit)."""
    corners = [(0, 0), (BAY_X, 0), (BAY_X, BAY_Y), (0, BAY_Y)]
    nodes = [{"id": 10 * level + i + 1, "x": x, "y": y, "z": level * STOREY}
             for level in range(3) for i, (x, y) in enumerate(corners)]
    calls = [
        ("set_units", {"force": "KN", "length": "M"}),
        ("create_material_db", {"id": 1, "material_type": "CONC", "standard": "KS01(RC)", "grade": "C24"}),
        ("create_section_rectangle", {"id": 1, "name": "C500x500", "height": COLUMN[0], "width": COLUMN[1]}),
        ("create_section_rectangle", {"id": 2, "name": "B400x600", "height": BEAM[0], "width": BEAM[1]}),
        ("create_nodes", {"nodes": nodes}),
    ]
    eid = 0
    for level in (1, 2):
        for i in range(4):
            eid += 1
            calls.append(("create_beam", {"id": eid, "node_i": 10 * (level - 1) + i + 1, "node_j": 10 * level + i + 1,
                                          "material_id": 1, "section_id": 1}))
    beams = []
    for level in (1, 2):
        for i in range(4):
            eid += 1
            beams.append(eid)
            calls.append(("create_beam", {"id": eid, "node_i": 10 * level + i + 1, "node_j": 10 * level + (i + 1) % 4 + 1,
                                          "material_id": 1, "section_id": 2}))
    calls += [
        ("add_support", {"node_ids": [1, 2, 3, 4], "support_type": "fixed"}),
        ("create_load_case", {"name": "DL", "load_type": "D", "description": "dead load"}),
        ("create_load_case", {"name": "LL", "load_type": "L", "description": "live load"}),
        ("add_self_weight", {"load_case": "DL"}),
        ("add_beam_uniform_load", {"element_ids": beams, "load_case": "DL", "value": DEAD}),
        ("add_beam_uniform_load", {"element_ids": beams, "load_case": "LL", "value": LIVE}),
        ("create_load_combination", {"name": "1.2D+1.6L",
                                     "factors": [{"load_case": "DL", "factor": 1.2}, {"load_case": "LL", "factor": 1.6}]}),
        ("run_analysis", {}),
        ("get_reactions", {"load_cases": ["DL", "LL"], "combinations": ["1.2D+1.6L"]}),
    ]
    return calls


def applied_vertical_loads(gamma: float) -> dict:
    """Total downward load per case, computed by hand from the frame's geometry (kN)."""
    columns = 8 * STOREY * COLUMN[0] * COLUMN[1]
    beam_length = 2 * 2 * (BAY_X + BAY_Y)
    self_weight = gamma * (columns + beam_length * BEAM[0] * BEAM[1])
    dead = self_weight + -DEAD * beam_length
    live = -LIVE * beam_length
    return {"DL": dead, "LL": live, "1.2D+1.6L": 1.2 * dead + 1.6 * live}


def run(echo=print) -> tuple[GenNxSandbox, dict]:
    """Execute the calls in a fresh sandbox; return it and the reaction table response."""
    catalogue, box = load_catalogue(), GenNxSandbox()
    response = {}
    for name, args in frame_calls():
        problems = catalogue.check_call(name, args)
        if problems:
            raise ValueError(problems)
        request = catalogue.to_request(name, args)
        response = box.execute(request)
        echo(f"[Tool Call] {request}")
        if "error" in response:
            raise RuntimeError(f"{name}: {response['error']['message']}")
    return box, response


def main() -> int:
    box, response = run()
    table = next(iter(response.values()))
    sums = {row[0]: float(row[3]) for row in table["SUB_TABLES"][0]["SUMMATION"]["DATA"]}
    expected = applied_vertical_loads(gamma=24.0)
    print(f"\n{'case':<10} {'sum of FZ reactions':>20} {'applied load':>14}")
    for case, value in sums.items():
        print(f"{case:<10} {value:>20.2f} {expected[case]:>14.2f}")
    return 0 if all(abs(sums[c] - expected[c]) < 1e-6 * expected[c] for c in sums) else 1


if __name__ == "__main__":
    sys.exit(main())
