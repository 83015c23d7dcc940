"""Choose the checkpoint by how well the model calls tools, not by the eval loss.

The eval loss averages over every assistant token, and most of them are free text (summaries of results,
answers to domain questions); it can keep falling while the calls get worse, or rise while they get
better. `ToolScoreCallback` runs at every evaluation of the Trainer: it answers a held-out slice of the eval
split greedily, as served (the router's tools, the prompt budget), scores it with notebook 06's metrics
(lib.evaluate.runner) and adds

    eval_tool_score = (tool name accuracy + parameter accuracy) / 2

to the evaluation's metrics, so `metric_for_best_model="eval_tool_score"` keeps the best-calling checkpoint
and `EarlyStoppingCallback` stops when the score stops rising. It must come before EarlyStoppingCallback in
the callback list (both read the same metrics dict, in order).

With several processes (DDP) each one answers its share of the rows, the scored turns are gathered, and
every process computes the score from all of them: the same number everywhere, so every process keeps the
same checkpoint and stops at the same evaluation.
"""
from __future__ import annotations

from transformers import TrainerCallback

METRIC = "eval_tool_score"


def tool_score(summary: dict) -> float:
    """The selection score from a runner summary: mean of tool-name and parameter accuracy (None counts 0).

    >>> tool_score({"tool_name_accuracy": 0.8, "parameter_accuracy": 0.5})
    0.65
    """
    return ((summary.get("tool_name_accuracy") or 0.0) + (summary.get("parameter_accuracy") or 0.0)) / 2


class ToolScoreCallback(TrainerCallback):
    """At each evaluation, generate on `rows` with `loaded` (whose `.model` is being trained) and score it."""

    def __init__(self, loaded, rows: list[dict], *, max_new_tokens: int = 128, batch_size: int = 16):
        if not rows:
            raise ValueError("ToolScoreCallback needs at least one scoring row")
        self.loaded, self.rows = loaded, rows
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.history: list[dict] = []      # one entry per evaluation: epoch, step, the scores

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        from .evaluate.runner import evaluate

        processes = args.world_size
        rows = self.rows[args.process_index::processes] if processes > 1 else self.rows
        model = self.loaded.model
        was_training = model.training
        _inference_mode(self.loaded, True)
        try:
            result = evaluate(self.loaded, rows, batch_size=self.batch_size, max_new_tokens=self.max_new_tokens,
                              label="tool score", progress=False, tools="served") if rows else {"records": []}
        finally:
            _inference_mode(self.loaded, False if was_training else None)
        if processes > 1:
            from accelerate.utils import gather_object

            from .evaluate.metrics import summarise

            s = summarise(gather_object(result["records"]))   # every process: all turns, one score
        else:
            s = result["summary"]
        entry = {METRIC: tool_score(s), "eval_tool_name": s.get("tool_name_accuracy"),
                 "eval_parameters": s.get("parameter_accuracy"), "eval_json_validity": s.get("json_validity"),
                 "eval_no_call": s.get("no_call_accuracy")}
        if metrics is not None:
            metrics.update(entry)        # the same dict the Trainer then uses to pick the best checkpoint
        record = {**entry, "epoch": state.epoch, "step": state.global_step}
        self.history.append(record)
        state.log_history.append(record)   # the Trainer logged its metrics before callbacks ran; add ours
        return control


def _inference_mode(loaded, on: bool | None) -> None:
    """Switch to generation (on=True) and back to training (on=False); None leaves eval mode as it is."""
    from .train import ready_for_inference

    if on:
        ready_for_inference(loaded)
    elif on is False:
        loaded.ops.for_training(loaded.model)
