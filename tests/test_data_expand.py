"""LLM expansion over real HTTP: the course's own OpenAI endpoint (scripted replies, and the smoke model) paraphrases."""
import http.server
import json
import socket

import pytest

from lib.data.__main__ import main
from lib.data.expand import INSTRUCTION, EndpointError, Paraphraser, expand_rows
from lib.data.generate import Generator
from lib.jsonl import read_jsonl, write_jsonl
from lib.models import load_tokenizer
from lib.profile import load_profile
from lib.serve.backends import ScriptedBackend
from lib.serve.openai_server import make_server

from .http_serving import serving


@pytest.fixture(scope="module")
def rows():
    return Generator(seed=3).build(total=30)


def user(row):
    return next(m["content"] for m in row["messages"] if m["role"] == "user")


def course_server(backend):
    return serving(make_server(backend, port=0))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_paraphrases_keep_the_calls_and_bad_ones_are_dropped_by_reason(rows):
    picked = [r for r in rows if r["meta"]["category"] in ("single", "multi")][:4]
    replies = [f"다시 말하면: {user(picked[0])}",          # kept
               "절점 999번을 지워 줘",                       # a number of the request is gone
               user(picked[2]),                            # same request again
               ""]                                         # nothing said
    backend = ScriptedBackend(replies)
    with course_server(backend) as url:
        kept, report = expand_rows(picked, Paraphraser(url + "/v1", "course", timeout=30))
    assert report["asked"] == 4 and report["kept"] == 1
    assert report["dropped"] == {"numbers": 1, "duplicate": 1, "empty": 1}
    (new,) = kept
    assert user(new) == replies[0] and new["meta"]["expanded"] == {"from": user(picked[0]), "model": "course"}
    assert [m for m in new["messages"] if m["role"] != "user"] == [m for m in picked[0]["messages"] if m["role"] != "user"]
    assert new["meta"]["group"] == picked[0]["meta"]["group"] and new["tools"] == picked[0]["tools"]
    asked = backend.calls[0]["messages"]   # what went over HTTP: the instruction and the original request
    assert asked[0]["content"] == INSTRUCTION and asked[-1]["content"] == user(picked[0])
    assert "expanded" not in picked[0]["meta"]   # the input rows are not touched


def test_a_paraphrase_is_validated_like_every_row(rows):
    row = next(r for r in rows if r["meta"]["category"] == "single")
    too_long = user(row) + " " + "정말로 " * 1500
    with course_server(ScriptedBackend([too_long])) as url:
        kept, report = expand_rows([row], Paraphraser(url + "/v1", "course"), tokenizer=load_tokenizer(load_profile("smoke")),
                                   max_length=2048)
    assert kept == [] and report["dropped"] == {"validate:length": 1}


def test_limit_and_the_cli_write_only_valid_new_rows(rows, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, rows[:5])
    backend = ScriptedBackend([f"({user(r)}) 부탁드립니다" for r in rows[:3]])
    with course_server(backend) as url:
        code = main(["expand", "--input", str(source), "--out", str(tmp_path / "new.jsonl"), "--base-url", url + "/v1",
                     "--model", "course", "--limit", "3", "--profile", "smoke", "--keep-input"])
    assert code == 0 and len(backend.calls) == 3
    out = read_jsonl(tmp_path / "new.jsonl")
    assert out[:5] == rows[:5] and len(out) == 8 and all(r["meta"]["expanded"]["model"] == "course" for r in out[5:])
    assert "asked 3, kept 3" in capsys.readouterr().out


def test_an_unreachable_endpoint_is_a_clear_error(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EndpointError, match="cannot reach an OpenAI-compatible endpoint.*lib.serve --mode openai"):
        Paraphraser(url, "course", timeout=5).paraphrase("절점 1번 만들어 줘")
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [{"messages": [{"role": "user", "content": "안녕"}, {"role": "assistant", "content": "안녕하세요"}]}])
    code = main(["expand", "--input", str(source), "--out", str(tmp_path / "o.jsonl"), "--base-url", url, "--model", "m",
                 "--profile", "smoke"])
    assert code == 2 and "cannot reach" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_a_silent_endpoint_times_out():
    with socket.socket() as listener:   # accepts the connection (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        with pytest.raises(EndpointError, match="did not answer within 0.5 s"):
            Paraphraser(url, "course", timeout=0.5).paraphrase("절점 1번 만들어 줘")


def test_a_wrong_route_says_to_check_the_base_url():
    with course_server(ScriptedBackend(["x"])) as url:
        with pytest.raises(EndpointError, match="HTTP 404.*ending in /v1"):
            Paraphraser(url, "course").paraphrase("절점 1번 만들어 줘")   # the API root lacks /v1


class KeyCheckingHandler(http.server.BaseHTTPRequestHandler):
    """An endpoint that wants a key (like a hosted API): 401 without it, an OpenAI answer with it."""

    seen: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        KeyCheckingHandler.seen.append(self.headers.get("Authorization"))
        ok = self.headers.get("Authorization") == "Bearer sk-test"
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "\"절점 1번을 추가해 주세요\"\n"}}]} if ok
                          else {"error": {"message": "no key"}}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_key_comes_from_the_named_environment_variable(monkeypatch):
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeyCheckingHandler)) as url:
        monkeypatch.delenv("COURSE_TEST_KEY", raising=False)
        with pytest.raises(EndpointError, match="HTTP 401"):
            Paraphraser(url + "/v1", "m", api_key_env="COURSE_TEST_KEY").paraphrase("절점 1번 만들어 줘")
        monkeypatch.setenv("COURSE_TEST_KEY", "sk-test")
        said = Paraphraser(url + "/v1", "m", api_key_env="COURSE_TEST_KEY").paraphrase("절점 1번 만들어 줘")
    assert said == "절점 1번을 추가해 주세요"   # first line, quotes removed
    assert KeyCheckingHandler.seen == [None, "Bearer sk-test"]


def test_the_smoke_model_behind_the_course_server(rows):
    """A real (tiny, random) model answers: whatever it says, every row is either kept valid or counted as dropped."""
    from lib.serve.backends import load_backend

    backend = load_backend("base", load_profile("smoke"))
    with course_server(backend) as url:
        kept, report = expand_rows(rows, Paraphraser(url + "/v1", "smoke", max_tokens=12, timeout=120), limit=2)
    assert report["asked"] == 2 and report["kept"] + sum(report["dropped"].values()) == 2
    assert all("expanded" in r["meta"] for r in kept)
