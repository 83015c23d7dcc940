"""Property-based fuzzing of everything a learner or a model can type: the tool-call parser, the chat session,
the GEN NX sandbox, the dataset readers and the OpenAI endpoint. Nothing may raise out of them.

Each property is bounded by `max_examples` (FUZZ_EXAMPLES scales them all: `FUZZ_EXAMPLES=10 pytest
tests/test_fuzz.py` tries ten times as many) so that the whole file stays within about a minute in CI.
"""
import copy
import json
import math
import os
import threading
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.data.contexts import sandbox_for
from lib.gennx.catalogue import load_catalogue
from lib.gennx.sandbox import GenNxSandbox, dangling

SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))
CATALOGUE = load_catalogue()


def fuzz(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=SCALE == 1,
                    suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------ values a hostile client sends

ODD_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, 1e309, 10 ** 400, -0.0, 1e-320, 2 ** 63, -1])
SCALARS = (st.none() | st.booleans() | st.integers(-3, 30) | ODD_NUMBERS
           | st.floats(-1e3, 1e3, allow_nan=False) | st.sampled_from(["", "DL", "LL", "1F", "BEAM", "KN", "1111111", "x"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["X", "Y", "Z", "TYPE", "NODE", "MATL", "SECT", "NAME", "LCNAME", "ITEMS", "ITEM", "FORCE", "vCOMB",
                     "N_LIST", "E_LIST", "NODES", "PARAM", "T_IN", "FACTOR", "ANAL", "STORY_NAME", "Argument", "a"]),
    inner, max_size=5), max_leaves=10)


# ------------------------------------------------------------------ sandbox

TABLES = ["NODE", "ELEM", "MATL", "SECT", "THIK", "CONS", "NSPR", "FRLS", "STLD", "BODF", "CNLD", "BMLD", "PRES",
          "FBLD", "FBLA", "STOR", "SWIND", "SSEIS", "LCOM-GEN", "GRUP", "UNIT", "STYP"]
TIER1 = sorted(t.name for t in CATALOGUE.tier(1))


@st.composite
def catalogue_request(draw):
    """A catalogue call with arguments drawn loosely (names right, values anything plausible)."""
    name = draw(st.sampled_from(TIER1))
    props = CATALOGUE[name].parameters.get("properties", {})
    values = st.integers(1, 25) | st.sampled_from(["DL", "LL", "WX", "fixed", "pinned", "X", "H", "BEAM"]) | SCALARS
    args = draw(st.fixed_dictionaries({}, optional={k: values | st.lists(values, max_size=3) for k in props}))
    try:
        return CATALOGUE.to_request(name, args).as_dict()
    except Exception:   # the mapping needs its arguments: such a call is rejected before it reaches the API
        return None


@st.composite
def raw_request(draw):
    kind = draw(st.sampled_from(["db", "db", "db", "doc", "other"]))
    if kind == "db":
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
        ids = draw(st.none() | st.sampled_from(["1", "1,2", "2,11", "x", "1,1"]))
        path = f"/db/{draw(st.sampled_from(TABLES))}" + (f"/{ids}" if ids else "")
        key = draw(st.sampled_from(["1", "2", "3", "11", "12", "x"]))
        body = draw(st.sampled_from([{"Assign": {key: draw(JSON)}}, draw(JSON)])) if method in ("POST", "PUT") else None
    elif kind == "doc":
        method, path = "POST", "/doc/" + draw(st.sampled_from(["ANAL", "SAVEAS", "SAVE", "OPEN", "NEW", "CLOSE", "X"]))
        body = {"Argument": draw(JSON | st.sampled_from(["C:\\a.mgbx", "b.mgbx"]))}
    else:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
        path = draw(st.sampled_from(["/ope/STOR", "/ope/PROJECTSTATUS", "/post/TABLE", "/view/CAPTURE", "/config/VER",
                                     "/nope/X", "/", "db", "/db"]))
        body = {"Argument": draw(JSON)}
    return {"method": method, "path": path, "body": body}


REQUESTS = st.lists(catalogue_request() | raw_request(), min_size=1, max_size=6)


def check_sequence(box: GenNxSandbox, requests: list) -> None:
    for req in requests:
        if req is None:
            continue
        before = copy.deepcopy(box.db)
        response = box.request(req["method"], req["path"], req["body"])
        assert isinstance(response, dict), req
        message = response.get("error", {}).get("message", "") if isinstance(response.get("error"), dict) else ""
        assert "internal error" not in message, (req, message)
        if "error" in response:
            assert message and box.db == before, (req, message)          # an error changes nothing
            assert "Analysis failed: " + "KeyError" not in message, (req, message)
        else:
            assert list(dangling(box.db)) == [], (req, list(dangling(box.db)))   # a success leaves no hole


@fuzz(250)
@given(context=st.sampled_from(["empty", "frame", "loaded", "slab"]), requests=REQUESTS)
def test_sandbox_random_request_sequences(context, requests):
    check_sequence(sandbox_for(context), requests)


# ------------------------------------------------------------------ parser and session

from lib.serve.backends import ScriptedBackend  # noqa: E402
from lib.serve.session import ChatSession  # noqa: E402
from lib.tool_calls import parse_tool_calls  # noqa: E402

PIECES = st.sampled_from(["<tool_call>", "</tool_call>", "\n", '{"name": ', '"create_node"', '"delete_nodes"', '"run_analysis"',
                          '"arguments": ', "{", "}", "[", "]", ",", ":", '"id"', '"x"', "1", "-0", "1e309", "NaN", "Infinity",
                          "9" * 5000, "[" * 3000, '"\\ud800"', "\ud800", "한", "\u2028", '"', "\\", " "])
REPLY = st.lists(PIECES | st.text(max_size=6), max_size=40).map("".join)


@fuzz(400)
@given(REPLY)
def test_parser_never_raises_on_random_replies(text):
    out = parse_tool_calls(text)
    assert isinstance(out.content, str) and out.blocks >= len(out.calls)
    assert all(isinstance(c.name, str) and isinstance(c.arguments, dict) for c in out.calls)


@fuzz(120)
@given(user=st.text(max_size=40) | st.sampled_from(["\ud800", "\x00", "\u2028"]), replies=st.lists(REPLY, min_size=1, max_size=3),
       fixed=st.booleans())
def test_session_turns_never_raise_and_run_only_valid_calls(user, replies, fixed):
    session = ChatSession(ScriptedBackend(replies + ["끝"]), max_rounds=3, tools=["create_node", "delete_nodes"] if fixed else None)
    for text in (user, "두 번째 요청"):
        turn = session.send(text)
        for event in turn.events:
            if event.kind == "request":     # what ran was a catalogue call that passed its schema check
                assert event.data["method"] in ("GET", "POST", "PUT", "DELETE")
        assert list(dangling(session.api.db)) == []
        assert all("internal error" not in json.dumps(e.data.get("response", ""), ensure_ascii=False) for e in turn.events)


# ------------------------------------------------------------------ dataset readers

from lib.data.validate import validate_file  # noqa: E402
from lib.evaluate.inputs import DatasetFormatError, read_rows  # noqa: E402
from lib.jsonl import JsonlError, read_jsonl  # noqa: E402

GOOD_ROW = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
LINE = (st.sampled_from([GOOD_ROW, "", "{", "[]", "null", '{"messages": 5}', '{"messages": [{"role": "user"}]}', "\ufeff" + GOOD_ROW,
                         GOOD_ROW[:-1] + ', "meta": {"context": ["x"]}}', GOOD_ROW.replace("hi", "h\u2028i"), "9" * 5000,
                         "[" * 5000, '{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "x"}]}'])
        | JSON.map(lambda v: json.dumps(v, allow_nan=True)) | st.text(max_size=20))


@fuzz(150)
@given(lines=st.lists(LINE, max_size=6), tail=st.binary(max_size=8))
def test_dataset_readers_raise_only_their_own_errors(tmp_path_factory, lines, tail):
    path = tmp_path_factory.mktemp("fuzz") / "data.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + tail)
    for read, allowed in ((read_jsonl, JsonlError), (read_rows, DatasetFormatError), (validate_file, JsonlError)):
        try:
            read(path)
        except allowed as err:
            assert str(err)


# ------------------------------------------------------------------ the OpenAI endpoint

from lib.serve.openai_server import make_server  # noqa: E402

PART = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio"])}, optional={"text": st.text(max_size=5) | JSON})
CALL = st.fixed_dictionaries({}, optional={"type": st.just("function"), "function": JSON | st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["create_node", "run_analysis"]) | JSON, "arguments": st.sampled_from(['{"id": 1}', "{"]) | JSON})})
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "assistant", "tool", "system", "developer", "robot", None])},
                                optional={"content": st.text(max_size=10) | st.lists(PART, max_size=2) | JSON,
                                          "tool_calls": st.lists(CALL, max_size=2) | JSON})
BODY = st.one_of(JSON, st.fixed_dictionaries({"messages": st.lists(MESSAGE, min_size=1, max_size=3) | JSON},
                                             optional={"tools": JSON, "max_tokens": SCALARS, "tool_choice": JSON, "stream": JSON}))


@pytest.fixture(scope="module")
def endpoint():
    server = make_server(ScriptedBackend(["ok"] * 10_000, max_length=4096), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    server.shutdown()
    server.server_close()


@fuzz(150)
@given(body=BODY)
def test_endpoint_answers_bad_bodies_with_4xx_and_stays_up(endpoint, body):
    data = json.dumps(body, allow_nan=True).encode()
    request = urllib.request.Request(endpoint, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
        assert json.loads(err.read())["error"]["message"]
    assert status == 200 or 400 <= status < 500, (status, body)
