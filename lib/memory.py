"""Memory helpers every notebook uses: GPU allocated/reserved (current and peak) and process RSS.

>>> snap = memory_snapshot()
>>> snap["rss_gib"] > 0
True
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

import psutil

GIB = 1024**3


def _cuda():
    import torch

    return torch.cuda if torch.cuda.is_available() else None


def memory_snapshot() -> dict:
    """Current process RSS and, on a GPU, allocated/reserved memory now and at peak (GiB)."""
    snap = {"rss_gib": psutil.Process().memory_info().rss / GIB}
    cuda = _cuda()
    if cuda:
        snap.update(
            gpu_allocated_gib=cuda.memory_allocated() / GIB,
            gpu_reserved_gib=cuda.memory_reserved() / GIB,
            gpu_peak_allocated_gib=cuda.max_memory_allocated() / GIB,
            gpu_peak_reserved_gib=cuda.max_memory_reserved() / GIB,
            gpu_total_gib=cuda.get_device_properties(0).total_memory / GIB,
        )
    return snap


def cap_gpu_memory(gib: float | None = None) -> float | None:
    """Let this process use at most `gib` GiB of the GPU, as if the card were that small.

    `gib` defaults to $COURSE_GPU_MEMORY_GIB (unset: no cap). On a bigger card this shows whether the
    course fits the 6 GB laptop: with the cap, running past 6 GiB is a CUDA out-of-memory error.
    Returns the cap applied (None on CPU or without one).

    >>> cap_gpu_memory(0) is None
    True
    """
    if gib is None:
        gib = float(os.environ.get("COURSE_GPU_MEMORY_GIB") or 0)
    cuda = _cuda() if gib else None
    if not cuda:
        return None
    total = cuda.get_device_properties(0).total_memory
    cuda.set_per_process_memory_fraction(min(1.0, gib * GIB / total))
    return gib


def reset_peak() -> None:
    """Start a new GPU peak measurement (no-op on CPU)."""
    cuda = _cuda()
    if cuda:
        cuda.synchronize()
        cuda.reset_peak_memory_stats()


class PeakRecorder:
    """What `track_peak` yields: peak RSS sampled in the background, GPU peaks read at the end."""

    def __init__(self):
        self.start = memory_snapshot()
        self.peak_rss_gib = self.start["rss_gib"]
        self.result: dict = {}


@contextmanager
def track_peak(interval_s: float = 0.05):
    """Measure the peak memory of a block: RSS sampled every `interval_s`, GPU peaks from the allocator.

    >>> with track_peak() as rec:
    ...     _ = bytearray(50 * 1024**2)
    >>> rec.result["peak_rss_gib"] >= rec.result["start_rss_gib"]
    True
    """
    reset_peak()
    rec = PeakRecorder()
    stop = threading.Event()

    def sample():
        proc = psutil.Process()
        while not stop.is_set():
            rec.peak_rss_gib = max(rec.peak_rss_gib, proc.memory_info().rss / GIB)
            time.sleep(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        stop.set()
        thread.join()
        end = memory_snapshot()
        rec.peak_rss_gib = max(rec.peak_rss_gib, end["rss_gib"])
        rec.result = {"start_rss_gib": rec.start["rss_gib"], "end_rss_gib": end["rss_gib"],
                      "peak_rss_gib": rec.peak_rss_gib}
        for key in ("gpu_allocated_gib", "gpu_peak_allocated_gib", "gpu_peak_reserved_gib"):
            if key in end:
                rec.result[key] = end[key]


def format_memory(snap: dict) -> str:
    """One line for a notebook: `RSS 1.23 GiB | GPU alloc 0.40 / peak 0.52 GiB`."""
    text = f"RSS {snap.get('rss_gib', snap.get('peak_rss_gib', 0)):.2f} GiB"
    if "gpu_peak_allocated_gib" in snap:
        text += f" | GPU alloc {snap.get('gpu_allocated_gib', 0):.2f} / peak {snap['gpu_peak_allocated_gib']:.2f} GiB"
    if "gpu_peak_reserved_gib" in snap:
        text += f" (reserved peak {snap['gpu_peak_reserved_gib']:.2f} GiB)"
    return text
