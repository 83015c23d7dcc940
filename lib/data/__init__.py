"""The GEN NX function-calling dataset: seeds → generated examples → validation → leakage-free splits.

    python -m lib.data build      # generate, validate and split into data/processed/
    python -m lib.data validate FILE.jsonl
    python -m lib.data split --input FILE.jsonl --train-ratio 0.8 --seed 42 --out DIR   # your own data
    python -m lib.data review --input FILE.jsonl --n 200     # a seeded sample rendered for reading (HTML)
    python -m lib.data expand --input F --out F --base-url URL --model M   # optional: reword requests with an LLM
"""
