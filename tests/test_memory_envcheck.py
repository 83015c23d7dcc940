import os
import mmap
import time

from lib import envcheck, memory


def test_track_peak_sees_an_allocation():
    with memory.track_peak(interval_s=0.01) as rec:
        # fresh pages from the kernel: a bytearray can reuse heap memory that earlier tests left resident
        block = mmap.mmap(-1, 300 * 1024**2)
        block[::4096] = b"x" * len(block[::4096])  # touch the pages
        deadline = time.monotonic() + 10            # a busy machine may delay the sampler thread: wait for it
        while rec.peak_rss_gib - rec.start["rss_gib"] < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        block.close()
    assert rec.result["peak_rss_gib"] - rec.result["start_rss_gib"] > 0.25


def test_format_memory_on_cpu():
    assert memory.format_memory({"rss_gib": 1.234}) == "RSS 1.23 GiB"


def test_cuda_diagnosis_cases():
    cpu_build = {"cuda_available": False, "torch": "2.13.0+cpu", "torch_cuda_build": None}
    steps = envcheck.cuda_diagnosis(cpu_build, smi="NVIDIA-SMI 550")
    assert any("CPU-only build" in s for s in steps) and not any("No NVIDIA driver" in s for s in steps)
    old_driver = {"cuda_available": False, "torch": "2.13.0", "torch_cuda_build": "12.8"}
    assert any("driver" in s and "12.8" in s for s in envcheck.cuda_diagnosis(old_driver, smi="NVIDIA-SMI"))
    assert envcheck.cuda_diagnosis({"cuda_available": True}, None) == []


def test_versions_report_missing_libraries_as_none():
    versions = envcheck.library_versions(("transformers", "no-such-library"))
    assert versions == {"transformers": "5.17.0", "no-such-library": None}


def _fake_nvidia_smi(tmp_path, monkeypatch, lines: str):
    """A real executable named nvidia-smi on PATH that prints what the driver's would."""
    tool = tmp_path / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\nprintf '{lines}'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_gpu_process_memory_is_read_for_this_process(tmp_path, monkeypatch):
    from lib.memory import gpu_process_gib

    _fake_nvidia_smi(tmp_path, monkeypatch, f"111, 512\\n{os.getpid()}, 2048\\n")
    assert gpu_process_gib() == 2.0
    assert gpu_process_gib(pid=111) == 0.5
    assert gpu_process_gib(pid=999999) is None          # several processes, none is ours: no answer


def test_a_container_hiding_our_pid_with_one_process_is_read_as_ours(tmp_path, monkeypatch):
    from lib.memory import gpu_process_gib

    _fake_nvidia_smi(tmp_path, monkeypatch, "4242, 3072\\n")
    assert gpu_process_gib(pid=1) == 3.0
    _fake_nvidia_smi(tmp_path, monkeypatch, "No running processes found\\n")
    assert gpu_process_gib() is None


def test_unsloth_profiles_say_which_quantisation_keys_only_hf_bnb_honours():
    from lib.models import quantization_notes
    from lib.profile import load_profile

    laptop = load_profile("laptop-6gb", has_cuda=True)
    assert quantization_notes(laptop, "unsloth") == []                 # the profile asks for what Unsloth does
    laptop["quantization"]["bnb_4bit_use_double_quant"] = False
    note = quantization_notes(laptop, "unsloth")[0]
    assert "bnb_4bit_use_double_quant=False" in note and "hf-bnb" in note
    assert quantization_notes(laptop, "hf-bnb") == []
