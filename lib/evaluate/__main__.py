"""`python -m lib.evaluate`: score a model on a dataset file and write predictions + summary to JSON.

    python -m lib.evaluate --model base|<adapter dir>|<merged model dir> --data data/processed/test.jsonl \\
        --out artifacts/eval/test.json [--profile P] [--limit N] [--batch-size B] [--max-new-tokens T]
        [--include-summaries] [--tools row|served] [--constrained]
    python -m lib.evaluate --natural --model <adapter dir> --out artifacts/eval/natural.json [--limit N]

`--tools served` offers each turn the router's tools (what the chat session sends) instead of the row's.
`--natural` sends the hand-written natural request set (data/eval/) through the real chat session and
scores the API requests it sent (lib.evaluate.natural). `--constrained` holds the model's tool calls to the
offered tools' schemas (lib.constrained), for the on/off comparison.

Notebook 06 calls the same code (lib.evaluate.runner.evaluate).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .inputs import AdapterMismatchError, DatasetFormatError, load_for_eval, read_rows
from .runner import evaluate, format_pct, report, save


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base", help="'base' (the profile's model), an adapter folder or a merged model folder")
    parser.add_argument("--data", default=None, help="a JSONL file in the dataset format (default with --natural: the natural set)")
    parser.add_argument("--natural", action="store_true", help="score the natural request set through the chat session")
    parser.add_argument("--tools", choices=["row", "served"], default="row", help="tools per turn: the row's, or the router's")
    parser.add_argument("--constrained", action="store_true", help="hold tool calls to the offered tools' schemas (lib.constrained)")
    parser.add_argument("--max-rounds", type=int, default=3, help="--natural: model replies per request at most")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--profile", default=None, help="profile name (default: $COURSE_PROFILE or auto)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the profile's evaluation.batch_size")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the profile's evaluation.max_new_tokens")
    parser.add_argument("--include-summaries", action="store_true", help="also score the final text turns after tool responses")
    args = parser.parse_args(argv)
    from ..models import ModelUnavailableError
    from ..profile import ProfileError, load_profile

    try:
        for flag in ("limit", "batch_size", "max_new_tokens", "max_rounds"):   # fail before the model loads
            value = getattr(args, flag)
            if value is not None and value < 1:
                raise DatasetFormatError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
        if not args.natural and not args.data:
            raise DatasetFormatError("--data is required (or --natural for the natural request set)")
        profile = load_profile(args.profile)
        if args.natural:
            from .natural import NATURAL, load_natural

            rows = load_natural(args.data or NATURAL, args.limit)
        else:
            rows = read_rows(args.data, args.limit)
        loaded, label = load_for_eval(profile, args.model)
    except (DatasetFormatError, AdapterMismatchError, ModelUnavailableError, ProfileError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cfg = profile["evaluation"]
    if args.natural:
        return _natural(args, profile, loaded, label, rows)
    partial = Path(str(args.out) + ".records.jsonl")   # one line per turn as it is scored
    print(f"records as they are scored → {partial}")
    result = evaluate(loaded, rows, batch_size=args.batch_size if args.batch_size is not None else cfg["batch_size"],
                      max_new_tokens=args.max_new_tokens if args.max_new_tokens is not None else cfg["max_new_tokens"],
                      include_summaries=args.include_summaries, label=label, tools=args.tools, constrained=args.constrained,
                      records_file=partial)
    result["config"].update(profile=profile["name"], data=str(args.data), model=args.model)
    print(report(result))
    print(f"predictions and summary → {save(result, args.out)}")
    return 0


def _natural(args, profile, loaded, label, rows) -> int:
    from ..serve.backends import TransformersBackend
    from .natural import run_natural

    partial = Path(str(args.out) + ".records.jsonl")   # one line per request as it is scored
    partial.unlink(missing_ok=True)
    print(f"records as they are scored → {partial}")
    result = run_natural(TransformersBackend(loaded, name=label, constrained=args.constrained), rows,
                         max_new_tokens=args.max_new_tokens or profile["evaluation"]["max_new_tokens"],
                         max_rounds=args.max_rounds, records_file=partial)
    result["config"] = {"profile": profile["name"], "model": args.model, "label": label, "rows": len(rows),
                        "max_length": loaded.max_length, "max_rounds": args.max_rounds, "constrained": args.constrained}
    s = result["summary"]
    print(f"natural set, as served ({label}): {s['rows']} requests ({s['call_rows']} need a call)")
    for key in ("right_endpoint", "exact_request", "no_call"):
        print(f"  {key:<15} {format_pct(s[key])}")
    print(f"records → {save(result, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
