"""Which device and dtype this process uses: the dtype `auto` means, and the GPU of each launched process.

Kept apart from `lib.models` so the backends (`lib.model_backend`), which `lib.models` imports, can use it
without importing `lib.models` back.
"""
from __future__ import annotations

import os

import torch


def resolve_dtype(name: str | None, device: str) -> torch.dtype:
    """`auto` → bf16 on GPUs that support it, fp16 on older GPUs, fp32 on the CPU.

    >>> resolve_dtype("auto", "cpu")
    torch.float32
    >>> resolve_dtype("bfloat16", "cpu")
    torch.bfloat16
    """
    if name in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, name)


def launched_processes() -> int:
    """How many processes `accelerate launch` / torchrun started for this run (1 for a plain `python`)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True in a plain `python` run and in rank 0 of a launched one: the process that writes and prints."""
    return int(os.environ.get("RANK", "0")) == 0


def process_device_index() -> int:
    """The GPU this process owns: 0 in a plain run; under `accelerate launch` / torchrun, its local rank.

    DDP keeps one whole copy of the model per process, each on its own GPU: a fixed `cuda:0` would stack
    every copy on the first card. accelerate's PartialState reads the rank from the launcher (LOCAL_RANK)
    and sets up the process group; the device is also made current, so a bare "cuda" (the memory cap,
    generation) means this process's GPU.
    """
    if launched_processes() <= 1:
        return 0
    from accelerate import PartialState

    index = PartialState().local_process_index
    if torch.cuda.is_available():
        torch.cuda.set_device(index)
    return index
