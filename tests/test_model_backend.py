"""lib.model_backend: the profile picks one backend object, and the CPU one loads, trains and reloads the smoke model."""
import re
from pathlib import Path

import pytest
import torch

from lib import model_backend, models, profile, train
from lib.model_backend import Transformers, TransformersBnb, Unsloth
from lib.profile import ProfileError

SMOKE = profile.load_profile("smoke")
LIB = Path(model_backend.__file__).parent


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has (or lacks) a CUDA GPU and Unsloth."""
    def set_up(cuda: bool, unsloth: bool):
        monkeypatch.setattr(model_backend, "cuda_available", lambda: cuda)
        monkeypatch.setattr(model_backend, "unsloth_importable", lambda: unsloth)
    return set_up


@pytest.mark.parametrize("wanted, cuda, unsloth, chosen, warned", [
    ("unsloth", True, True, Unsloth, False),
    ("unsloth", True, False, TransformersBnb, True),     # the fallback, said in a note
    ("hf-bnb", True, True, TransformersBnb, False),
    ("hf", True, True, Transformers, False),             # hf stays on the CPU even where a GPU is
    ("hf", False, False, Transformers, False),
])
def test_the_profile_and_the_machine_pick_the_backend(machine, wanted, cuda, unsloth, chosen, warned):
    machine(cuda, unsloth)
    backend, notes = model_backend.choose({**SMOKE, "backend": wanted})
    assert type(backend) is chosen and bool(notes) == warned
    assert models.choose_backend({**SMOKE, "backend": wanted}) == (backend.name, notes)
    assert backend.device == ("cpu" if chosen is Transformers else "cuda")


@pytest.mark.parametrize("wanted", ["unsloth", "hf-bnb"])
def test_gpu_backends_without_a_gpu_are_a_clear_error(machine, wanted):
    machine(False, True)
    with pytest.raises(ProfileError, match="needs a CUDA GPU.*cpu-embedded"):
        model_backend.choose({**SMOKE, "backend": wanted})


def test_an_unknown_backend_lists_the_known_ones():
    with pytest.raises(ProfileError, match="backend must be unsloth, hf-bnb or hf, not 'vllm'"):
        model_backend.choose({**SMOKE, "backend": "vllm"})


def test_trainer_settings_differ_only_for_unsloth():
    training = {"gradient_checkpointing": True}
    assert Unsloth().trainer_settings(training) == {"padding_free": True, "gradient_checkpointing": False}
    for backend in (Transformers(), TransformersBnb()):
        assert backend.trainer_settings(training) == {"padding_free": False, "gradient_checkpointing": True}
        assert backend.trainer_settings({"gradient_checkpointing": False})["gradient_checkpointing"] is False
    from trl import SFTTrainer

    assert Transformers().trainer_class() is SFTTrainer


def test_only_unsloth_warns_about_quantisation_keys_it_ignores():
    quant = {"quantization": {"bnb_4bit_quant_type": "fp4", "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": "auto"}}
    assert "bnb_4bit_quant_type=fp4" in Unsloth().quantization_notes(quant)[0]
    assert Transformers().quantization_notes(quant) == TransformersBnb().quantization_notes(quant) == []


def test_the_cpu_backend_loads_attaches_lora_switches_mode_and_reloads_an_adapter(tmp_path):
    loaded = models.load_model(SMOKE, for_training=True)
    assert loaded.backend == "hf" and type(loaded.ops) is Transformers and str(loaded.ops) == "hf"
    loaded.model = train.attach_lora(loaded, SMOKE)
    assert hasattr(loaded.model, "peft_config") and loaded.model.peft_config["default"].r == SMOKE["lora"]["r"]
    with torch.no_grad():                   # LoRA B starts at zero: give the adapter an effect to reload
        for name, param in loaded.model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5, generator=torch.Generator().manual_seed(0))
    loaded.ops.for_training(loaded.model)
    assert loaded.model.training
    train.ready_for_inference(loaded)
    assert not loaded.model.training
    loaded.model.save_pretrained(tmp_path)

    ids = loaded.tokenizer("반력", return_tensors="pt").input_ids
    reloaded = train.load_adapter(SMOKE, tmp_path)
    base = models.load_model(SMOKE)
    with torch.no_grad():
        adapted, again, plain = (m.model(ids).logits for m in (loaded, reloaded, base))
    assert not reloaded.model.training and hasattr(reloaded.model, "peft_config")
    assert torch.allclose(adapted, again, atol=1e-5) and not torch.allclose(adapted, plain, atol=1e-3)


# Backend names may be compared only in lib/model_backend.py; the one exception chooses the benchmark worker's
# environment variable, which is named after the package.
NAME = r"""["'](unsloth|hf-bnb|hf)["']"""
COMPARISON = re.compile(rf"(==|!=)\s*{NAME}|{NAME}\s*(==|!=)")
MEMBERSHIP = re.compile(rf"\bin\s*[(\[{{][^)\]}}]*{NAME}")      # `x in ("unsloth", ...)`, not `for p in (...)`
ALLOWED = {("bench.py", '"COURSE_NO_UNSLOTH": "0" if backend == "unsloth" else "1"')}


def _compares_a_name(line: str) -> bool:
    return bool(COMPARISON.search(line) or (MEMBERSHIP.search(line) and not re.search(r"\bfor\b", line)))


def test_no_backend_name_is_compared_outside_the_backend_module():
    found = []
    for path in sorted(LIB.rglob("*.py")):
        if path.name == "model_backend.py" and path.parent == LIB:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _compares_a_name(line) and not any(path.name == f and snippet in line for f, snippet in ALLOWED):
                found.append(f"{path.relative_to(LIB.parent)}:{number}: {line.strip()}")
    assert found == []
