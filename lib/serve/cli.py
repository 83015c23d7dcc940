"""The terminal chat : `You:` prompt, `[Tool Call]` lines, the response, the answer.

    python -m lib.serve --mode cli [--model SPEC]

Commands at the `You:` prompt: `quit` / `exit` / `종료` ends, `/reset` forgets the conversation,
`/state` shows the GEN NX model's record counts, `/draw [file]` saves a drawing of the model (the last
executed call highlighted; after an analysis with its deflected shape and reactions; default file
artifacts/figures/gennx-model.png). Destructive calls ask `[y/N]` on the same input.
Input and output are parameters, so the chat can be driven from a test or a notebook.

>>> import io
>>> from lib.serve.backends import ScriptedBackend
>>> from lib.serve.session import ChatSession
>>> out = io.StringIO()
>>> run_cli(ChatSession(ScriptedBackend(["안녕하세요!"])), io.StringIO("안녕\\nquit\\n"), out, banner=False)
1
>>> print(out.getvalue().strip())
You: Assistant: 안녕하세요!
<BLANKLINE>
You:
"""
from __future__ import annotations

import sys
from pathlib import Path

from .session import ChatSession, Event

BANNER = "GEN NX Tool Calling Assistant (type 'quit' to exit)"
QUIT = {"quit", "exit", "q", "종료"}


def format_event(event: Event) -> str | None:
    """The line the CLI prints for an event (None: not printed; the request line already shows the call)."""
    if event.kind == "call":
        return None
    if event.kind in ("answer", "text"):
        return f"Assistant: {event.text}"
    return event.text


def format_state(state: dict | None) -> str:
    """The sandbox's record counts, one table per line ('(real API: no local state)' otherwise)."""
    if state is None:
        return "(real API: no local state)"
    if not state:
        return "(empty model)"
    return "\n".join(f"  {name:<10} {row['COUNT']:>5}" for name, row in state.items())


def save_drawing(api, target: str | None = None, last=None) -> str:
    """Draw the model into `target` (default artifacts/figures/gennx-model.png); returns the line the CLI prints."""
    from ..gennx import draw
    from ..paths import FIGURES

    path = Path(target).expanduser() if target else FIGURES / "gennx-model.png"
    path = path if path.suffix else path.with_suffix(".png")
    try:
        fig = draw.figure(api, highlight=last)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    except (OSError, ValueError) as err:     # an unwritable path or an unknown image format: say so, keep chatting
        return f"(drawing not saved: {err})"
    counts = draw.drawn(fig.axes[0])
    shown = ", ".join(f"{counts[k]} {k}s" for k in ("node", "member", "face", "support", "load") if counts.get(k)) or "empty model"
    after = f"; deflected shape: {fig.axes[1].get_title().removeprefix('deflected shape: ')}" if len(fig.axes) > 1 else ""
    return f"(drawing saved to {path}: {shown}{after})"


def ask_yes_no(stdin, stdout):
    """A confirm callback for the session that asks on the terminal; anything but y/yes/예/네 is no."""
    def confirm(call, request, reason) -> bool:
        stdout.write(f"  ⚠ {request}\n  {reason}. 실행할까요? [y/N] ")
        stdout.flush()
        answer = stdin.readline()
        return answer.strip().lower() in ("y", "yes", "예", "네", "ㅇ")
    return confirm


def run_cli(session: ChatSession, stdin=None, stdout=None, *, banner: bool = True, verbose: bool = False) -> int:
    """Chat until `quit` or end of input; returns the number of user turns."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if session.confirm is None:
        session.confirm = ask_yes_no(stdin, stdout)
    if banner:
        stdout.write(f"{BANNER}\n{'=' * len(BANNER)}\n\n")
    turns, last = 0, None
    while True:
        stdout.write("You: ")
        stdout.flush()
        line = stdin.readline()
        if not line:            # end of input
            stdout.write("\n")
            return turns
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT:
            return turns
        if text == "/reset":
            session.reset()
            stdout.write("(conversation cleared; the GEN NX model is kept)\n\n")
            continue
        if text == "/state":
            stdout.write(format_state(session.model_state()) + "\n\n")
            continue
        if text == "/draw" or text.startswith("/draw "):
            stdout.write(save_drawing(session.api, text[len("/draw"):].strip() or None, last) + "\n\n")
            continue
        turn = session.send(text)
        turns += 1
        last = turn.requests[-1] if turn.requests else last
        for event in turn.events:
            line = format_event(event)
            if line is not None:
                stdout.write(line + "\n")
        if verbose:
            tokens = sum(r["new_tokens"] for r in turn.replies)
            seconds = sum(r["seconds"] for r in turn.replies)
            stdout.write(f"  ({len(turn.replies)} replies, {tokens} tokens, {seconds:.1f} s; tools offered: {', '.join(turn.tools)})\n")
        stdout.write("\n")
        stdout.flush()
