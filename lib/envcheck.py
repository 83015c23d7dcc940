"""Phase 0 checks: what this machine offers (torch, CUDA, GPU, bf16, library versions) and what to do when CUDA is off.

>>> report = environment_report()
>>> report["python"].count(".") >= 1
True
"""
from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess

LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes",
             "unsloth", "unsloth_zoo", "gguf", "matplotlib", "pandas", "nbclient")


def library_versions(names=LIBRARIES) -> dict[str, str | None]:
    """Installed version of each library, None where it is missing."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_report() -> dict:
    """Python, OS, torch build, CUDA runtime, GPU name/VRAM/compute capability, bf16 support."""
    import torch

    report = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,        # None for a CPU-only torch build
        "cuda_available": torch.cuda.is_available(),
        "cpu_threads": torch.get_num_threads(),
    }
    if report["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        report.update(
            gpu_name=props.name,
            gpu_vram_gib=round(props.total_memory / 1024**3, 2),
            compute_capability=f"{props.major}.{props.minor}",
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    return report


def nvidia_smi() -> str | None:
    """`nvidia-smi`'s summary (driver and the highest CUDA it supports), None where it is missing."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        return subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def cuda_diagnosis(report: dict, smi: str | None) -> list[str]:
    """Why CUDA is unavailable, as steps to take (empty when CUDA works).

    >>> cuda_diagnosis({"cuda_available": False, "torch": "2.13.0+cpu", "torch_cuda_build": None}, None)[0]
    'No NVIDIA driver found (nvidia-smi is missing): install the driver, or run the course on the cpu-embedded profile.'
    """
    if report["cuda_available"]:
        return []
    steps = []
    if smi is None:
        steps.append("No NVIDIA driver found (nvidia-smi is missing): install the driver, "
                     "or run the course on the cpu-embedded profile.")
    if report["torch_cuda_build"] is None:
        steps.append(f"torch {report['torch']} is a CPU-only build: reinstall a CUDA build, e.g. "
                     "`pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128`.")
    elif smi is not None:
        steps.append(f"torch was built for CUDA {report['torch_cuda_build']}; check that the driver "
                     "supports it (the 'CUDA Version' in nvidia-smi must be at least as high) and update the driver.")
    steps.append("Until then COURSE_PROFILE=cpu-embedded runs every notebook on the CPU.")
    return steps
