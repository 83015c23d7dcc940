"""The OpenAI-compatible endpoint, over real HTTP (stdlib urllib): tools in, `tool_calls` out."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from lib.chat_format import render
from lib.serve.backends import ScriptedBackend
from lib.serve.openai_server import MAX_CALLS, make_server

from .http_serving import serving

TOOLS = [{"type": "function", "function": {"name": "create_node", "description": "Create one node (절점).",
                                           "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}}}}]
USER = [{"role": "user", "content": "절점 1번을 원점에 추가해줘"}]


def running(backend):
    return serving(make_server(backend, port=0))


def post(url, body, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read().decode()


def completion(replies, body):
    backend = ScriptedBackend(replies)
    with running(backend) as url:
        status, _, text = post(url, body)
    return backend, status, json.loads(text)


def test_a_tool_call_comes_back_in_openai_form():
    reply = '<tool_call>\n{"name": "create_node", "arguments": {"id": 1, "x": 0, "y": 0, "z": 0}}\n</tool_call>'
    backend, status, out = completion([reply], {"model": "course", "messages": USER, "tools": TOOLS})
    assert status == 200 and out["object"] == "chat.completion"
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["id"].startswith("call_") and tool_call["type"] == "function"
    assert tool_call["function"]["name"] == "create_node"
    assert json.loads(tool_call["function"]["arguments"]) == {"id": 1, "x": 0, "y": 0, "z": 0}   # a JSON string
    assert backend.calls[0]["tools"] == TOOLS and out["usage"]["total_tokens"] > 0


def test_plain_text_answer_and_tool_choice_none():
    backend, status, out = completion(["안녕하세요!"], {"messages": USER, "tools": TOOLS, "tool_choice": "none"})
    assert status == 200 and out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"] == {"role": "assistant", "content": "안녕하세요!"}
    assert backend.calls[0]["tools"] is None


def test_malformed_calls_stay_in_content_with_the_reason():
    reply = '<tool_call>\n{"name": "create_node", "arguments": {"id": 1,}}\n</tool_call>'
    _, status, out = completion([reply], {"messages": USER, "tools": TOOLS})
    choice = out["choices"][0]
    assert status == 200 and choice["message"]["content"] == reply and "tool_calls" not in choice["message"]
    assert "malformed JSON" in choice["tool_call_errors"][0]


def test_a_client_round_trip_with_the_tool_result_is_rendered_in_the_course_format():
    history = USER + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "create_node", "arguments": "{\"id\": 1}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"NODE\": {\"1\": {\"X\": 0}}}"},
    ]
    backend, status, out = completion(["절점 1번을 추가했습니다."], {"messages": history, "tools": TOOLS})
    assert status == 200 and out["choices"][0]["message"]["content"] == "절점 1번을 추가했습니다."
    prompt = render(backend.calls[0]["messages"], TOOLS, add_generation_prompt=True)
    assert '<tool_call>\n{"name": "create_node", "arguments": {"id": 1}}\n</tool_call><|im_end|>' in prompt
    assert '<|im_start|>user\n<tool_response>\n{"NODE": {"1": {"X": 0}}}\n</tool_response><|im_end|>' in prompt


def test_stream_sends_one_chunk_then_done():
    reply = '<tool_call>\n{"name": "create_node", "arguments": {"id": 1}}\n</tool_call>'
    with running(ScriptedBackend([reply])) as url:
        status, ctype, text = post(url, {"messages": USER, "tools": TOOLS, "stream": True})
    assert status == 200 and ctype == "text/event-stream"
    events = [line.removeprefix("data: ") for line in text.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunk = json.loads(events[0])
    assert chunk["object"] == "chat.completion.chunk" and chunk["choices"][0]["delta"]["tool_calls"][0]["index"] == 0


@pytest.mark.parametrize("body, raw, message", [
    (None, b"{not json", "not JSON"),
    ({"messages": []}, None, "non-empty list"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, None, "role must be"),
    ({"messages": USER, "tools": [{"name": "x"}]}, None, "'tools' must be"),
    ({"messages": USER, "max_tokens": 0}, None, "positive integer"),
])
def test_bad_requests_get_400_with_a_reason(body, raw, message):
    with running(ScriptedBackend(["x"])) as url:
        status, _, text = post(url, body, raw)
    assert status == 400 and message in json.loads(text)["error"]["message"]


class Broken(ScriptedBackend):
    def reply(self, *args, **kwargs):
        raise RuntimeError("model fell over")


def test_models_route_unknown_route_and_a_failing_model():
    with running(Broken([], name="course-test")) as url:
        with urllib.request.urlopen(url + "/v1/models") as resp:
            assert json.loads(resp.read())["data"][0]["id"] == "course-test"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/v2/nothing")
        assert err.value.code == 404
        status, _, text = post(url, {"messages": USER})
        assert status == 500 and "model fell over" in json.loads(text)["error"]["message"]
        with urllib.request.urlopen(url + "/health") as resp:       # still serving
            assert json.loads(resp.read())["status"] == "ok"


def test_real_embedded_gguf_behind_the_endpoint():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from lib.serve.backends import load_backend

    backend = load_backend("embedded-gguf")
    try:
        with running(backend) as url:
            status, _, text = post(url, {"messages": USER, "tools": TOOLS, "max_tokens": 32})
    finally:
        backend.close()
    out = json.loads(text)
    assert status == 200 and out["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    # llama-cpp-python may pass max_tokens by a token or two to finish a UTF-8 character (Korean)
    assert 0 < out["usage"]["completion_tokens"] <= 32 + 3 and out["usage"]["prompt_tokens"] > 100
    message = out["choices"][0]["message"]
    assert message["content"] or message.get("tool_calls")


DEEP = b'{"messages": ' + b"[" * 100000 + b"]" * 100000 + b"}"


@pytest.mark.parametrize("body, raw, status, message", [
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": "x"}]}, *USER]}, None, 400, "tool_calls[0] must be"),
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": "all"}, *USER]}, None, 400, "tool_calls must be a list"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None, 400, "only text parts"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, None, 400, "only text parts"),
    (None, b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": ' + b"9" * 5000 + b"}", 400, "not JSON"),
    (None, DEEP, 400, "not JSON"),
    (None, b"\xff\xfe", 400, "not JSON"),
    ({"messages": USER, "max_tokens": 1500}, None, 400, "at most 1024 tokens"),
    ({"messages": USER, "tools": [{"type": "function", "function": {"name": ["x"]}}]}, None, 400, "'tools' must be"),
])
def test_client_mistakes_are_400_with_the_reason(body, raw, status, message):
    with running(ScriptedBackend(["x"])) as url:
        got, _, text = post(url, body, raw)
        assert (got, message in json.loads(text)["error"]["message"]) == (status, True), text
        assert post(url, {"messages": USER})[0] == 200        # still serving


def raw_post(url, data: bytes, length: str) -> tuple[int, str]:
    import http.client
    from urllib.parse import urlsplit

    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    connection.putrequest("POST", "/v1/chat/completions")
    connection.putheader("Content-Length", length)
    connection.endheaders(data)
    response = connection.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("length, status, message", [("abc", 400, "Content-Length must be a number"),
                                                     ("-5", 400, "must not be negative"),
                                                     (str(10 * 1024 * 1024), 413, "at most 1048576")])
def test_bad_or_huge_content_length(length, status, message):
    with running(ScriptedBackend(["x"])) as url:
        got, text = raw_post(url, b"{}", length)
        assert got == status and message in json.loads(text)["error"]["message"]
        assert post(url, {"messages": USER})[0] == 200


def test_a_cut_prompt_says_so_and_a_busy_model_answers_503():
    long_history = [m for i in range(60) for m in ({"role": "user", "content": f"질문 {i} " * 40},
                                                    {"role": "assistant", "content": "답 " * 40})]
    backend = ScriptedBackend(["ok"], max_length=2048)
    with running(backend) as url:
        status, _, text = post(url, {"messages": long_history + USER})
    out = json.loads(text)
    assert status == 200 and "2048-token budget" in out["warnings"][0] and "oldest turn(s)" in out["warnings"][0]
    assert backend.calls[0]["messages"][-1]["content"] == USER[0]["content"]

    class Slow(ScriptedBackend):
        def reply(self, *args, **kwargs):
            import time
            time.sleep(1.5)
            return super().reply(*args, **kwargs)

    server = make_server(Slow(["a", "b"]), port=0, busy_wait_s=0.2)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        first = threading.Thread(target=post, args=(url, {"messages": USER}))
        first.start()
        import time
        time.sleep(0.3)
        status, _, text = post(url, {"messages": USER})
        assert status == 503 and "busy" in json.loads(text)["error"]["message"]
        first.join()
    finally:
        server.shutdown()
        server.server_close()


def test_at_most_max_calls_come_back_from_one_reply():
    reply = "\n".join(f'<tool_call>\n{{"name": "create_node", "arguments": {{"id": {i}}}}}\n</tool_call>' for i in range(MAX_CALLS + 9))
    _, status, out = completion([reply], {"messages": USER, "tools": TOOLS})
    choice = out["choices"][0]
    assert status == 200 and len(choice["message"]["tool_calls"]) == MAX_CALLS
    assert f"only the first {MAX_CALLS}" in choice["tool_call_errors"][-1]
