"""Export an adapter for serving: merge → check → GGUF → check → Modelfile, with a size/speed table.

    python -m lib.export --adapter artifacts/adapters/course [--profile P] [--types f16,q8_0,q4_k_m]
                         [--out artifacts/export/<run>] [--prompts N] [--max-new-tokens N]

The merged model goes to artifacts/merged/<run>/, the GGUF files, the Modelfile and export.json to --out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import gguf, merge
from .pipeline import format_table, run_export


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.export", description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", required=True, help="LoRA adapter folder, e.g. artifacts/adapters/course")
    parser.add_argument("--profile", default=None, help="profile (default: the one the adapter was trained with)")
    parser.add_argument("--types", default=None, help=f"GGUF types, comma-separated, from {', '.join(gguf.GGUF_TYPES)} "
                                                      "(default: the profile's export.gguf_types)")
    parser.add_argument("--out", default=None, help="output folder (default artifacts/export/<adapter folder name>)")
    parser.add_argument("--prompts", type=int, default=None, help="fixed prompts to compare (default: export.compare_prompts)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="tokens per answer (default: inference.max_new_tokens)")
    args = parser.parse_args(argv)
    try:
        report = run_export(args.adapter, args.profile, args.types, args.out, args.prompts, args.max_new_tokens)
    except (merge.AdapterError, ValueError, gguf.ExportError, FileNotFoundError) as err:
        print(f"export: {err}", file=sys.stderr)
        return 2
    print()
    print(format_table(report["rows"]))
    print(f"\nModelfile: {report['modelfile']}")
    for command in report["ollama_commands"]:
        print(f"  {command}")
    print(f"\nexport: done in {report['seconds']} s (record: {Path(report['modelfile']).parent / 'export.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
