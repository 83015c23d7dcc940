"""The Gradio web chat : the conversation, each tool call's request and response, the model state.

    python -m lib.serve --mode gradio [--model SPEC] [--port 7860]

Each browser tab gets its own `ChatSession` and its own GEN NX sandbox (or the shared real API). The
page shows every `[Tool Call] METHOD /path {body}` with the response summary inside the chat, the full
requests and responses of the last turn as JSON, the sandbox's record counts per table, and a drawing of
the model (lib.gennx.draw) redrawn after every executed call with that call's records highlighted; once the
model has analysis results the drawing adds its deflected shape and reactions. A destructive call (delete,
new/open model) pauses the turn and shows 실행/취소 buttons; the turn goes on when one is pressed (declined
after `CONFIRM_TIMEOUT` seconds without an answer). One model serves all tabs: replies are generated one at a time.
"""
from __future__ import annotations

import io
import os
import queue
import threading

from .session import ChatSession, Turn

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # offline: no usage pings

CONFIRM_TIMEOUT = 300
TITLE = "GEN NX 도구 호출 어시스턴트"
STATE_COLUMNS = ["테이블", "개수", "최대 번호"]


class _OneAtATime:
    """The backend behind a lock: one model, many browser tabs."""

    def __init__(self, backend):
        self._backend, self._lock = backend, threading.Lock()

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def reply(self, *args, **kwargs):
        with self._lock:
            return self._backend.reply(*args, **kwargs)


class _Watched:
    """The tab's GEN NX with a listener told of every executed request (the drawing follows the conversation).

    The session runs in a worker thread while the page redraws from the same API: one lock keeps a drawing's
    GET requests from interleaving with the session's writes, and `last_status` is the one of the last
    executed request, not of the drawing's reads.
    """

    def __init__(self, api):
        self.api, self.listener, self._lock, self._status = api, None, threading.RLock(), None

    def __getattr__(self, name):
        if name == "api":        # not yet set (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.api, name)

    @property
    def last_status(self):
        return self._status

    def execute(self, request):
        with self._lock:
            response = self.api.execute(request)
            self._status = getattr(self.api, "last_status", None)
        if self.listener is not None:
            self.listener(request)
        return response

    def request(self, method, path, body=None):
        with self._lock:
            return self.api.request(method, path, body)


def drawing(api, request=None):
    """The model drawing as an image for the page, `request` (the last executed one) highlighted; None if it fails."""
    from PIL import Image

    from ..gennx import draw

    try:
        return Image.open(io.BytesIO(draw.png(draw.figure(api, highlight=request, size=(5.4, 4.4), dpi=100, stack="column"))))
    except Exception:   # a drawing problem must never stop the chat: the page keeps the previous picture
        return None


class _Tab:
    """Per-browser state. Gradio deep-copies a State's initial value for every new tab: the copy is a fresh tab."""

    def __init__(self, make_session):
        self.make_session = make_session
        self.session: ChatSession | None = None
        self.answers: queue.Queue = queue.Queue()
        self.last: list[dict] = []

    def __deepcopy__(self, memo):
        return _Tab(self.make_session)

    def get(self) -> ChatSession:
        if self.session is None:
            self.session = self.make_session()
        return self.session


def turn_messages(turn: Turn) -> list[dict]:
    """The chat bubbles for a turn: one code block with the tool activity, then the answer."""
    lines = [e.text for e in turn.events if e.kind not in ("call", "answer", "text")]
    bubbles = [{"role": "assistant", "content": e.text} for e in turn.events if e.kind == "text"]
    if lines:
        bubbles.append({"role": "assistant", "content": "```text\n" + "\n".join(lines) + "\n```"})
    if turn.answer is not None:
        bubbles.append({"role": "assistant", "content": turn.answer or "(빈 응답)"})
    return bubbles


def turn_details(turn: Turn) -> list[dict]:
    """Requests and responses of a turn (and what was not executed), for the JSON panel."""
    details, pending = [], None
    for e in turn.events:
        if e.kind == "request":
            pending = {"request": e.data}
        elif e.kind == "response" and pending is not None:
            pending["response"] = e.data["response"]
            details.append(pending)
            pending = None
        elif e.kind in ("rejected", "declined", "error"):
            details.append({e.kind: e.text})
    return details


def state_rows(state: dict | None) -> list[list]:
    if state is None:
        return [["(실제 GEN NX API: 로컬 상태 없음)", "", ""]]
    return [[name, row["COUNT"], row["MAX_ID"]] for name, row in state.items()]


def stats_line(turn: Turn) -> str:
    tokens = sum(r["new_tokens"] for r in turn.replies)
    seconds = sum(r["seconds"] for r in turn.replies)
    speed = f", {tokens / seconds:.0f} tokens/s" if seconds > 0 else ""
    return (f"모델 응답 {len(turn.replies)}회 · 생성 {tokens} 토큰 · {seconds:.1f} s{speed}  \n"
            f"제시한 도구: {', '.join(turn.tools) or '(없음)'}")


def build_app(backend, make_api=None, **session_options):
    """The Blocks app (not launched). `make_api()` gives each tab its GEN NX (default: a new sandbox)."""
    import gradio as gr

    from ..gennx.sandbox import GenNxSandbox

    shared = _OneAtATime(backend)
    make_api = make_api or GenNxSandbox
    session_options.pop("confirm", None)   # the page asks (see respond)

    def make_session():
        return ChatSession(shared, api=_Watched(make_api()), **session_options)

    def redraw(session, request):
        picture = drawing(session.api, request)
        return gr.update() if picture is None else picture

    def respond(message, history, tab: _Tab):
        history = list(history or [])
        if not (message or "").strip():
            yield history, message, gr.update(), gr.update(), gr.update(), gr.update(visible=False), gr.update(), gr.update()
            return
        session = tab.get()
        history.append({"role": "user", "content": message})
        events: queue.Queue = queue.Queue()

        def confirm(call, request, reason):
            while not tab.answers.empty():    # a stale click from an earlier question does not count
                tab.answers.get_nowait()
            events.put(("confirm", f"⚠ **확인이 필요합니다**: `{request}`  \n{reason}. 실행할까요?"))
            try:
                return tab.answers.get(timeout=CONFIRM_TIMEOUT)
            except queue.Empty:
                return False

        def work():
            try:
                events.put(("done", session.send(message)))
            except Exception as err:  # the session does not raise; this guards the page anyway
                events.put(("failed", f"{type(err).__name__}: {err}"))

        session.confirm = confirm
        if isinstance(session.api, _Watched):
            session.api.listener = lambda request: events.put(("call", request))
        threading.Thread(target=work, daemon=True).start()
        yield history, "", gr.update(), gr.update(), "생성 중…", gr.update(visible=False), gr.update(), gr.update()
        backlog: list = []
        while True:
            kind, payload = backlog.pop(0) if backlog else events.get()
            if kind == "call":
                # calls come faster than a drawing (~0.5 s): draw only the latest of those already waiting
                while True:
                    try:
                        following = events.get_nowait()
                    except queue.Empty:
                        break
                    if following[0] != "call":
                        backlog.append(following)
                        break
                    payload = following[1]
                yield (history, "", state_rows(session.model_state()), gr.update(), gr.update(), gr.update(),
                       gr.update(), redraw(session, payload))
                continue
            if kind == "confirm":
                yield history, "", gr.update(), gr.update(), gr.update(), gr.update(visible=True), payload, gr.update()
                continue
            if kind == "failed":
                history.append({"role": "assistant", "content": f"[Error] {payload}"})
                yield history, "", gr.update(), gr.update(), gr.update(), gr.update(visible=False), gr.update(), gr.update()
                return
            turn = payload
            history += turn_messages(turn)
            tab.last = turn_details(turn)
            yield (history, "", state_rows(session.model_state()), tab.last, stats_line(turn),
                   gr.update(visible=False), gr.update(), gr.update())
            return

    def answer(tab: _Tab, yes: bool):
        tab.answers.put(yes)
        return gr.update(visible=False)

    def clear(tab: _Tab):
        if tab.session is not None:
            tab.session.reset()
        return [], [], ""

    theme = gr.themes.Default(font=["sans-serif"], font_mono=["monospace"])   # system fonts: works offline
    with gr.Blocks(title=TITLE) as app:
        tab = gr.State(_Tab(make_session))
        gr.Markdown(f"## {TITLE}\n모델: `{getattr(backend, 'name', backend)}` · GEN NX: "
                    f"{'실제 API' if make_api is not GenNxSandbox else '코스 샌드박스'} · "
                    "도구 호출은 검증한 뒤 실행하고, 삭제·새 모델은 확인을 받습니다.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="대화", height=480, elem_id="chat")
                with gr.Group(visible=False, elem_id="confirm") as confirm_box:
                    confirm_text = gr.Markdown()
                    with gr.Row():
                        yes = gr.Button("실행", variant="stop", elem_id="confirm-yes")
                        no = gr.Button("취소", elem_id="confirm-no")
                with gr.Row():
                    box = gr.Textbox(placeholder="예: 절점 1번을 원점에 추가해줘", show_label=False, scale=5,
                                     elem_id="message", lines=1, max_lines=4)
                    send = gr.Button("보내기", variant="primary", scale=1, elem_id="send")
                reset = gr.Button("대화 지우기 (모델 상태는 유지)", size="sm")
            with gr.Column(scale=2):
                picture = gr.Image(value=drawing(GenNxSandbox()), label="모델 그림 (마지막 변경은 주황색, 해석 뒤에는 처짐과 반력)",
                                   type="pil", interactive=False, elem_id="drawing")
                state = gr.Dataframe(headers=STATE_COLUMNS, value=state_rows({}), label="모델 상태 (테이블별 개수)",
                                     interactive=False, elem_id="state")
                stats = gr.Markdown(elem_id="stats")
                details = gr.JSON(label="마지막 턴의 요청과 응답", elem_id="details", open=True)
        outputs = [chatbot, box, state, details, stats, confirm_box, confirm_text, picture]
        # Enter and 보내기 share one queue slot: one turn at a time (one model)
        box.submit(respond, [box, chatbot, tab], outputs, concurrency_id="turn")
        send.click(respond, [box, chatbot, tab], outputs, concurrency_id="turn")
        yes.click(lambda t: answer(t, True), [tab], [confirm_box], queue=False)
        no.click(lambda t: answer(t, False), [tab], [confirm_box], queue=False)
        reset.click(clear, [tab], [chatbot, details, stats])
    app.course_theme = theme
    return app


def launch(app, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Start the web chat; with block=False return at once (the server runs in a thread): `app.close()` stops it."""
    app.queue(default_concurrency_limit=1)
    app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=True,
               theme=getattr(app, "course_theme", None), show_error=True)
    return app
