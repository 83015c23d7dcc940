"""Fine-tune with LoRA/QLoRA: one path for every backend, chosen by the profile.

Unsloth (GPU) attaches LoRA with FastLanguageModel.get_peft_model and trains padding-free; transformers +
PEFT + TRL do the same on a GPU without Unsloth or on the CPU. The loss is assistant-only: the examples are
tokenised with the course template and every token outside its `{% generation %}` spans gets label -100
(lib.masking), so TRL trains exactly on what the assistant writes.

A run lives in artifacts/runs/<run>/ (checkpoints every epoch, TensorBoard logs, run.json); the best
adapter is saved to artifacts/adapters/<run>/ with the profile and data hashes. "Best" is the lowest eval
loss, or, when `score_rows` are given, the highest tool-call score on them (lib.tool_score), which early
stopping then watches too.

Several GPUs: `accelerate launch -m lib.train …` (see `main`) runs one process per GPU with DDP, the
Trainer's own data-parallel mode. Each process trains a full copy on its share of the batches, DDP averages
the gradients, so the copies stay equal; gradient accumulation is divided among the processes so the
effective batch (per device × accumulation × processes) stays the single-GPU course's. Only the main
process writes the adapter, run.json, checkpoints and TensorBoard logs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .masking import IGNORE, assistant_labels
from .memory import track_peak
from .models import LoadedModel
from .paths import ADAPTERS, RUNS

OOM_ADVICE = ("CUDA ran out of memory. The cheapest fixes, in order: (1) model.max_seq_length 2048 → 1024, "
              "(2) training.gradient_accumulation_steps 8 → 16 with batch size 1, (3) LoRA on q_proj/v_proj only "
              "(overrides={{'lora.target_modules': ['q_proj', 'v_proj']}}). Checkpoints written so far are kept in {ckpt}; "
              "re-run with resume=True to continue.")


class TrainingOOM(RuntimeError):
    """CUDA out of memory during training; the message lists the fallbacks and where the checkpoints are."""


@dataclass
class RunResult:
    run: str
    backend: str
    adapter_dir: str
    train_examples: int
    eval_examples: int
    skipped_too_long: int
    trainable_parameters: int
    total_parameters: int
    seconds: float
    trained_tokens: int
    tokens_per_second: float
    first_eval_loss: float | None
    best_eval_loss: float | None
    best_step: int | None
    global_step: int
    stopped_early: bool
    processes: int = 1                       # data-parallel processes (GPUs) that trained together
    per_device_train_batch_size: int | None = None
    gradient_accumulation_steps: int | None = None    # per process
    effective_batch: int | None = None       # examples per optimizer step: per device × accumulation × processes
    selected_by: str = "eval_loss"
    best_metric: float | None = None
    tool_scores: list = field(default_factory=list)
    log_history: list = field(default_factory=list)
    memory: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def data_hash(rows: list[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def tokenize(rows: list[dict], tokenizer, max_length: int):
    """Rows with `messages` (and `tools`) → a datasets.Dataset of input_ids and assistant-only labels.

    Examples longer than max_length are left out rather than cut (a cut example loses its last assistant
    turn and its <|im_end|>); returns (dataset, how many were left out).
    """
    from datasets import Dataset

    encoded, skipped = [], 0
    for row in rows:
        enc = assistant_labels(tokenizer, row["messages"], row.get("tools"))
        if len(enc["input_ids"]) > max_length:
            skipped += 1
            continue
        if all(label == IGNORE for label in enc["labels"]):
            raise ValueError("an example has no assistant tokens to train on: check the chat template")
        encoded.append(enc)
    return Dataset.from_list(encoded), skipped


def per_process_accumulation(accumulation: int, processes: int) -> int:
    """Gradient accumulation for each of `processes` data-parallel processes that keeps the effective batch.

    DDP averages the gradients of all processes, so N processes each accumulating `accumulation` steps train
    with N times the batch of one process. Dividing keeps it; when N does not divide, the nearest whole
    number (at least 1) is used and the effective batch changes (`train` says so).

    >>> per_process_accumulation(8, 1), per_process_accumulation(8, 2), per_process_accumulation(8, 3), per_process_accumulation(1, 2)
    (8, 4, 3, 1)
    """
    if processes <= 1:
        return accumulation
    return max(1, int(accumulation / processes + 0.5))


def attach_lora(loaded: LoadedModel, profile: dict, r: int | None = None, target_modules=None):
    """Add LoRA adapters as the profile says (r, alpha = 2r unless the profile says otherwise, dropout, targets)."""
    lora = profile["lora"]
    r = r or lora["r"]
    alpha = lora["alpha"] if r == lora["r"] else 2 * r
    targets = list(target_modules or lora["target_modules"])
    return loaded.ops.attach_lora(loaded, profile, r, alpha, targets)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total), 4-bit weights counted at their logical size (lib.models.logical_parameters)."""
    from .models import logical_parameters

    return logical_parameters(model, trainable_only=True), logical_parameters(model)


def _config(profile, run_dir, loaded, overrides, metric: str = "eval_loss", eval_on_start: bool = False):
    from trl import SFTConfig

    t = {**profile["training"], **overrides}
    on_gpu = loaded.device == "cuda"
    half = loaded.dtype if loaded.dtype in ("bfloat16", "float16") else None
    steps_per_eval = t.get("eval_steps")
    strategy = "steps" if steps_per_eval else "epoch"
    return SFTConfig(
        output_dir=str(run_dir / "checkpoints"), report_to=["tensorboard"],
        per_device_train_batch_size=t["per_device_train_batch_size"], per_device_eval_batch_size=t["per_device_train_batch_size"],
        gradient_accumulation_steps=t["gradient_accumulation_steps"], learning_rate=t["learning_rate"],
        num_train_epochs=t["num_train_epochs"], max_steps=t.get("max_steps", -1) or -1,
        warmup_steps=float(t["warmup_ratio"]), lr_scheduler_type=t["lr_scheduler_type"],
        optim=t["optim"] if on_gpu else "adamw_torch", weight_decay=t["weight_decay"], max_grad_norm=t["max_grad_norm"],
        bf16=on_gpu and half == "bfloat16", fp16=on_gpu and half == "float16",
        logging_steps=t["logging_steps"], logging_first_step=True,
        eval_strategy=strategy, save_strategy=strategy, eval_steps=steps_per_eval, save_steps=steps_per_eval,
        eval_on_start=eval_on_start, load_best_model_at_end=True, metric_for_best_model=metric,
        greater_is_better=metric != "eval_loss", save_total_limit=2,
        seed=t["seed"], data_seed=t["seed"], max_length=None,
        dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False,
        **loaded.ops.trainer_settings(t),             # padding_free and gradient_checkpointing
        dataloader_num_workers=0, disable_tqdm=False,
        # DDP (several processes): LoRA uses every trainable weight in each forward, so DDP need not search the
        # graph for unused ones (that search also breaks with gradient checkpointing). Ignored by a single process.
        ddp_find_unused_parameters=False,
    )


def train(loaded: LoadedModel, profile: dict, train_rows: list[dict], eval_rows: list[dict], run: str, *,
          r: int | None = None, target_modules=None, resume: bool = False, training: dict | None = None,
          max_length: int | None = None, callbacks: list | None = None, score_rows: list[dict] | None = None,
          score_max_new_tokens: int = 128, keep_effective_batch: bool = True) -> RunResult:
    """Train LoRA on `loaded` (which is modified in place: `loaded.model` becomes the PEFT model).

    `training` overrides keys of the profile's training section (e.g. num_train_epochs, max_steps, eval_steps);
    `callbacks` are extra transformers TrainerCallbacks (lib.bench times the steps with one).
    `score_rows` (held-out dataset rows): score tool calls on them at every evaluation and keep the checkpoint
    that calls best (lib.tool_score); early stopping then watches that score instead of the loss.
    Raises TrainingOOM (with the fallbacks) on a CUDA out-of-memory error; checkpoints stay on disk.

    Under `accelerate launch` (several processes, DDP) every process calls this with the same arguments; the
    gradient accumulation is divided among them (`per_process_accumulation`) unless `keep_effective_batch` is
    False, and only the main process writes files. Every process returns the same result.
    """
    from transformers import EarlyStoppingCallback

    from .devices import is_main_process, launched_processes

    trainer_cls = loaded.ops.trainer_class()
    run_dir = RUNS / run
    if is_main_process():
        run_dir.mkdir(parents=True, exist_ok=True)
    training = dict(training or {})
    processes = launched_processes()
    if processes > 1 and keep_effective_batch:
        wanted = training.get("gradient_accumulation_steps", profile["training"]["gradient_accumulation_steps"])
        training["gradient_accumulation_steps"] = per_process_accumulation(wanted, processes)
        if wanted % processes and is_main_process():
            per_device = training.get("per_device_train_batch_size", profile["training"]["per_device_train_batch_size"])
            warnings.warn(f"gradient_accumulation_steps {wanted} does not divide among {processes} processes: each accumulates "
                          f"{training['gradient_accumulation_steps']}, so the effective batch is "
                          f"{per_device * training['gradient_accumulation_steps'] * processes} instead of {per_device * wanted}",
                          stacklevel=2)
    max_length = max_length or profile["model"]["max_seq_length"]
    train_ds, skipped = tokenize(train_rows, loaded.tokenizer, max_length)
    eval_ds, skipped_eval = tokenize(eval_rows, loaded.tokenizer, max_length)
    if len(train_ds) == 0 or len(eval_ds) == 0:
        raise ValueError(f"no example fits max_length={max_length} (train {len(train_rows)}, eval {len(eval_rows)})")
    if not hasattr(loaded.model, "peft_config"):
        loaded.model = attach_lora(loaded, profile, r, target_modules)
    trainable, total = count_parameters(loaded.model)
    scorer = None
    if score_rows:
        from .tool_score import METRIC, ToolScoreCallback

        scorer = ToolScoreCallback(loaded, score_rows, max_new_tokens=score_max_new_tokens)
    checkpoint = resume and _last_checkpoint(run_dir)
    # The loss before training: one process calls trainer.evaluate() first, as it always has. Several processes
    # must not: evaluate() prepares the model for evaluation only and marks it prepared, so train() would then
    # skip the DDP wrapper and the processes would train apart, unsynchronised. The Trainer's own eval_on_start
    # evaluates at step 0 inside train(), after the wrapping.
    on_start = processes > 1 and not checkpoint
    config = _config(profile, run_dir, loaded, training, METRIC if scorer else "eval_loss", eval_on_start=on_start)
    patience = training.get("early_stopping_patience", profile["training"]["early_stopping_patience"])
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir / "tensorboard")   # read when the TensorBoard callback is created
    # the scorer first: it adds its metric to the dict that early stopping and checkpoint selection read
    trainer = trainer_cls(model=loaded.model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                          processing_class=loaded.tokenizer,
                          callbacks=[*([scorer] if scorer else []), EarlyStoppingCallback(patience), *(callbacks or [])])
    start = time.perf_counter()
    with track_peak() as mem:
        try:
            first_eval = None if checkpoint or on_start else trainer.evaluate()["eval_loss"]
            output = trainer.train(resume_from_checkpoint=checkpoint or None)
        except torch.cuda.OutOfMemoryError as err:
            raise TrainingOOM(OOM_ADVICE.format(ckpt=run_dir / "checkpoints")) from err
    seconds = time.perf_counter() - start
    history = trainer.state.log_history
    evals = [h for h in history if "eval_loss" in h]
    if on_start and evals and evals[0]["step"] == 0:       # the step-0 evaluation is the "before", as with one process
        first_eval, evals = evals[0]["eval_loss"], evals[1:]
    best = min(evals, key=lambda h: h["eval_loss"]) if evals else None
    effective_batch = config.per_device_train_batch_size * config.gradient_accumulation_steps * config.world_size
    trained_tokens = int(sum(len(x) for x in train_ds["input_ids"]) * output.global_step * effective_batch
                         / max(len(train_ds), 1))
    adapter_dir = ADAPTERS / run
    partial = ADAPTERS / f".{run}.partial"            # the same name on every process; swapped in when complete
    trainer.save_model(str(partial))                # the best model (load_best_model_at_end); the Trainer saves on the main process only
    result = RunResult(
        run=run, backend=loaded.backend, adapter_dir=str(adapter_dir), train_examples=len(train_ds), eval_examples=len(eval_ds),
        skipped_too_long=skipped + skipped_eval, trainable_parameters=trainable, total_parameters=total,
        seconds=round(seconds, 1), trained_tokens=trained_tokens, tokens_per_second=round(trained_tokens / seconds, 1),
        first_eval_loss=first_eval if first_eval is not None else (evals[0]["eval_loss"] if evals else None),
        best_eval_loss=best["eval_loss"] if best else None, best_step=trainer.state.best_global_step or (best["step"] if best else None),
        global_step=output.global_step, stopped_early=trainer.state.global_step < trainer.state.max_steps,
        processes=config.world_size, per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps, effective_batch=effective_batch,
        selected_by=config.metric_for_best_model, best_metric=trainer.state.best_metric,
        tool_scores=scorer.history if scorer else [], log_history=history, memory=mem.result)
    meta = {"result": result.to_json(), "profile": profile, "data_hash": {"train": data_hash(train_rows), "eval": data_hash(eval_rows)},
            "r": r or profile["lora"]["r"], "target_modules": list(target_modules or profile["lora"]["target_modules"])}
    if trainer.is_world_process_zero():
        try:
            loaded.tokenizer.save_pretrained(str(partial))
            for folder in (run_dir, partial):
                (folder / "run.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            _swap_in(partial, adapter_dir)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()          # every process returns once the adapter is on disk
    return result


def _swap_in(complete: Path, target: Path) -> None:
    """Replace `target` by the finished folder `complete`: an adapter retrained under the same run name never
    mixes old and new files, and a crash while saving leaves the previous adapter whole."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    complete.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _last_checkpoint(run_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = run_dir / "checkpoints"
    return get_last_checkpoint(str(folder)) if folder.exists() else None


def load_adapter(profile: dict, adapter_dir, **load_kwargs) -> LoadedModel:
    """The profile's base model with a saved adapter on top, ready to generate."""
    from .models import load_model

    loaded = load_model(profile, **load_kwargs)
    loaded.model = loaded.ops.load_adapter(loaded.model, adapter_dir)
    return loaded


def ready_for_inference(loaded: LoadedModel) -> None:
    """Switch a (trained) model to generation mode: eval mode, and Unsloth's fast inference path on GPU."""
    loaded.ops.for_inference(loaded.model)


def loss_curves(history: list[dict]):
    """Train and eval loss per step from a trainer's log history (a pandas DataFrame)."""
    import pandas as pd

    rows = [{"step": h["step"], "train_loss": h.get("loss"), "eval_loss": h.get("eval_loss")} for h in history
            if "loss" in h or "eval_loss" in h]
    return pd.DataFrame(rows).groupby("step").first().reset_index() if rows else pd.DataFrame(columns=["step", "train_loss", "eval_loss"])


# ---------------------------------------------------------------- command line

def main(argv=None, *, callbacks: list | None = None) -> int:
    """`python -m lib.train`: notebook 05's final training (experiment 4) as one command, on one GPU or several.

        python -m lib.train --profile P --data data/processed [--epochs N] [--resume] [--out NAME]
        accelerate launch --config_file configs/accelerate-2gpu.yaml -m lib.train --profile P --data data/processed

    The same command runs unchanged under `accelerate launch` (one process per GPU, DDP). Training rows are
    train.jsonl, the loss is measured on the first `--eval-examples` rows of eval.jsonl, the checkpoint is chosen
    by the tool-call score on the next `--score-examples` rows (0: by the eval loss). Defaults come from the
    profile's function_calling section. `callbacks` are extra TrainerCallbacks (the two-process test uses one).
    """
    parser = argparse.ArgumentParser(prog="python -m lib.train", description=main.__doc__.splitlines()[0],
                                     epilog="several GPUs, same arguments: accelerate launch --config_file "
                                            "configs/accelerate-2gpu.yaml -m lib.train …")
    parser.add_argument("--profile", default=None, help="profile name (default: $COURSE_PROFILE or auto)")
    parser.add_argument("--data", default=None, help="folder with train.jsonl and eval.jsonl (default: the profile's dataset.out)")
    parser.add_argument("--out", default="fc-train", help="run name: artifacts/runs/NAME and artifacts/adapters/NAME")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    parser.add_argument("--epochs", type=float, default=None, help="default: function_calling.final.num_train_epochs")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps (overrides --epochs)")
    parser.add_argument("--eval-steps", type=int, default=None, help="evaluate and save every N steps (default: every epoch)")
    parser.add_argument("--train-examples", type=int, default=None, help="use the first N training rows (default: the profile's)")
    parser.add_argument("--eval-examples", type=int, default=None, help="eval rows for the loss (default: function_calling.eval_examples)")
    parser.add_argument("--score-examples", type=int, default=None, help="eval rows scored for tool calls; 0 selects by eval loss")
    parser.add_argument("--r", type=int, default=None, help="LoRA rank (default: the profile's lora.r)")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--accumulation", type=int, default=None,
                        help="gradient accumulation of a one-process run; several processes share it (effective batch kept)")
    parser.add_argument("--patience", type=int, default=None, help="early stopping patience (evaluations)")
    args = parser.parse_args(argv)
    from .jsonl import JsonlError, read_jsonl
    from .devices import is_main_process
    from .models import ModelUnavailableError, load_model
    from .paths import ROOT
    from .profile import ProfileError, load_profile

    try:
        for flag in ("epochs", "max_steps", "eval_steps", "train_examples", "eval_examples", "r", "accumulation", "patience"):
            value = getattr(args, flag)                # fail before the model loads
            if value is not None and value < 1:
                raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
        if args.score_examples is not None and args.score_examples < 0:
            raise ValueError(f"--score-examples must be 0 or more, got {args.score_examples}")
        profile = load_profile(args.profile)
        fc = profile.get("function_calling", {})
        final = fc.get("final", {})
        data = Path(args.data) if args.data else ROOT / profile["dataset"]["out"]
        for name in ("train.jsonl", "eval.jsonl"):
            if not (data / name).exists():
                raise FileNotFoundError(f"{data / name} not found: build the dataset first "
                                        f"(python -m lib.data build --out {data}, or notebook 04)")
        n_train = args.train_examples or final.get("train_examples")
        n_eval = args.eval_examples or fc.get("eval_examples", 200)
        n_score = final.get("score_examples", 0) if args.score_examples is None else args.score_examples
        train_rows = read_jsonl(data / "train.jsonl")[:n_train]
        eval_all = read_jsonl(data / "eval.jsonl")
        eval_rows, score_rows = eval_all[:n_eval], eval_all[n_eval:n_eval + n_score]
        if not train_rows or not eval_rows:
            raise ValueError(f"{data}: needs at least one training and one eval row (train {len(train_rows)}, eval {len(eval_rows)})")
        training = {"num_train_epochs": final.get("num_train_epochs", profile["training"]["num_train_epochs"]),
                    "early_stopping_patience": final.get("early_stopping_patience", profile["training"]["early_stopping_patience"]),
                    **fc.get("training", {})}
        for flag, key in (("epochs", "num_train_epochs"), ("max_steps", "max_steps"), ("eval_steps", "eval_steps"),
                          ("learning_rate", "learning_rate"), ("accumulation", "gradient_accumulation_steps"),
                          ("patience", "early_stopping_patience")):
            if getattr(args, flag) is not None:
                training[key] = getattr(args, flag)
        loaded = load_model(profile, for_training=True)
        result = train(loaded, profile, train_rows, eval_rows, args.out, r=args.r, resume=args.resume, training=training,
                       score_rows=score_rows or None, score_max_new_tokens=profile["evaluation"]["max_new_tokens"],
                       callbacks=callbacks)
    except (ProfileError, ModelUnavailableError, JsonlError, FileNotFoundError, ValueError, TrainingOOM) as err:
        rank = f"[rank {os.environ['RANK']}] " if "RANK" in os.environ else ""
        print(f"error: {rank}{err}", file=sys.stderr)       # every process: the one that failed may not be rank 0
        return 2
    if is_main_process():
        first, best, metric = (float("nan") if v is None else v
                               for v in (result.first_eval_loss, result.best_eval_loss, result.best_metric))
        print(f"{result.run}: {result.processes} process(es) × batch {result.per_device_train_batch_size} × accumulation "
              f"{result.gradient_accumulation_steps} = effective batch {result.effective_batch}; {result.global_step} steps, "
              f"{result.seconds} s, {result.tokens_per_second} tokens/s; eval loss {first:.4f} → {best:.4f}; "
              f"kept step {result.best_step} ({result.selected_by} {metric:.4f}); adapter {result.adapter_dir}")
    return 0


if __name__ == "__main__":
    # `python -m lib.train` runs this file as __main__: call the imported lib.train so there is one copy of its classes
    from lib.train import main as _main

    sys.exit(_main())
