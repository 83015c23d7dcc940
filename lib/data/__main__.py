"""`python -m lib.data build|validate`: the dataset phase from the command line (notebook 04 calls the same code).

    python -m lib.data build [--total 3000] [--seed 42] [--profile laptop-6gb] [--out data/processed]
    python -m lib.data validate FILE.jsonl [--profile laptop-6gb] [--keep VALID.jsonl]
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


if __name__ == "__main__":
    sys.exit(main())
