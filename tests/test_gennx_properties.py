"""Property: any schema-valid Tier 1 call either runs or gets a GEN NX-shaped error; the sandbox never raises."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.gennx import example_frame
from lib.gennx.catalogue import load_catalogue
from lib.gennx.sandbox import GenNxSandbox

CATALOGUE = load_catalogue()
TIER1 = sorted(t.name for t in CATALOGUE.tier(1))
NAMES = st.sampled_from(["DL", "LL", "1.2D+1.6L", "1F", "2F", "Office", "X", ""])


def from_schema(schema: dict, name: str = ""):
    """A hypothesis strategy for values valid under the small JSON Schema subset the catalogue uses."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", -5), max_value=30)
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1e3))
        high = schema.get("maximum", 1e3)
        values = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
        return values.filter(lambda v: v > schema["exclusiveMinimum"]) if "exclusiveMinimum" in schema else values
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return NAMES if "path" not in name else st.sampled_from(["C:\\\\a.mgbx", "b.mgbx"])
    if kind == "array":
        return st.lists(from_schema(schema["items"], name), min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 5))
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries({k: from_schema(v, k) for k, v in props.items() if k in required},
                                     optional={k: from_schema(v, k) for k, v in props.items() if k not in required})
    raise AssertionError(f"no strategy for {schema}")


@st.composite
def valid_calls(draw):
    name = draw(st.sampled_from(TIER1))
    args = draw(from_schema(CATALOGUE[name].parameters))
    if CATALOGUE.check_call(name, args):     # the few cross-field rules (anyOf, minProperties) the strategy ignores
        args = draw(from_schema(CATALOGUE[name].parameters).filter(lambda a: not CATALOGUE.check_call(name, a)))
    return name, args


def built_frame():
    box, _ = example_frame.run(echo=lambda _: None)
    return box


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(calls=st.lists(valid_calls(), min_size=1, max_size=4), start_from_frame=st.booleans())
def test_valid_calls_never_raise(calls, start_from_frame):
    box = built_frame() if start_from_frame else GenNxSandbox()
    for name, args in calls:
        response = box.execute(CATALOGUE.to_request(name, args))
        assert isinstance(response, dict)
        if "error" in response:
            assert set(response) == {"error"} and isinstance(response["error"]["message"], str) and response["error"]["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(calls=st.lists(valid_calls(), min_size=1, max_size=4))
def test_edits_then_analysis_and_tables_never_raise(calls):
    box = built_frame()
    tail = [("run_analysis", {}), ("get_reactions", {"load_cases": ["DL"]}), ("get_beam_forces", {"load_cases": ["LL"]}),
            ("get_story_drift", {"direction": "X", "load_cases": ["DL"]})]
    for name, args in calls + tail:
        response = box.execute(CATALOGUE.to_request(name, args))
        assert isinstance(response, dict)
        if "error" in response:
            assert set(response) == {"error"} and response["error"]["message"]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 30) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
                    max_leaves=12)
TABLES = ["NODE", "ELEM", "MATL", "SECT", "THIK", "CONS", "NSPR", "FRLS", "STLD", "BODF", "CNLD", "BMLD", "PRES",
          "FBLD", "FBLA", "STOR", "SWIND", "SSEIS", "LCOM-GEN", "GRUP", "UNIT", "STYP"]


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), table=st.sampled_from(TABLES),
       key=st.sampled_from(["1", "2", "11", "x"]), record=JSON, ids=st.none() | st.sampled_from(["1", "1,2", "a,1"]))
def test_arbitrary_db_bodies_never_raise(method, table, key, record, ids):
    box = built_frame()
    path = f"/db/{table}" + (f"/{ids}" if ids else "")
    response = box.request(method, path, {"Assign": {key: record}})
    assert isinstance(response, dict)
    if "error" in response:
        assert response["error"]["message"]
    box.request("POST", "/doc/ANAL", {})     # whatever was accepted, the analysis answers without raising
