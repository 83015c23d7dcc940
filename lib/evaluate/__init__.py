"""Evaluation of a tool-calling model (notebook 06, `python -m lib.evaluate`).

- `metrics`: what is measured on one turn and how turns add up (definitions in its docstring);
- `load`: the dataset file, the turns scored in it, the model (`base`, adapter or merged folder);
- `runner`: batched greedy generation over the turns, scoring, breakdowns and the text report;
- `forgetting`: general ability before/after the fine-tune (perplexity and answer checks);
- `charts`: tables and figures for the notebook;
- `bfcl`: the Berkeley Function Calling Leaderboard cases with BFCL's own checker.
"""
