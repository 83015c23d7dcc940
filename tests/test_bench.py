"""The benchmark's pieces on the CPU (the GPU run itself is measured on a GPU machine, not here)."""
import json

import pytest

from lib import bench, models
from lib.masking import IGNORE, assistant_labels
from lib.profile import load_profile


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer(load_profile("smoke"))


@pytest.fixture(scope="module")
def course_rows():
    from lib.data.generate import Generator

    return Generator(seed=3).build(total=60)


@pytest.mark.parametrize("length", [1500, 3000])   # a course example with its k tools is ~700-2,000 tokens
def test_packed_rows_fit_and_keep_every_assistant_turn_trainable(tokenizer, course_rows, length):
    packed = bench.pack_rows(course_rows, tokenizer, length)
    assert packed and len(packed) < len(course_rows)
    for row in packed:
        enc = assistant_labels(tokenizer, row["messages"], row["tools"])
        assert len(enc["input_ids"]) <= length
        trained = tokenizer.decode([t for t, l in zip(enc["input_ids"], enc["labels"]) if l != IGNORE])
        assert trained.count("<|im_end|>") == sum(m["role"] == "assistant" for m in row["messages"])
    sizes = [len(assistant_labels(tokenizer, r["messages"], r["tools"])["input_ids"]) for r in packed]
    assert sorted(sizes)[len(sizes) // 2] > length * 0.6      # most rows are close to the target


def test_worker_measures_training_and_generation_on_the_cpu(tmp_path, course_rows):
    from lib.jsonl import write_jsonl

    write_jsonl(tmp_path / "train.jsonl", course_rows[:50])
    write_jsonl(tmp_path / "test.jsonl", course_rows[50:])
    cfg = {"backend": "hf", "model": "random-tiny", "profile": "smoke", "lengths": [1024], "sizes": [4],
           "scaling_length": 1024, "steps": 2, "probe": [2048], "pool": 40, "cap_gib": None, "data_dir": str(tmp_path)}
    out = bench.worker(cfg, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == json.loads(json.dumps(out))
    (timed,) = out["train"]
    assert timed["steps"] == 2 and timed["tokens_per_s"] > 0 and timed["first_step_s"] > 0
    assert out["scaling"][0]["examples"] == 4
    assert set(out["generation"]) == {"base_4bit", "with_lora", "merged_16bit"}
    assert all(g["tokens_per_s"] > 0 for g in out["generation"].values())
    assert out["largest_fitting_length"] == 2048


def test_the_estimate_brackets_the_measurement_by_published_ratios():
    est = bench.rtx3060_estimate(2000.0, "NVIDIA H200")
    low, high = est["tokens_per_s_range"]
    assert low == pytest.approx(2000 * 22 / 989, abs=0.1) and high == pytest.approx(2000 * 336 / 4800, abs=0.1)
    assert "note" in bench.rtx3060_estimate(100.0, "Some Other GPU")


def test_run_refuses_without_a_gpu(capsys):
    with pytest.raises(SystemExit):
        bench.main(["run", "--backends", "hf-bnb"])
    assert "no CUDA GPU" in capsys.readouterr().err
