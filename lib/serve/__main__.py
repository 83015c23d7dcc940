"""`python -m lib.serve`: chat with the course model in the terminal, in the browser, or over an OpenAI API.

    python -m lib.serve --mode cli                      # terminal chat
    python -m lib.serve --mode gradio --port 7860       # web chat
    python -m lib.serve --mode openai --port 8000       # POST /v1/chat/completions with tools
    python -m lib.serve --model artifacts/export/course/course-q4_k_m.gguf   # any model spec, see backends.load_backend
    python -m lib.serve --real-api                       # run calls on a real GEN NX (GENNX_MAPI_KEY set)
"""
from __future__ import annotations

import argparse
import sys

from .backends import SPEC_HELP, load_backend
from ..router import TIERS
from .session import ChatSession


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.serve", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["cli", "gradio", "openai"], default="cli")
    parser.add_argument("--model", default="auto", help=SPEC_HELP)
    parser.add_argument("--profile", default=None, help="hardware profile (default: $COURSE_PROFILE or auto)")
    parser.add_argument("--real-api", action="store_true",
                        help="send tool calls to a running GEN NX (needs GENNX_MAPI_KEY) instead of the sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="gradio: 7860, openai: 8000")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--max-rounds", type=int, default=4, help="model replies per user turn at most")
    parser.add_argument("--tools", default=None, help="comma-separated tool names to offer every turn (default: ranked per turn)")
    parser.add_argument("--tiers", default=",".join(map(str, TIERS)), help="catalogue tiers to rank tools from")
    parser.add_argument("--constrained", action="store_true",
                        help="hold tool calls to the offered tools' schemas (constrained decoding, lib.constrained)")
    parser.add_argument("--yes", action="store_true", help="run destructive calls without asking (scripts only)")
    parser.add_argument("--verbose", action="store_true", help="cli: print tokens and time per turn")
    return parser


def connect_api(real: bool, echo=print):
    """The GEN NX the calls go to: a fresh sandbox, or the real API when asked for and configured."""
    from ..gennx.client import HOW_TO_ENABLE, GenNxClient
    from ..gennx.sandbox import GenNxSandbox

    if not real:
        echo("GEN NX: course sandbox (in-process; --real-api sends calls to a running GEN NX)")
        return GenNxSandbox
    client = GenNxClient.from_env()
    if client is None:
        raise SystemExit(f"--real-api: {HOW_TO_ENABLE}")
    echo(f"GEN NX: real API at {client.base_url}")
    return lambda: client


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    echo = lambda line: print(line, file=sys.stderr if args.mode == "openai" else sys.stdout, flush=True)  # noqa: E731
    make_api = connect_api(args.real_api, echo) if args.mode != "openai" else None   # fail before loading a model
    try:
        profile = None
        if args.profile:
            from ..profile import load_profile

            profile = load_profile(args.profile)
        backend = load_backend(args.model, profile, constrained=args.constrained)
    except (ValueError, RuntimeError, OSError) as err:   # a bad spec or profile, missing model files, llama.cpp
        print(f"error: {err}", file=sys.stderr)
        return 2
    echo(f"model: {backend.name} ({backend.kind})")
    try:
        return _run(args, backend, make_api, echo)
    finally:
        backend.close()   # llama.cpp frees its model here rather than at interpreter exit


def _run(args, backend, make_api, echo) -> int:
    if args.mode == "openai":
        from .openai_server import serve

        serve(backend, args.host, args.port or 8000, echo=echo)
        return 0
    options = dict(tools=args.tools.split(",") if args.tools else None,
                   tiers=tuple(int(t) for t in args.tiers.split(",")),
                   max_rounds=args.max_rounds, max_new_tokens=args.max_new_tokens,
                   confirm=(lambda *_: True) if args.yes else None)
    if args.mode == "gradio":
        from .web import build_app, launch

        launch(build_app(backend, make_api, **options), args.host, args.port or 7860, block=True)
        return 0
    from .cli import run_cli

    run_cli(ChatSession(backend, api=make_api(), **options), verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
