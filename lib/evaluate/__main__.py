"""`python -m lib.evaluate`: score a model on a dataset file and write predictions + summary to JSON.

    python -m lib.evaluate --model base|<adapter dir>|<merged model dir> --data data/processed/test.jsonl \\
        --out artifacts/eval/test.json [--profile P] [--limit N] [--batch-size B] [--max-new-tokens T]
        [--include-summaries]

Notebook 06 calls the same code (lib.evaluate.runner.evaluate).
"""
from __future__ import annotations

import argparse
import sys

from .load import AdapterMismatchError, DatasetFormatError, load_for_eval, read_rows
from .runner import evaluate, report, save


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base", help="'base' (the profile's model), an adapter folder or a merged model folder")
    parser.add_argument("--data", required=True, help="a JSONL file in the dataset format")
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
        if args.limit is not None and args.limit < 1:
            raise DatasetFormatError("--limit must be at least 1")
        profile = load_profile(args.profile)
        rows = read_rows(args.data, args.limit)
        loaded, label = load_for_eval(profile, args.model)
    except (DatasetFormatError, AdapterMismatchError, ModelUnavailableError, ProfileError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cfg = profile["evaluation"]
    result = evaluate(loaded, rows, batch_size=args.batch_size or cfg["batch_size"],
                      max_new_tokens=args.max_new_tokens or cfg["max_new_tokens"],
                      include_summaries=args.include_summaries, label=label)
    result["config"].update(profile=profile["name"], data=str(args.data), model=args.model)
    print(report(result))
    print(f"predictions and summary → {save(result, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
