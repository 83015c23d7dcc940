"""One process of the two-process training test (tests/test_train_ddp.py), started by `accelerate launch`.

    ACCELERATE_USE_CPU=true accelerate launch --config_file configs/accelerate-2gpu.yaml \
        tests/ddp_worker.py REPORT_DIR <python -m lib.train arguments>

It runs `python -m lib.train`'s `main` unchanged and writes REPORT_DIR/rank<N>.json with what this process saw:
- a hash of its trainable (LoRA) weights after every optimizer step (DDP must keep the processes' copies equal),
- the metrics of every evaluation (eval loss and tool score must agree, or the processes would pick different
  checkpoints or stop at different times),
- every path under the artifacts root (lib.paths.ARTIFACTS, moved by $COURSE_ARTIFACTS) it opened for writing,
  created, renamed or removed, relative to that root. These come from CPython's
  audit hooks (sys.addaudithook), which observe the real calls: nothing in lib is replaced. Files written from
  native code (safetensors) are not seen, but their folders' creation and the JSON beside them are.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lib.paths import ARTIFACTS  # noqa: E402  (light: no torch)

PREFIX = str(ARTIFACTS) + os.sep
WRITES: list[str] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event, args):
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
    elif event in ("os.mkdir", "os.remove", "os.rmdir"):
        path, writing = args[0], True
    elif event in ("os.rename", "os.replace"):
        path, writing = args[1], True
    else:
        return
    if writing and isinstance(path, (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(path))
        if path.startswith(PREFIX):
            WRITES.append(Path(os.path.relpath(path, ARTIFACTS)).as_posix())


def main() -> int:
    report_dir, argv = Path(sys.argv[1]), sys.argv[2:]
    sys.addaudithook(_audit)
    import torch
    from transformers import TrainerCallback

    from lib import train

    class Observe(TrainerCallback):
        def __init__(self):
            self.steps, self.evaluations = [], []

        def on_step_end(self, args, state, control, model=None, **kwargs):
            digest = hashlib.sha256()
            for name, param in sorted(model.named_parameters()):
                if param.requires_grad:
                    digest.update(name.encode())
                    digest.update(param.detach().to(torch.float32).cpu().numpy().tobytes())
            self.steps.append({"step": state.global_step, "lora_sha256": digest.hexdigest()[:16]})

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            self.evaluations.append({"step": state.global_step,
                                     **{k: v for k, v in (metrics or {}).items() if k in ("eval_loss", "eval_tool_score")}})

    observe = Observe()
    code = train.main(argv, callbacks=[observe])
    rank = int(os.environ.get("RANK", "0"))
    report = {"rank": rank, "world_size": int(os.environ.get("WORLD_SIZE", "1")), "exit": code,
              "steps": observe.steps, "evaluations": observe.evaluations, "writes": sorted(set(WRITES))}
    (report_dir / f"rank{rank}.json").write_text(json.dumps(report, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
