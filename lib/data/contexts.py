"""Model states the generated examples start from, built through tool calls in the sandbox.

`frame` is the 2-storey frame of lib.gennx.example_frame plus what the seeds refer to: a steel material and an
H-section, plate/wall thicknesses, wind and seismic cases with story forces, stories, a floor load type
and a second combination. Each state is built once and copied for every example.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from ..gennx import example_frame
from ..gennx.catalogue import load_catalogue
from ..gennx.sandbox import GenNxSandbox

SAVED_PATHS = ["C:\\work\\gennx\\frame.mgbx", "D:\\projects\\office_2f.mgbx", "C:\\models\\example_frame.mgbx",
               "C:\\Users\\engineer\\Documents\\frame_v2.mgbx", "E:\\gennx\\warehouse.mgbx"]
EXTRA = [
    ("create_material_db", {"id": 2, "material_type": "STEEL", "standard": "KS21(S)", "grade": "SS275"}),
    ("create_section_db", {"id": 3, "shape": "H", "db_name": "KS", "section_name": "H 400x200x8/13"}),
    ("create_plate_thickness", {"id": 1, "name": "Slab150", "thickness": 0.15}),
    ("create_plate_thickness", {"id": 2, "name": "W200", "thickness": 0.2}),
    ("create_load_case", {"name": "WX", "load_type": "W", "description": "wind X"}),
    ("create_load_case", {"name": "EX", "load_type": "E", "description": "earthquake X"}),
    ("create_load_case", {"name": "WX2", "load_type": "W", "description": "wind, forces to be entered"}),
    ("create_load_case", {"name": "EX2", "load_type": "E", "description": "earthquake, forces to be entered"}),
    ("create_story", {"id": 1, "name": "1F", "level": 0, "floor_diaphragm": False}),
    ("create_story", {"id": 2, "name": "2F", "level": 3.5}),
    ("create_story", {"id": 3, "name": "3F", "level": 7.0}),
    ("add_story_wind_forces", {"load_case_id": 3, "forces": [{"story": "2F", "force_x": 40, "force_y": 0}, {"story": "3F", "force_x": 60, "force_y": 0}]}),
    ("add_story_seismic_forces", {"load_case_id": 4, "forces": [{"story": "2F", "force_x": 90, "force_y": 30}, {"story": "3F", "force_x": 150, "force_y": 50}]}),
    ("define_floor_load_type", {"name": "Office", "loads": [{"load_case": "DL", "value": -2.5}, {"load_case": "LL", "value": -2.5}]}),
    ("create_load_combination", {"name": "1.4D", "factors": [{"load_case": "DL", "factor": 1.4}]}),
]


def _run(box, calls):
    catalogue = load_catalogue()
    for name, args in calls:
        response = box.execute(catalogue.to_request(name, args))
        if "error" in response:
            raise RuntimeError(f"context call {name} failed: {response['error']['message']}")
    return box


# every context `sandbox_for` can build (a dataset row's meta.context must be one of them)
CONTEXTS = ("empty", "frame", "loaded", "frame_free", "analysed", "saved", "spare", "slab")


@lru_cache(maxsize=None)
def _built(name: str) -> GenNxSandbox:
    if name == "empty":
        return GenNxSandbox()
    frame = [c for c in example_frame.frame_calls() if c[0] not in ("run_analysis", "get_reactions")] + EXTRA
    if name in ("frame", "loaded", "frame_free"):
        return _run(GenNxSandbox(), frame)
    if name == "analysed":
        return _run(GenNxSandbox(), frame + [("run_analysis", {})])
    if name == "saved":
        return _run(GenNxSandbox(), frame + [("save_document_as", {"path": p}) for p in SAVED_PATHS])
    if name == "spare":
        return _run(GenNxSandbox(), frame + [("create_nodes", {"nodes": [{"id": i, "x": 30 + i - 300, "y": 30, "z": 0} for i in range(301, 306)]})])
    if name == "slab":
        return _run(GenNxSandbox(), frame + [("create_plate", {"id": 101, "node_ids": [11, 12, 13, 14], "material_id": 1, "thickness_id": 1}),
                                             ("create_plate", {"id": 102, "node_ids": [21, 22, 23, 24], "material_id": 1, "thickness_id": 1})])
    raise KeyError(f"unknown context '{name}'")


def sandbox_for(name: str) -> GenNxSandbox:
    """A private copy of a context's sandbox (examples never share state)."""
    return copy.deepcopy(_built(name))
