"""Two processes train one model together (DDP), on the CPU with the gloo backend: `accelerate launch` with the
course's two-GPU config runs `python -m lib.train` as it does on two GPUs (ACCELERATE_USE_CPU=true keeps the
processes on the CPU; tests/ddp_worker.py adds the observations).

Proves: both processes hold the same LoRA weights after every step (DDP averages their gradients while each
trains on its half of the data); both see the same eval loss and tool score (so they keep the same
checkpoint); only rank 0 writes the adapter, run.json, checkpoints and TensorBoard logs; the loss falls;
the effective batch is the one-process run's.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib.jsonl import read_jsonl, write_jsonl
from lib.paths import ARTIFACTS, ROOT

RUN = "test-smoke-ddp"
TRAIN_ROWS, EPOCHS, ACCUMULATION = 8, 2, 2
ACCELERATE = Path(sys.executable).with_name("accelerate")


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    from lib.data import instructions

    # short rows keep the test fast: course instructions to train on and for the loss, shipped tool-call samples to score
    short = [{"messages": instructions.to_messages(r)} for r in instructions.load_instructions("course", limit=TRAIN_ROWS + 2, seed=1)]
    samples = read_jsonl(ROOT / "data" / "samples" / "gennx_tool_calling_samples.jsonl")
    tmp = tmp_path_factory.mktemp("ddp")
    data, reports = tmp / "data", tmp / "reports"
    reports.mkdir()
    write_jsonl(data / "train.jsonl", short[:TRAIN_ROWS])
    write_jsonl(data / "eval.jsonl", short[TRAIN_ROWS:] + samples[:2])      # 2 rows for the loss, 2 scored for tool calls
    for folder in (ARTIFACTS / "runs" / RUN, ARTIFACTS / "adapters" / RUN):
        shutil.rmtree(folder, ignore_errors=True)
    command = [str(ACCELERATE), "launch", "--config_file", "configs/accelerate-2gpu.yaml", "tests/ddp_worker.py", str(reports),
               "--profile", "smoke", "--data", str(data), "--out", RUN, "--epochs", str(EPOCHS),
               "--accumulation", str(ACCUMULATION), "--learning-rate", "3e-3", "--eval-examples", "2", "--score-examples", "2"]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    ranks = [json.loads((reports / f"rank{i}.json").read_text()) for i in (0, 1)]
    record = json.loads((ARTIFACTS / "runs" / RUN / "run.json").read_text())["result"]
    return ranks, record, done.stdout


def test_both_processes_trained_the_same_weights(ddp):
    ranks, record, _ = ddp
    assert [r["world_size"] for r in ranks] == [2, 2] and [r["exit"] for r in ranks] == [0, 0]
    steps = [r["steps"] for r in ranks]
    assert steps[0] == steps[1]                                        # equal weights after every optimizer step
    hashes = [s["lora_sha256"] for s in steps[0]]
    assert len(set(hashes)) == len(hashes)                             # and every step changed them
    # each process trained on half of every batch: a process that read all rows would take twice the steps
    assert record["global_step"] == len(hashes) == EPOCHS * TRAIN_ROWS // ACCUMULATION


def test_both_processes_see_the_same_metrics_and_keep_the_same_checkpoint(ddp):
    ranks, record, _ = ddp
    assert ranks[0]["evaluations"] == ranks[1]["evaluations"]
    assert all("eval_tool_score" in e for e in ranks[0]["evaluations"])   # selection by the gathered tool score
    assert record["selected_by"] == "eval_tool_score" and record["best_step"] is not None


def test_the_effective_batch_is_the_one_process_runs(ddp):
    _, record, stdout = ddp
    assert record["processes"] == 2 and record["gradient_accumulation_steps"] == ACCUMULATION // 2
    assert record["effective_batch"] == 1 * ACCUMULATION                # per device 1 × accumulation 1 × 2 processes
    assert "effective batch 2" in stdout and stdout.count(f"{RUN}: 2 process(es)") == 1   # printed once, by rank 0


def test_only_rank_0_writes_the_adapter_and_the_run_records(ddp):
    ranks, _, _ = ddp
    partial, run = f"adapters/.{RUN}.partial/", f"runs/{RUN}/"  # relative to the artifacts root; the adapter is
    zero = ranks[0]["writes"]                                         # written whole beside its folder, then swapped in
    for expected in (partial + "adapter_config.json", partial + "run.json", partial + "tokenizer_config.json", run + "run.json"):
        assert expected in zero
    adapter = f"adapters/{RUN}/"
    assert all((ARTIFACTS / adapter / name).exists() for name in ("adapter_config.json", "run.json", "tokenizer_config.json"))
    assert not (ARTIFACTS / partial).exists()
    assert any(p.startswith(run + "tensorboard/") for p in zero) and any("/trainer_state.json" in p for p in zero)
    # rank 1 only makes sure each checkpoint folder exists, for what the Trainer keeps per process for --resume:
    # its random-number state (written by torch's native writer, so not among the audited writes)
    checkpoints = sorted(p for p in zero if Path(p).parent.as_posix() == run + "checkpoints" and Path(p).name.startswith("checkpoint-"))
    assert ranks[1]["writes"] == checkpoints and len(checkpoints) == EPOCHS
    assert all((ARTIFACTS / c / "rng_state_1.pth").exists() for c in checkpoints)
    assert (ARTIFACTS / adapter / "adapter_model.safetensors").exists()


def test_the_loss_fell(ddp):
    _, record, _ = ddp
    assert record["best_eval_loss"] < record["first_eval_loss"]
    losses = [h["loss"] for h in record["log_history"] if "loss" in h]
    assert losses[-1] < losses[0]


def test_the_command_says_what_is_missing_before_loading_a_model(tmp_path, capsys):
    from lib import train

    assert train.main(["--profile", "smoke", "--data", str(tmp_path)]) == 2
    assert "train.jsonl not found: build the dataset first" in capsys.readouterr().err
    assert train.main(["--profile", "smoke", "--data", str(tmp_path), "--accumulation", "0"]) == 2
    assert "--accumulation must be at least 1" in capsys.readouterr().err


def test_python_m_lib_train_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "lib.train", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--resume" in done.stdout and "accelerate launch" in done.stdout
