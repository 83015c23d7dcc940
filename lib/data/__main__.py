"""`python -m lib.data build|validate|split|review|expand`: the dataset phase from the command line (notebook 04 calls the same code).

    python -m lib.data build [--total 3000] [--seed 42] [--profile laptop-6gb] [--out data/processed]
    python -m lib.data validate FILE.jsonl [--profile laptop-6gb] [--keep VALID.jsonl]
    python -m lib.data split --input FILE.jsonl --train-ratio 0.8 [--eval-ratio R] [--seed 42] --out DIR
    python -m lib.data review --input FILE.jsonl [--n 200] [--seed 0] [--out artifacts/review/sample-200.html]
    python -m lib.data expand --input FILE.jsonl --out NEW.jsonl --base-url http://127.0.0.1:8000/v1 --model course [--limit N]
    python -m lib.data instructions
"""
from __future__ import annotations

import argparse
import sys

from .build import build_dataset, length_checker, print_counts
from .validate import validate_file
from ..jsonl import JsonlError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.data")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate, validate and split the dataset")
    b.add_argument("--total", type=int, default=3000)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--profile", default="laptop-6gb", help="whose max length the examples must fit")
    b.add_argument("--out", default=None, help="output folder (default data/processed)")
    v = sub.add_parser("validate", help="check a JSONL file line by line")
    v.add_argument("file")
    v.add_argument("--profile", default="laptop-6gb")
    v.add_argument("--keep", default=None, help="write the valid lines here")
    sub.add_parser("instructions", help="rebuild data/instructions/course_alpaca.jsonl from the glossary")
    s = sub.add_parser("split", help="validate any JSONL and split it into train/eval/test.jsonl + report.json")
    s.add_argument("--input", required=True)
    s.add_argument("--out", required=True, help="output folder (replaced atomically)")
    s.add_argument("--train-ratio", type=float, default=0.8)
    s.add_argument("--eval-ratio", type=float, default=None, help="default: half of what train leaves")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--profile", default="laptop-6gb", help="whose max length the rows must fit")
    s.add_argument("--drop-invalid", action="store_true", help="split only the valid lines instead of stopping")
    r = sub.add_parser("review", help="render a seeded random sample as an HTML table for a person to read")
    r.add_argument("--input", required=True)
    r.add_argument("--n", type=int, default=200)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=None, help="default artifacts/review/sample-<n>.html")
    e = sub.add_parser("expand", help="paraphrase user turns with an OpenAI-compatible endpoint (validated)")
    e.add_argument("--input", required=True)
    e.add_argument("--out", required=True, help="the new rows that passed validation (JSONL)")
    e.add_argument("--base-url", required=True, help="API root, e.g. http://127.0.0.1:8000/v1")
    e.add_argument("--model", required=True)
    e.add_argument("--limit", type=int, default=None, help="paraphrase the first N rows only")
    e.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key (if any)")
    e.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one answer")
    e.add_argument("--keep-input", action="store_true", help="write the input rows before the new ones")
    e.add_argument("--profile", default="laptop-6gb", help="whose max length the new rows must fit")
    args = parser.parse_args(argv)
    from ..profile import ProfileError

    try:
        return _run(args)
    except ProfileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "instructions":
        from .instructions import COURSE_SET, write_course_instructions

        print(f"{write_course_instructions()} rows → {COURSE_SET}")
        return 0
    if args.command in _COMMANDS:
        return _COMMANDS[args.command](args)
    if args.command == "build":
        result = build_dataset(total=args.total, seed=args.seed, profile=args.profile, out_dir=args.out, echo=print)
        print_counts(result)
        return 0 if result["validation"]["invalid"] == 0 else 1
    tokenizer, max_length, note = length_checker(args.profile)
    print(note)
    try:
        report = validate_file(args.file, args.keep, tokenizer, max_length)
    except (JsonlError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line, reasons in sorted(report.problems.items()):
        for reason in reasons:
            print(f"{args.file}:{line}: {reason}")
    s = report.summary()
    print(f"{s['valid']} of {s['lines']} lines valid ({s['valid_share']:.1%}); {s['executed_calls']} calls ran in the sandbox, "
          f"{s['not_simulated_calls']} are not simulated there; longest example {s['longest_tokens']} tokens")
    return 0 if not report.problems else 1


def _split(args) -> int:
    from .split import split_file

    try:
        result = split_file(args.input, args.out, args.train_ratio, args.seed, args.eval_ratio, args.profile,
                            args.drop_invalid, echo=print)
    except (JsonlError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not result["written"]:
        return 1
    s = result["validation"]
    print(f"{s['valid']} of {s['lines']} lines valid; " + ", ".join(f"{k} {n}" for k, n in result["splits"].items())
          + f" → {args.out} (report.json)")
    return 0 if not s["invalid"] else 1


def _review(args) -> int:
    from ..jsonl import read_jsonl
    from ..paths import REVIEW
    from .review import write_review

    out = args.out or REVIEW / f"sample-{args.n}.html"
    try:
        rows = read_jsonl(args.input)
    except (JsonlError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = write_review(rows, out, args.n, args.seed, source=str(args.input))
    print(f"{result['rows']} of {len(rows)} rows (seed {args.seed}) → {result['path']}; categories {result['category']}")
    return 0


def _expand(args) -> int:
    from tqdm.auto import tqdm

    from ..jsonl import read_jsonl, write_jsonl
    from .expand import EndpointError, Paraphraser, expand_rows

    try:
        rows = read_jsonl(args.input)
    except (JsonlError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tokenizer, max_length, note = length_checker(args.profile)
    print(note)
    paraphraser = Paraphraser(args.base_url, args.model, args.api_key_env, timeout=args.timeout)
    todo = len(rows) if args.limit is None else min(args.limit, len(rows))
    try:
        with tqdm(total=todo, desc="paraphrase", unit="row") as bar:
            new, report = expand_rows(rows, paraphraser, args.limit, tokenizer, max_length, progress=bar.update)
    except EndpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_jsonl(args.out, (rows if args.keep_input else []) + new)
    print(f"asked {report['asked']}, kept {report['kept']}, dropped {report['dropped'] or 'none'} "
          f"({report['seconds']} s) → {args.out}")
    return 0


_COMMANDS = {"split": _split, "review": _review, "expand": _expand}


if __name__ == "__main__":
    sys.exit(main())
