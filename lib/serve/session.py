"""A chat session in which the model's tool calls run against GEN NX (the course sandbox or the real API).

One user turn: offer the relevant tools → the model replies → its `<tool_call>` blocks are parsed →
each call is checked against the catalogue → mapped to its one API request → (destructive ones
confirmed) → executed → the response goes back to the model as a tool message → repeat until the model
answers in plain text or `max_rounds` replies have been made. Everything that happens is returned as a
list of `Event`s (data, not prints), so the CLI, the web chat and the notebooks show the same thing.

Decisions (documented here because every front end inherits them):
- **Which tools are offered.** The course router (lib.router, the one tool-offer policy the training data
  was built with) ranks Tier 1 and 2 tools for the user's message and the session offers the best `k`
  (lib.router.K). Pass `tools=[names]` to offer a fixed set instead.
- **How long a prompt may be.** The backend's `max_length` (the profile's training length): before every
  model reply the prompt is cut by lib.prompt_budget (oldest turns first, then the lowest-ranked tools);
  a prompt that still cannot fit is not sent and the turn ends with an error event.
- **Invalid calls are never executed.** An unknown tool, arguments that break the tool's JSON schema,
  malformed JSON or a call that cannot be mapped to a request becomes a `rejected` event, and the model
  gets the reason back as a tool response in the API's own error shape `{"error": {"message": ...}}`,
  so a capable model can correct itself; `max_rounds` bounds the retries and a reply identical to the
  previous round ends the turn.
- **Destructive calls need a yes.** DELETE requests and /doc/NEW, OPEN, CLOSE, IMPORT (which drop the
  open model) go through `confirm(call, request, reason) -> bool`; with no callback they are declined.
  A declined call is reported to the model as an error response.
- **At most `max_calls` calls run per reply** (MAX_CALLS): the rest are one `rejected` event and one error
  response to the model, so a runaway reply cannot hold the model state for minutes.
- **Nothing crashes the session.** A backend or API exception becomes an `error` event.

>>> from lib.serve.backends import ScriptedBackend
>>> reply = '<tool_call>\\n{"name": "create_node", "arguments": {"id": 1, "x": 0, "y": 0, "z": 0}}\\n</tool_call>'
>>> session = ChatSession(ScriptedBackend([reply, "절점 1번을 추가했습니다."]))
>>> turn = session.send("절점 1번을 원점에 추가해줘")
>>> [e.kind for e in turn.events]
['call', 'request', 'response', 'answer']
>>> turn.events[1].text
'[Tool Call] POST /db/NODE {"Assign": {"1": {"X": 0, "Y": 0, "Z": 0}}}'
>>> session.api.summary()["NODE"]["COUNT"]
1
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from ..data.generate import SYSTEM
from ..gennx.catalogue import Catalogue, load_catalogue
from ..gennx.mapping import ApiRequest, MappingError
from ..prompt_budget import fit_prompt
from ..router import TIERS, default_router
from ..tool_calls import ToolCall, parse_tool_calls

DEFAULT_SYSTEM = SYSTEM["ko"][0]   # a system prompt the model was trained with
MAX_CALLS = 64   # tool calls executed from one model reply (the demo frame takes ~30 in one)
REPLACES_MODEL = ("/DOC/NEW", "/DOC/OPEN", "/DOC/CLOSE", "/DOC/IMPORT", "/DOC/IMPORTMXT")
Confirm = Callable[[ToolCall, ApiRequest, str], bool]


@dataclass
class Event:
    """One thing that happened in a turn.

    kind: call (a parsed call), request (the API request sent), response (the API's answer),
    rejected (not executed: invalid), declined (not executed: the user said no), text (words the model
    wrote beside its calls), answer (the final text reply), error (a backend/API failure or a turn cut short).
    `text` is the one line a front end prints; `data` holds the details.
    """
    kind: str
    text: str
    data: dict = field(default_factory=dict)


@dataclass
class Turn:
    """The result of `ChatSession.send`: events in order, the final answer (None if there was none), timings."""
    user: str
    events: list[Event] = field(default_factory=list)
    answer: str | None = None
    replies: list[dict] = field(default_factory=list)   # the backend's result per round (text, tokens, seconds)
    tools: list[str] = field(default_factory=list)      # the tool names offered in this turn

    @property
    def requests(self) -> list[dict]:
        """The API requests that were executed, as {method, path, body}."""
        return [e.data for e in self.events if e.kind == "request"]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def transcript(self) -> str:
        return "\n".join(e.text for e in self.events)


def destructive_reason(request: ApiRequest) -> str | None:
    """Why a request needs the user's confirmation, or None when it does not.

    >>> destructive_reason(ApiRequest("DELETE", "/db/NODE/1,2"))
    '데이터를 삭제합니다 (DELETE /db/NODE/1,2)'
    >>> destructive_reason(ApiRequest("POST", "/db/NODE", {"Assign": {}})) is None
    True
    """
    if request.method.upper() == "DELETE":
        return f"데이터를 삭제합니다 ({request.method} {request.path})"
    if request.method.upper() == "POST" and request.path.upper() in REPLACES_MODEL:
        return f"열린 모델을 닫습니다: 저장하지 않은 작업은 사라집니다 ({request.method} {request.path})"
    return None


def summarise_response(response, method: str = "POST") -> str:
    """One short line for an API response body (`method`: the request's, which says what the records mean).

    >>> summarise_response({"NODE": {"1": {"X": 0, "Y": 0, "Z": 0}}})
    'NODE: 1 record(s) 1'
    >>> summarise_response({"error": {"message": "Key Already Exist"}})
    'error: Key Already Exist'
    >>> summarise_response({"NODE": {"1": {}, "2": {}}}, "DELETE")
    'NODE: 2 record(s) deleted 1,2'
    >>> summarise_response({"message": "MIDAS GEN NX command complete"})
    'MIDAS GEN NX command complete'
    """
    if not isinstance(response, dict):
        return f"unexpected response: {str(response)[:80]}"
    if isinstance(response.get("error"), dict):
        return f"error: {response['error'].get('message', '')}"
    if "message" in response:
        return response["message"] or "OK (empty)"
    parts = []
    for key, value in response.items():
        if isinstance(value, dict) and "DATA" in value:
            parts.append(f"{key}: table, {len(value['DATA'])} row(s)")
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            ids = list(value)
            shown = ",".join(ids[:8]) + (",…" if len(ids) > 8 else "")
            verb = " deleted" if method.upper() == "DELETE" else ""
            parts.append(f"{key}: {len(ids)} record(s){verb} {shown}".rstrip())
        else:
            parts.append(f"{key}: {json.dumps(value, ensure_ascii=False)[:60]}")
    return "; ".join(parts) or "OK (empty)"


class ChatSession:
    """A conversation with a backend whose tool calls run in `api` (a GenNxSandbox by default).

    backend: anything with `reply(messages, tools, max_new_tokens) -> dict` and `count_tokens(text)`
    (see lib.serve.backends). api: GenNxSandbox or GenNxClient (`execute(ApiRequest) -> dict`).
    confirm: asked before destructive requests; None declines them. tools: fixed tool names to offer
    every turn (default: the router's `k` per turn, see the module docstring). max_length: prompt + reply
    budget (default: the backend's `max_length`, the profile's training length).
    """

    def __init__(self, backend, *, api=None, catalogue: Catalogue | None = None, system_prompt: str = DEFAULT_SYSTEM,
                 tools: list[str] | None = None, tiers=TIERS, k: int | None = None, max_rounds: int = 4,
                 max_new_tokens: int = 256, max_length: int | None = None, confirm: Confirm | None = None,
                 max_tool_chars: int = 2000, max_calls: int = MAX_CALLS):
        from ..gennx.sandbox import GenNxSandbox

        self.backend = backend
        self.api = api if api is not None else GenNxSandbox()
        self.catalogue = catalogue or load_catalogue()
        unknown = [n for n in tools or [] if n not in self.catalogue]
        if unknown:
            raise ValueError(f"tools not in the catalogue: {unknown}")
        self.system_prompt, self.fixed_tools = system_prompt, tools
        self.router = default_router(tuple(tiers))
        self.k, self.max_rounds, self.max_new_tokens = k or self.router.k, max_rounds, max_new_tokens
        self.max_length = int(max_length or backend.max_length)
        self.confirm, self.max_tool_chars, self.max_calls = confirm, max_tool_chars, max_calls
        self.reset()

    def reset(self) -> None:
        """Forget the conversation (the GEN NX model state is kept)."""
        self.messages: list[dict] = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []

    def model_state(self) -> dict | None:
        """Record counts per table of the sandbox model (None for the real API, which has no local state)."""
        return self.api.summary() if hasattr(self.api, "summary") else None

    # ------------------------------------------------------------ tools and context

    def offered_tools(self, text: str) -> list[str]:
        """The tool names offered for a user message, best first."""
        if self.fixed_tools is not None:
            return list(self.fixed_tools)
        return self.router.offer(text, self.k)

    # ------------------------------------------------------------ one turn

    def send(self, user_text: str) -> Turn:
        """Run one user turn to its end; never raises on model output."""
        # a byte that is not UTF-8 (a terminal in another encoding) arrives as a lone surrogate, which no
        # tokenizer accepts: it becomes U+FFFD, so the rest of the message still reaches the model
        user_text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in str(user_text))
        turn = Turn(user=user_text)
        self.messages.append({"role": "user", "content": user_text})
        tools = self.catalogue.openai_tools(self.offered_tools(user_text))
        previous = None
        for _ in range(self.max_rounds):
            try:
                fitted = fit_prompt(self.messages, tools, self.backend.count_tokens, self.max_length, self.max_new_tokens)
                self.messages, tools = fitted.messages, fitted.tools   # dropped turns stay dropped
                turn.tools = turn.tools or [t["function"]["name"] for t in tools]
                if not fitted.fits:
                    turn.events.append(Event("error", f"[Error] the prompt needs {fitted.prompt_tokens} tokens + "
                                             f"{self.max_new_tokens} for the reply, more than the model's {self.max_length}: "
                                             "send a shorter message or start a new conversation",
                                             {"prompt_tokens": fitted.prompt_tokens, "max_length": self.max_length}))
                    return turn
                reply = self.backend.reply(self.messages, tools, self.max_new_tokens)
            except Exception as err:  # a backend failure must not end the conversation
                turn.events.append(Event("error", f"[Error] model: {type(err).__name__}: {err}", {"exception": repr(err)}))
                return turn
            turn.replies.append(reply)
            text = reply["text"]
            parsed = parse_tool_calls(text)
            if not parsed.blocks:
                turn.answer = parsed.content
                self.messages.append({"role": "assistant", "content": parsed.content})
                turn.events.append(Event("answer", parsed.content, {"raw": text, "stopped": reply.get("stopped", True)}))
                return turn
            if text == previous:
                turn.events.append(Event("error", "[Error] the model repeated its last reply; turn ended", {"raw": text}))
                return turn
            previous = text
            self._tool_round(turn, text, parsed)
        turn.events.append(Event("error", f"[Error] no text answer after {self.max_rounds} model replies (max_rounds)",
                                 {"max_rounds": self.max_rounds}))
        return turn

    def _tool_round(self, turn: Turn, text: str, parsed) -> None:
        if parsed.content:
            turn.events.append(Event("text", parsed.content, {}))
        # What the model said goes into the history as it said it when a block could not be read;
        # otherwise in the structured form the training data uses.
        if parsed.errors:
            self.messages.append({"role": "assistant", "content": text})
        else:
            self.messages.append({"role": "assistant", "content": parsed.content,
                                  "tool_calls": [c.to_message_call() for c in parsed.calls]})
        for problem in parsed.errors:
            turn.events.append(Event("rejected", f"[Rejected] unreadable tool call: {problem}", {"problems": [problem], "raw": text}))
            self._tool_message("invalid_call", {"error": {"message": f"tool call not executed: {problem}"}})
        for call in parsed.calls[:self.max_calls]:
            self._run_call(turn, call)
        extra = len(parsed.calls) - self.max_calls
        if extra > 0:
            problem = f"the reply made {len(parsed.calls)} tool calls; only the first {self.max_calls} ran, {extra} were not executed"
            turn.events.append(Event("rejected", f"[Rejected] {problem}", {"problems": [problem], "not_executed": extra}))
            self._tool_message("too_many_calls", {"error": {"message": problem}})

    def _run_call(self, turn: Turn, call: ToolCall) -> None:
        args_text = json.dumps(call.arguments, ensure_ascii=False)
        turn.events.append(Event("call", f"{call.name} {args_text}", {"name": call.name, "arguments": call.arguments}))
        problems = self.catalogue.check_call(call.name, call.arguments)
        request = None
        if not problems:
            try:
                request = self.catalogue.to_request(call.name, call.arguments)
            except (MappingError, KeyError, TypeError, ValueError) as err:
                problems = [f"{call.name}: {err}"]
        if problems:
            turn.events.append(Event("rejected", f"[Rejected] {call.name} {args_text}: {'; '.join(problems)}",
                                     {"name": call.name, "arguments": call.arguments, "problems": problems}))
            self._tool_message(call.name, {"error": {"message": "tool call not executed: " + "; ".join(problems)}})
            return
        reason = destructive_reason(request)
        if reason:
            try:
                allowed = bool(self.confirm(call, request, reason)) if self.confirm else False
            except Exception as err:   # a failing prompt counts as "no"
                allowed, reason = False, f"{reason}; confirmation failed: {err}"
            if not allowed:
                turn.events.append(Event("declined", f"[Declined] {request}: {reason}",
                                         {"name": call.name, "arguments": call.arguments, "reason": reason, **request.as_dict()}))
                self._tool_message(call.name, {"error": {"message": f"the user declined this call ({reason})"}})
                return
        turn.events.append(Event("request", f"[Tool Call] {request}", request.as_dict()))
        try:
            response = self.api.execute(request)
        except Exception as err:  # the real API client should not raise either; if it does, report it
            response = {"error": {"message": f"{type(err).__name__}: {err}"}}
        ok = not (isinstance(response, dict) and "error" in response)
        turn.events.append(Event("response", f"  → {summarise_response(response, request.method)}",
                                 {"name": call.name, "response": response, "ok": ok,
                                  "status": getattr(self.api, "last_status", None)}))
        self._tool_message(call.name, response)

    def _tool_message(self, name: str, response) -> None:
        content = json.dumps(response, ensure_ascii=False)
        if len(content) > self.max_tool_chars:  # result tables can be long; the model sees the start
            content = content[: self.max_tool_chars] + " …(truncated)"
        self.messages.append({"role": "tool", "name": name, "content": content})
