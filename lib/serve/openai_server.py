"""An OpenAI-compatible endpoint (`POST /v1/chat/completions` with `tools`) over any course backend.

    python -m lib.serve --mode openai --model artifacts/export/course/course-q4_k_m.gguf --port 8000

Why not `python -m llama_cpp.server`: llama-cpp-python renders the GGUF's template with the tools, but
returns the model's `<tool_call>` text as plain `content` (it fills `tool_calls` only for its own
function-calling chat formats, which use a different prompt than the one the course trained). This
endpoint renders the ONE course template itself and parses the reply with `lib.tool_calls`, so a client
gets OpenAI `tool_calls` (arguments as a JSON string) and executes them itself: nothing is executed here.

Behaviour: greedy decoding whatever `temperature` says; `tool_choice: "none"` offers no tools, any other
value offers the course router's best k of `tools` for the last user message (lib.router: the policy the
model was trained with; the choice is not enforced by a grammar); the prompt is cut to the model's
training length by lib.prompt_budget (oldest turns, then lowest-ranked tools) and a request that still
cannot fit is answered 400, one that was cut says so in `warnings`; `stream: true` sends the whole reply
as one chunk after generation, then `[DONE]`; blocks that cannot be parsed stay in `content` and are
listed in the choice's `tool_call_errors`. Requests are served one at a time (one model).

Limits, each answered with a clear error: a body over MAX_BODY_BYTES (413), `max_tokens` over
MAX_TOKENS (400), more than MAX_CALLS tool calls in one reply (the rest are listed in
`tool_call_errors`), and a wait of more than BUSY_WAIT_S for the model (503 with Retry-After). Anything
wrong in the request (not JSON, too deep, a malformed `tool_calls`, a non-text content part, a bad
Content-Length) is the client's: 400 with the reason.

Outgrowing one machine (not run in this course): vLLM serves the merged model with the same parser —
    vllm serve artifacts/merged/course --enable-auto-tool-choice --tool-call-parser hermes
or the base model with the adapter: `vllm serve Qwen/Qwen2.5-1.5B-Instruct --enable-lora
--lora-modules course=artifacts/adapters/course --enable-auto-tool-choice --tool-call-parser hermes`.

>>> from lib.serve.backends import ScriptedBackend
>>> reply = '<tool_call>\\n{"name": "run_analysis", "arguments": {}}\\n</tool_call>'
>>> out = chat_completion(ScriptedBackend([reply]), {"messages": [{"role": "user", "content": "해석해줘"}]})
>>> out["choices"][0]["finish_reason"], out["choices"][0]["message"]["tool_calls"][0]["function"]
('tool_calls', {'name': 'run_analysis', 'arguments': '{}'})
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..prompt_budget import fit_prompt
from ..router import default_router
from ..tool_calls import parse_tool_calls

DEFAULT_MAX_TOKENS = 256
MAX_TOKENS = 1024           # one reply; longer ones block every other client for minutes on a CPU
MAX_BODY_BYTES = 1 << 20    # 1 MiB: far more than any prompt that fits the model's budget
MAX_CALLS = 64              # tool calls returned from one reply
BUSY_WAIT_S = 120           # how long a request waits for the model before a 503


class BadRequest(ValueError):
    """A request the endpoint answers with HTTP 400 and an OpenAI-style error body."""


def _text(content) -> str:
    """OpenAI content may be a string, None or a list of parts; the course template takes text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for i, p in enumerate(content):
            if not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str):
                kind = p.get("type") if isinstance(p, dict) else type(p).__name__
                raise BadRequest(f"content[{i}]: only text parts ({{\"type\": \"text\", \"text\": \"...\"}}) are supported, got {kind!r}")
        return "".join(p["text"] for p in content)
    raise BadRequest(f"message content must be a string or a list of parts, got {type(content).__name__}")


def to_course_messages(messages) -> list[dict]:
    """OpenAI chat messages → the messages the course template renders (arguments may stay JSON strings).

    >>> to_course_messages([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    [{'role': 'user', 'content': 'Hi'}]
    """
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise BadRequest(f"messages[{i}]: role must be system, user, assistant or tool")
        role = "system" if m["role"] == "developer" else m["role"]
        message = {"role": role, "content": _text(m.get("content"))}
        if role == "assistant" and m.get("tool_calls"):
            calls = _list(m["tool_calls"], f"messages[{i}].tool_calls")
            message["tool_calls"] = [_tool_call(c, f"messages[{i}].tool_calls[{j}]") for j, c in enumerate(calls)]
        out.append(message)
    return out


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be a list, got {type(value).__name__}")
    return value


def _tool_call(call, where: str) -> dict:
    """An OpenAI assistant tool call → the course form; arguments stay a JSON string (or an object)."""
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise BadRequest(f"{where} must be {{\"type\": \"function\", \"function\": {{\"name\": ..., \"arguments\": ...}}}}")
    arguments = fn.get("arguments", "{}")
    if not isinstance(arguments, (str, dict)):
        raise BadRequest(f"{where}.function.arguments must be a JSON string, got {type(arguments).__name__}")
    return {"type": "function", "function": {"name": fn["name"], "arguments": arguments}}


def _offered_tools(request: dict) -> list[dict] | None:
    tools = request.get("tools") or None
    if tools is None or request.get("tool_choice") == "none":
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
                                              and isinstance(t["function"].get("name"), str) for t in tools):
        raise BadRequest("'tools' must be a list of {\"type\": \"function\", \"function\": {...}}")
    return tools


def chat_completion(backend, request: dict, model_name: str | None = None) -> dict:
    """One OpenAI chat completion for a parsed request body (a dict), with tool calls parsed out."""
    if not isinstance(request, dict):
        raise BadRequest("the request body must be a JSON object")
    messages = to_course_messages(request.get("messages"))
    tools = _offered_tools(request)
    max_tokens = next((request[k] for k in ("max_completion_tokens", "max_tokens") if request.get(k) is not None),
                      DEFAULT_MAX_TOKENS)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise BadRequest("'max_tokens' must be a positive integer")
    if max_tokens > MAX_TOKENS:
        raise BadRequest(f"'max_tokens' is {max_tokens}; this endpoint answers at most {MAX_TOKENS} tokens per reply "
                         "(a longer reply would hold the one model for minutes)")
    if tools:
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        tools = default_router().choose(last_user, tools)
    fitted = fit_prompt(messages, tools or [], backend.count_tokens, backend.max_length, max_tokens)
    if not fitted.fits:
        raise BadRequest(f"the prompt needs {fitted.prompt_tokens} tokens + max_tokens {max_tokens}, more than the "
                         f"model's {backend.max_length} (its training length): send fewer messages or a smaller max_tokens")
    warnings = []
    if fitted.dropped_turns or fitted.dropped_tools:
        warnings.append(f"the prompt was cut to the model's {backend.max_length}-token budget: {fitted.dropped_turns} oldest "
                        f"turn(s) and {len(fitted.dropped_tools)} tool(s) were left out")
    result = backend.reply(fitted.messages, fitted.tools or None, max_tokens)
    parsed = parse_tool_calls(result["text"])
    if len(parsed.calls) > MAX_CALLS:
        parsed.errors.append(f"the reply made {len(parsed.calls)} tool calls; only the first {MAX_CALLS} are returned")
        parsed.calls = parsed.calls[:MAX_CALLS]
    message = {"role": "assistant", "content": (result["text"] if parsed.errors else parsed.content) or None}
    choice = {"index": 0, "message": message, "logprobs": None,
              "finish_reason": "stop" if result.get("stopped", True) else "length"}
    if parsed.calls:
        message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                                  "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                                 for c in parsed.calls]
        if choice["finish_reason"] == "stop":
            choice["finish_reason"] = "tool_calls"
    if parsed.errors:
        choice["tool_call_errors"] = parsed.errors
    out = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
           "model": model_name or str(request.get("model") or getattr(backend, "name", "course")),
           "choices": [choice],
           "usage": {"prompt_tokens": result["prompt_tokens"], "completion_tokens": result["new_tokens"],
                     "total_tokens": result["prompt_tokens"] + result["new_tokens"]}}
    if warnings:
        out["warnings"] = warnings
    return out


def _as_chunk(completion: dict) -> dict:
    """The completion as one streaming chunk (delta instead of message)."""
    choice = completion["choices"][0]
    delta = dict(choice["message"])
    for i, call in enumerate(delta.get("tool_calls", [])):
        call["index"] = i
    return {"id": completion["id"], "object": "chat.completion.chunk", "created": completion["created"],
            "model": completion["model"],
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": choice["finish_reason"]}]}


def _read_json(headers, stream, max_body: int):
    """The parsed body, or (status, reason) for a body the client got wrong."""
    length_text = headers.get("Content-Length")
    try:
        length = int(length_text) if length_text is not None else 0
    except ValueError:
        return 400, f"Content-Length must be a number of bytes, got {length_text!r}"
    if length < 0:
        return 400, f"Content-Length must not be negative, got {length}"
    if length > max_body:
        return 413, f"the body is {length} bytes; this endpoint takes at most {max_body} (send fewer or shorter messages)"
    try:
        return json.loads(stream.read(length).decode("utf-8") or "null")
    except (ValueError, RecursionError) as err:   # bad JSON, bad UTF-8, an integer past the int-string limit, deep nesting
        return 400, f"the body is not JSON the endpoint can read: {str(err)[:200] or type(err).__name__}"


def make_server(backend, host: str = "127.0.0.1", port: int = 8000, model_name: str | None = None,
                max_body: int = MAX_BODY_BYTES, busy_wait_s: float = BUSY_WAIT_S) -> ThreadingHTTPServer:
    """An HTTP server (not started) answering /v1/models, /v1/chat/completions and /health."""
    name = model_name or getattr(backend, "name", "course")
    lock = threading.Lock()   # one model: one generation at a time

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet; the CLI prints one line per request instead
            pass

        def _send(self, status: int, body: dict | None = None, raw: bytes | None = None, ctype="application/json"):
            data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind="invalid_request_error"):
            self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "course"}]})
            elif self.path.rstrip("/") == "/health":
                self._send(200, {"status": "ok", "model": name})
            else:
                self._error(404, f"no route {self.path}; try POST /v1/chat/completions")

        def do_POST(self):
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, f"no route {self.path}; try POST /v1/chat/completions")
                return
            request = _read_json(self.headers, self.rfile, max_body)
            if isinstance(request, tuple):
                self.close_connection = True   # an unread or unreadable body: do not reuse the connection
                self._error(*request)
                return
            if not lock.acquire(timeout=busy_wait_s):
                self.send_response(503)
                self.send_header("Retry-After", str(int(busy_wait_s)))
                body = json.dumps({"error": {"message": f"the model is busy with another request for more than {busy_wait_s:.0f} s; "
                                             "retry later", "type": "server_busy", "param": None, "code": None}}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            try:
                completion = chat_completion(backend, request, name)
            except BadRequest as err:
                self._error(400, str(err))
                return
            except Exception as err:  # a model failure answers 500 and keeps the server up
                self._error(500, f"{type(err).__name__}: {err}", "server_error")
                return
            finally:
                lock.release()
            if request.get("stream"):
                events = f"data: {json.dumps(_as_chunk(completion), ensure_ascii=False)}\n\ndata: [DONE]\n\n"
                self._send(200, raw=events.encode("utf-8"), ctype="text/event-stream")
            else:
                self._send(200, completion)

    return ThreadingHTTPServer((host, port), Handler)


def serve(backend, host: str = "127.0.0.1", port: int = 8000, echo=print) -> None:
    """Serve until interrupted (Ctrl+C)."""
    server = make_server(backend, host, port)
    echo(f"OpenAI-compatible endpoint: http://{host}:{server.server_address[1]}/v1  (model: {getattr(backend, 'name', 'course')})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
