"""The terminal chat: driven through its input/output streams, and once as `python -m lib.serve` on a real model."""
import io
import json
import os
import subprocess
import sys

import pytest

from lib.paths import ROOT
from lib.serve.backends import ScriptedBackend
from lib.serve.cli import run_cli
from lib.serve.session import ChatSession


def call(tool, **arguments):
    return f'<tool_call>\n{json.dumps({"name": tool, "arguments": arguments})}\n</tool_call>'


def chat(replies, typed, **kwargs):
    session = ChatSession(ScriptedBackend(replies), **kwargs)
    out = io.StringIO()
    turns = run_cli(session, io.StringIO(typed), out)
    return session, out.getvalue(), turns


def test_seed_001_look_tool_call_response_and_answer():
    session, out, turns = chat([call("create_node", id=1, x=0, y=0, z=0), "절점 1번이 원점(0, 0, 0)에 추가되었습니다."],
                               "절점 1번을 원점에 추가해줘\nquit\n")
    assert out.startswith("GEN NX Tool Calling Assistant (type 'quit' to exit)\n====")
    assert '[Tool Call] POST /db/NODE {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}}\n  → NODE: 1 record(s) 1\n' in out
    assert "Assistant: 절점 1번이 원점(0, 0, 0)에 추가되었습니다.\n" in out
    assert out.rstrip().endswith("You:") and turns == 1
    assert session.api.summary()["NODE"]["COUNT"] == 1


@pytest.mark.parametrize("typed, executed", [("y", True), ("n", False), ("", False)])
def test_destructive_call_is_asked_on_the_terminal(typed, executed):
    replies = [call("create_node", id=1, x=0, y=0, z=0), "ok", call("delete_nodes", node_ids=[1]), "done"]
    session, out, _ = chat(replies, f"절점 추가\n절점 1 삭제\n{typed}\nquit\n")
    assert "⚠ DELETE /db/NODE/1\n  데이터를 삭제합니다 (DELETE /db/NODE/1). 실행할까요? [y/N] " in out
    assert ("[Tool Call] DELETE /db/NODE/1" in out) == executed
    assert ("[Declined] DELETE /db/NODE/1" in out) != executed
    assert ("NODE" in session.api.summary()) != executed


def test_rejected_and_malformed_calls_are_printed_and_the_chat_goes_on():
    replies = [call("create_column", id=1), "그런 도구는 없습니다.", '<tool_call>{"name": "run_analysis", </tool_call>', "다시 말씀해 주세요."]
    _, out, turns = chat(replies, "기둥 만들어\n해석\nquit\n")
    assert "[Rejected] create_column {\"id\": 1}: unknown tool 'create_column'" in out
    assert "[Rejected] unreadable tool call: block 1: malformed JSON" in out
    assert "Assistant: 다시 말씀해 주세요." in out and turns == 2


def test_commands_state_reset_and_end_of_input():
    session, out, turns = chat([call("create_node", id=1, x=0, y=0, z=0), "ok"], "절점\n/state\n/reset\n")
    assert "  NODE           1" in out and "(conversation cleared" in out
    assert turns == 1 and [m["role"] for m in session.messages] == ["system"]


def test_python_m_lib_serve_cli_on_a_real_model():
    """The entry point end to end on the smoke profile's tiny model: whatever it says, the chat survives it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.run([sys.executable, "-m", "lib.serve", "--mode", "cli", "--model", "base", "--profile", "smoke",
                           "--max-new-tokens", "8", "--verbose"],
                          input="절점 1번을 원점에 추가해줘\n/state\nquit\n", capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model: base (tiny-random-llama) (transformers)" in proc.stdout
    assert "GEN NX: course sandbox" in proc.stdout
    assert "(1 replies, 8 tokens" in proc.stdout and "tools offered: create_node" in proc.stdout
    assert "  UNIT           1" in proc.stdout


def test_unknown_model_spec_exits_with_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "lib.serve", "--model", "no/such/model"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "cannot serve 'no/such/model'" in proc.stderr


def test_real_api_without_a_key_stops_before_loading_a_model():
    env = {k: v for k, v in os.environ.items() if k != "GENNX_MAPI_KEY"}
    proc = subprocess.run([sys.executable, "-m", "lib.serve", "--real-api", "--model", "base"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode != 0 and "GENNX_MAPI_KEY" in proc.stderr and "model:" not in proc.stdout


def test_draw_command_saves_the_model_and_after_analysis_its_deflected_shape(tmp_path):
    cantilever = [call("set_units", force="KN", length="M"),
                  call("create_material_user", id=1, name="S", material_type="STEEL", elastic_modulus=2.1e8, poisson_ratio=0.3),
                  call("create_section_rectangle", id=1, name="R", height=0.5, width=0.3),
                  call("create_nodes", nodes=[{"id": 1, "x": 0, "y": 0, "z": 0}, {"id": 2, "x": 3, "y": 0, "z": 0}]),
                  call("create_beam", id=1, node_i=1, node_j=2, material_id=1, section_id=1),
                  call("add_support", node_ids=[1], support_type="fixed"),
                  call("create_load_case", name="P", load_type="L"),
                  call("add_nodal_load", node_ids=[2], load_case="P", fz=-10)]
    replies = ["\n".join(cantilever), "캔틸레버를 만들었습니다.", call("run_analysis"), "해석했습니다."]
    model, deflected, bad = tmp_path / "model.png", tmp_path / "deflected", tmp_path / "model.png" / "x.png"
    session, out, turns = chat(replies, f"/draw {tmp_path / 'empty.svg'}\n캔틸레버\n/draw {model}\n해석\n/draw {deflected}\n/draw {bad}\nquit\n")
    assert f"(drawing saved to {tmp_path / 'empty.svg'}: empty model)" in out and (tmp_path / "empty.svg").read_text().startswith("<?xml")
    assert f"(drawing saved to {model}: 2 nodes, 1 members, 1 supports, 1 loads)" in out
    assert f"(drawing saved to {deflected}.png: 2 nodes, 1 members, 1 supports, 1 loads; deflected shape: P(ST)" in out
    assert model.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "deflected.png").stat().st_size > model.stat().st_size
    assert "(drawing not saved:" in out and turns == 2          # a path under a file: reported, the chat goes on
