"""The GEN NX function-calling dataset: seeds → generated examples → validation → leakage-free splits.

    python -m lib.data build      # generate, validate and split into data/processed/
    python -m lib.data validate FILE.jsonl
"""
