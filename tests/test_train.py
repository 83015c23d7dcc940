"""Training on the smoke profile (a tiny random model): the loop really trains, resumes, stops early and saves."""
import pytest
import torch

from lib import inference, models, profile, train
from lib.data import instructions
from lib.masking import IGNORE, assistant_labels

P = profile.load_profile("smoke")
ROWS = [{"messages": instructions.to_messages(r)} for r in instructions.load_instructions("course", limit=24, seed=1)]
TRAIN, EVAL = ROWS[:18], ROWS[18:]
QUESTION = [{"role": "user", "content": "다음 구조 용어를 영어로 번역하세요.\n\n반력"}]


def _reply(loaded):
    train.ready_for_inference(loaded)
    return inference.chat(loaded.model, loaded.tokenizer, QUESTION, max_new_tokens=8)["token_ids"]


@pytest.fixture(scope="module")
def trained():
    loaded = models.load_model(P, for_training=True)
    before = _reply(loaded)
    loaded.model.train()
    result = train.train(loaded, P, TRAIN, EVAL, "test-smoke-fit", training={"num_train_epochs": 2, "learning_rate": 3e-3})
    return loaded, before, result


def test_training_lowers_the_loss_and_changes_the_output(trained):
    loaded, before, result = trained
    assert result.best_eval_loss < result.first_eval_loss
    assert result.global_step == 2 * len(TRAIN) // P["training"]["gradient_accumulation_steps"]
    assert _reply(loaded) != before
    assert result.trainable_parameters == sum(p.numel() for n, p in loaded.model.named_parameters() if "lora_" in n)


def test_saved_adapter_reloads_and_answers_the_same(trained):
    loaded, _, result = trained
    reloaded = train.load_adapter(P, result.adapter_dir)
    assert _reply(reloaded) == _reply(loaded)


def test_resume_continues_from_the_last_checkpoint():
    first = models.load_model(P, for_training=True)
    settings = {"max_steps": 4, "eval_steps": 2, "learning_rate": 3e-3}
    train.train(first, P, TRAIN, EVAL, "test-smoke-resume", training=settings)
    again = models.load_model(P, for_training=True)
    result = train.train(again, P, TRAIN, EVAL, "test-smoke-resume", training={**settings, "max_steps": 6}, resume=True)
    assert result.global_step == 6
    steps = [h["step"] for h in result.log_history if "loss" in h]
    assert steps[0] <= 4 < steps[-1]          # history carried over from the checkpoint, then continued


def test_early_stopping_stops_when_eval_loss_gets_worse():
    loaded = models.load_model(P, for_training=True)
    result = train.train(loaded, P, TRAIN, EVAL, "test-smoke-stop",
                         training={"max_steps": 30, "eval_steps": 1, "learning_rate": 2.0, "early_stopping_patience": 1,
                                   "warmup_ratio": 0.0})
    assert result.stopped_early and result.global_step < 30


def test_too_long_examples_are_left_out_not_cut(embedded_tokenizer):
    long = {"messages": [{"role": "user", "content": "하중 " * 3000}, {"role": "assistant", "content": "네"}]}
    dataset, skipped = train.tokenize([long] + TRAIN[:2], embedded_tokenizer, max_length=512)
    assert skipped == 1 and len(dataset) == 2


def test_padding_free_collator_keeps_the_assistant_only_labels(embedded_tokenizer):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    encoded = [assistant_labels(embedded_tokenizer, r["messages"]) for r in TRAIN[:3]]
    batch = DataCollatorForLanguageModeling(pad_token_id=embedded_tokenizer.pad_token_id, padding_free=True)(encoded)
    expected = torch.tensor([label for e in encoded for label in e["labels"]])
    assert torch.equal(batch["labels"][0], expected)            # sequence starts are system tokens, already -100
    assert (batch["labels"][0] != IGNORE).sum() == sum(sum(l != IGNORE for l in e["labels"]) for e in encoded)


def test_oom_message_names_the_fallbacks_in_order():
    message = train.OOM_ADVICE.format(ckpt="artifacts/runs/x/checkpoints")
    assert message.index("max_seq_length") < message.index("gradient_accumulation_steps") < message.index("q_proj")
    assert "resume=True" in message


def test_tool_score_chooses_the_checkpoint_and_early_stopping_watches_it():
    """With score_rows the callback scores calls at every evaluation; selection and early stopping use that score."""
    from lib.data.generate import Generator
    from lib.tool_score import METRIC

    rows = [r for r in Generator(seed=3).build(total=60) if r["meta"].get("category") == "single"]
    loaded = models.load_model(P, for_training=True)
    result = train.train(loaded, P, TRAIN, EVAL, "test-smoke-score", score_rows=rows[:3], score_max_new_tokens=8,
                         training={"max_steps": 6, "eval_steps": 2, "learning_rate": 3e-3, "early_stopping_patience": 9})
    assert result.selected_by == METRIC
    assert [s["step"] for s in result.tool_scores] == [0, 2, 4, 6]          # before training, then every evaluation
    assert all(0.0 <= s[METRIC] <= 1.0 for s in result.tool_scores)
    # the trainer's log keeps the scores made while training (train() starts a fresh log after the first evaluate)
    assert [h["step"] for h in result.log_history if METRIC in h] == [2, 4, 6]
    scored = {s["step"]: s[METRIC] for s in result.tool_scores[1:]}
    assert result.best_metric == max(scored.values())
    assert scored[result.best_step] == result.best_metric                     # the kept checkpoint is the best-scoring one


def test_retraining_a_run_replaces_its_adapter_whole_and_a_failed_save_keeps_the_old_one(monkeypatch):
    from pathlib import Path

    settings = {"max_steps": 2, "eval_steps": 2, "learning_rate": 3e-3}
    first = train.train(models.load_model(P, for_training=True), P, TRAIN, EVAL, "test-smoke-swap", training=settings)
    folder = Path(first.adapter_dir)
    (folder / "stale-note.txt").write_text("left by an older training")
    second = train.train(models.load_model(P, for_training=True), P, TRAIN, EVAL, "test-smoke-swap", training=settings)
    assert second.adapter_dir == first.adapter_dir and not (folder / "stale-note.txt").exists()   # no mix of old and new
    before = {f.name: f.read_bytes() for f in folder.iterdir()}

    loaded = models.load_model(P, for_training=True)

    def broken_save(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(loaded.tokenizer, "save_pretrained", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train.train(loaded, P, TRAIN, EVAL, "test-smoke-swap", training={**settings, "learning_rate": 1e-2})
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before          # the previous adapter is whole
    assert not [f for f in folder.parent.iterdir() if f.name.startswith(".test-smoke-swap")]
