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
        "route": platform_route()["route"],         # windows-native | wsl2 | linux | macos
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


def platform_route(system: str | None = None, release: str | None = None) -> dict:
    """Which of the course's routes this machine is on, and what that route means (docs/windows.md).

    >>> platform_route("Linux", "5.15.167.4-microsoft-standard-WSL2")["route"]
    'wsl2'
    >>> platform_route("Windows", "11")["route"]
    'windows-native'
    """
    system = system or platform.system()
    release = (release if release is not None else platform.release()).lower()
    if system == "Windows":
        return {"route": "windows-native", "advice": [
            "Windows 네이티브(PowerShell): `py -3.11 -m venv .venv`, `.venv\\Scripts\\activate`, "
            "`pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu130`, `pip install -r requirements.txt`, "
            "`python -m lib.course run`. `make`는 없으므로 docs/windows.md의 명령을 직접 씁니다.",
            "네이티브에서 안 되는 것: Unsloth의 Triton 커널(triton-windows가 필요), GGUF 변환기의 빌드(C++ 컴파일러), "
            "`make test`의 브라우저·Go 테스트. 막히면 WSL2가 권장 경로입니다."]}
    if system == "Linux" and ("microsoft" in release or "wsl" in release):
        return {"route": "wsl2", "advice": [
            "WSL2(권장 경로): Windows의 NVIDIA 드라이버가 GPU를 WSL2에 넘깁니다. WSL2 안에 리눅스용 드라이버를 설치하지 마세요.",
            "`nvidia-smi`가 WSL2 안에서 보이면 `make install`이 GPU용 torch와 Unsloth를 설치합니다."]}
    if system == "Darwin":
        return {"route": "macos", "advice": ["macOS에는 CUDA가 없습니다: `cpu-embedded` 프로필로 과정 전체를 실행하세요."]}
    return {"route": "linux", "advice": []}


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
