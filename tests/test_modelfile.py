"""The Ollama Modelfile (lib.export.modelfile): its Go TEMPLATE, rendered by Go's text/template exactly as
Ollama renders it (tests/go/ollama_render), must write the training template's text.

The only allowed differences are the JSON lines Ollama serialises itself (tools, past calls' arguments):
each must be the same object as the course's line, seen through what Ollama's Go types keep.
Needs Go (`apt-get install -y golang-go`); without it the rendering tests are skipped.
"""
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from lib import chat_format
from lib.export import modelfile
from lib.gennx.catalogue import load_catalogue
from lib.jsonl import read_jsonl
from lib.paths import DATA

GO = shutil.which("go")
RENDERER = Path(__file__).parent / "go" / "ollama_render"
needs_go = pytest.mark.skipif(GO is None, reason="Go is not installed: `apt-get install -y golang-go` lets this test render "
                                                 "the Modelfile TEMPLATE with Go's text/template, as Ollama does")
SYSTEM = {"role": "system", "content": "당신은 MIDAS GEN NX 구조해석 도우미입니다. 필요할 때만 도구를 호출하세요."}


def _conversation():
    """system, user, assistant with text and two parallel calls, two tool responses, final answer."""
    calls = [{"type": "function", "function": {"name": "create_node", "arguments": json.dumps({"id": i, "x": 6.0 * (i - 1), "y": 0, "z": 0})}}
             for i in (1, 2)]
    return [SYSTEM, {"role": "user", "content": "절점 1, 2번을 x=0, 6 m에 만들어 줘"},
            {"role": "assistant", "content": "두 절점을 만들겠습니다.", "tool_calls": calls},
            {"role": "tool", "name": "create_node", "content": '{"NODE": {"1": {"X": 0, "Y": 0, "Z": 0}}}'},
            {"role": "tool", "name": "create_node", "content": '{"NODE": {"2": {"X": 6, "Y": 0, "Z": 0}}}'},
            {"role": "assistant", "content": "절점 1번(0, 0, 0)과 2번(6, 0, 0)을 만들었습니다."}]


def _cases():
    """(name, messages, tools, add_generation_prompt): what Ollama would be asked to render."""
    cat = load_catalogue()
    tools = cat.openai_tools(["create_node", "create_nodes", "add_support", "create_load_combination", "run_analysis"])
    full = _conversation()
    cases = [("full conversation", full, tools, False),
             ("prompt after the user", full[:2], tools, True),
             ("prompt after the tool responses", full[:5], tools, True),
             ("tools, no system message", full[1:2], tools, True),
             ("no tools, system", [SYSTEM, {"role": "user", "content": "보와 기둥의 차이는?"}], None, True),
             ("no tools, no system", [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "안녕하세요!"}], None, False),
             ("a call without arguments", [*full[:2], {"role": "assistant", "content": "", "tool_calls": [
                 {"type": "function", "function": {"name": "run_analysis", "arguments": "{}"}}]}], tools, False)]
    for i, row in enumerate(read_jsonl(DATA / "samples" / "gennx_tool_calling_samples.jsonl")):
        cases.append((f"sample {i}", row["messages"], row["tools"], False))
    return cases


CASES = _cases()


@functools.lru_cache(maxsize=1)
def _go_renderer() -> Path:
    """The Go renderer (Ollama's text/template), built once per test run."""
    binary = Path(tempfile.mkdtemp()) / "ollama_render"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
    built = subprocess.run([GO, "build", "-o", str(binary), "."], cwd=RENDERER, capture_output=True, text=True, env=env)
    assert built.returncode == 0, built.stderr
    return binary


def _run_ollama_template(cases) -> dict:
    """Render (messages, tools) pairs with the Modelfile's TEMPLATE; also what the renderer found in it."""
    request = {"template": modelfile.template_of(modelfile.modelfile_text("course.gguf")),
               "cases": [{"messages": modelfile.ollama_messages(m), "tools": t or []} for m, t in cases]}
    done = subprocess.run([str(_go_renderer())], input=json.dumps(request), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def ollama():
    """Every case rendered with the Modelfile's TEMPLATE."""
    return _run_ollama_template([(m, t) for _, m, t, _ in CASES])


def _json_line(line):
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def explain(course: str, rendered: str, tools) -> list[str]:
    """Why each differing line differs; an AssertionError for any difference that is not Ollama's JSON."""
    course_lines, ollama_lines = course.split("\n"), rendered.split("\n")
    assert len(course_lines) == len(ollama_lines), "the two renderings have different line structure"
    views = {t["function"]["name"]: modelfile.ollama_tool_view(t) for t in tools or []}
    reasons = []
    for ours, theirs in zip(course_lines, ollama_lines):
        if ours == theirs:
            continue
        a, b = _json_line(ours), _json_line(theirs)
        assert isinstance(a, dict) and isinstance(b, dict), f"non-JSON line differs:\n{ours!r}\n{theirs!r}"
        if a.get("type") == "function":
            assert b == views[a["function"]["name"]], f"tool {a['function']['name']} is not what Ollama keeps of it"
            reasons.append("tool")
        else:
            assert a == b and set(a) == {"name", "arguments"}, f"tool call differs:\n{ours}\n{theirs}"
            reasons.append("call")
    return reasons


@needs_go
@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_modelfile_template_renders_the_training_text(ollama, index):
    name, messages, tools, generation = CASES[index]
    course = chat_format.render(messages, tools, add_generation_prompt=generation)
    rendered = ollama["renders"][index]
    reasons = explain(course, rendered, tools)
    calls = sum(len(m.get("tool_calls") or []) for m in messages)
    assert reasons.count("tool") <= len(tools or []) and reasons.count("call") <= calls
    if not tools:
        assert rendered == course


@needs_go
def test_ollama_finds_the_tool_tag_and_offers_tools(ollama):
    assert ollama["tool_tag"] == "<tool_call>"                    # Ollama parses calls after this tag
    assert {"messages", "tools", "toolcalls"} <= set(ollama["vars"])   # .Tools referenced: Ollama offers tools


@needs_go
def test_what_ollama_loses_is_all_that_differs(ollama):
    """Full conversation: the catalogue tools (compact schemas) come out exactly as in training; only a
    call's 6.0 comes back as 6 (Go has no 6.0)."""
    _, messages, tools, _ = CASES[0]
    course, rendered = chat_format.render(messages, tools), ollama["renders"][0]
    assert '"arguments": {"id": 2, "x": 6.0, "y": 0, "z": 0}}' in course
    assert '"arguments": {"id": 2, "x": 6, "y": 0, "z": 0}}' in rendered      # same spacing; Go has no 6.0
    differing = [a for a, b in zip(course.split("\n"), rendered.split("\n")) if a != b]
    assert differing and all(line.startswith('{"name": "create_node"') for line in differing)
    assert rendered.count("<tool_call>") == course.count("<tool_call>") == 2 + 2   # the instructions + two calls


@needs_go
def test_every_routable_tool_renders_in_ollama_as_in_training():
    """Tier 1 and 2 tools, as the router offers them: Ollama's template writes each one byte for byte."""
    tools = load_catalogue().openai_tools([t.name for t in load_catalogue().tools.values() if t.tier in (1, 2)])
    messages = [{"role": "user", "content": "x"}]
    rendered = _run_ollama_template([(messages, tools)])["renders"][0]
    assert rendered == chat_format.render(messages, tools, add_generation_prompt=True)


@needs_go
@pytest.mark.parametrize("index", [i for i, c in enumerate(CASES) if c[0].startswith("sample")])
def test_shipped_samples_render_byte_for_byte(ollama, index):
    """Tools that use only what Ollama keeps (the shipped samples) come out exactly as in training."""
    _, messages, tools, generation = CASES[index]
    assert ollama["renders"][index] == chat_format.render(messages, tools, add_generation_prompt=generation)


def test_modelfile_text_and_file(tmp_path):
    gguf = tmp_path / "course-q8_0.gguf"
    gguf.write_bytes(b"GGUF")
    out = modelfile.write_modelfile(gguf, name="gennx-test")
    text = out["path"].read_text(encoding="utf-8")
    assert out["path"] == tmp_path / "Modelfile" and text.startswith("FROM ./course-q8_0.gguf\n")
    for line in ('PARAMETER stop "<|im_end|>"', 'PARAMETER stop "<|endoftext|>"', "PARAMETER temperature 0", "SYSTEM \"\"\""):
        assert line in text
    assert modelfile.template_of(text) == modelfile.GO_TEMPLATE.strip() and ".Tools" in modelfile.template_of(text)
    assert out["commands"][0] == f"ollama create gennx-test -f {out['path']}"
    request = json.loads(out["commands"][2].split("-d '", 1)[1].rstrip("'"))
    assert request["tools"][0]["function"]["name"] == "create_node"


def test_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        modelfile.write_modelfile(tmp_path / "nothing.gguf")


def test_ollama_tool_view_drops_what_ollama_cannot_hold():
    tool = load_catalogue()["create_nodes"].openai()
    view = modelfile.ollama_tool_view(tool)
    params = view["function"]["parameters"]
    assert "additionalProperties" not in params and "minItems" not in params["properties"]["nodes"]
    assert params["properties"]["nodes"]["items"] == tool["function"]["parameters"]["properties"]["nodes"]["items"]
