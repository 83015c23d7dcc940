"""How the course loads and fine-tunes a model, one class per backend (not to be confused with lib.serve.backends).

- `Unsloth` (`unsloth`): Unsloth's FastLanguageModel on a CUDA GPU (4-bit QLoRA by default);
- `TransformersBnb` (`hf-bnb`): transformers + bitsandbytes + PEFT on a GPU without Unsloth;
- `Transformers` (`hf`): the same libraries on the CPU.

Each object owns what differs between them: loading, attaching LoRA, switching between generation and training,
loading a saved adapter, and the trainer settings. The profile's `backend` key picks one (`choose`) and
`LoadedModel.ops` hands it to the rest of the course; `LoadedModel.backend` keeps the name, which run.json records.
Adding a backend is one class here and one entry in BACKENDS.

Nothing heavy is imported at the top: Unsloth patches transformers, peft and trl when imported, so it is imported
inside the methods that use it, and a machine without it still imports this module.
"""
from __future__ import annotations

from .devices import launched_processes, process_device_index, resolve_dtype
from .profile import ProfileError, cuda_available, unsloth_importable

# What Unsloth's loader always uses for 4-bit (FastLanguageModel builds its own BitsAndBytesConfig).
UNSLOTH_4BIT = {"bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": "auto"}


class ModelBackend:
    """What every backend does the same way; subclasses override what differs."""

    name = ""
    device = "cuda"          # where the weights go: "cuda" (this process's GPU) or "cpu"
    fallback: str | None = None        # the backend used when this one's package is missing
    fallback_note = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend '{self.name}'>"

    def __str__(self) -> str:
        return self.name

    def installed(self) -> bool:
        """True when the packages this backend needs are importable (checked without importing them)."""
        return True

    def import_first(self) -> None:
        """Import what must come before transformers, peft and trl (nothing, for most backends)."""

    def quantization_notes(self, profile: dict) -> list[str]:
        """The profile's quantization keys this backend cannot honour, said as warnings."""
        return []

    def load(self, source: str, profile: dict, in4: bool, dtype):
        """(model, tokenizer) from `source`, 4-bit or not, computing in `dtype`."""
        raise NotImplementedError

    def attach_lora(self, loaded, profile: dict, r: int, alpha: int, targets: list[str]):
        """The PEFT model: LoRA adapters of rank `r` on `targets` of `loaded.model`."""
        raise NotImplementedError

    def load_adapter(self, model, adapter_dir):
        """`model` with the adapter saved in `adapter_dir` on top, ready to generate."""
        raise NotImplementedError

    def for_inference(self, model) -> None:
        model.eval()

    def for_training(self, model) -> None:
        model.train()

    def trainer_class(self):
        from trl import SFTTrainer

        return SFTTrainer

    def trainer_settings(self, training: dict) -> dict:
        """SFTConfig arguments that depend on the backend (`training`: the profile's training section)."""
        return {"padding_free": False, "gradient_checkpointing": bool(training["gradient_checkpointing"])}


class Unsloth(ModelBackend):
    name = "unsloth"
    fallback = "hf-bnb"
    fallback_note = ("Unsloth is not installed: falling back to transformers + bitsandbytes "
                     "QLoRA (slower and more memory). `make install` adds Unsloth on a CUDA machine.")

    def installed(self) -> bool:
        return unsloth_importable()

    def import_first(self) -> None:
        import unsloth  # noqa: F401  (first, before transformers/peft/trl)

    def quantization_notes(self, profile: dict) -> list[str]:
        quant = profile["quantization"]
        differ = [k for k, v in UNSLOTH_4BIT.items() if str(quant.get(k, v)) != str(v)]
        if not differ:
            return []
        return ["Unsloth loads 4-bit weights as NF4 with double quantisation and computes in the model's dtype; "
                f"the profile's {', '.join(f'{k}={quant[k]}' for k in differ)} apply only with backend hf-bnb"]

    def load(self, source: str, profile: dict, in4: bool, dtype):
        from unsloth import FastLanguageModel  # imported only here: it patches transformers/peft/trl

        # Unsloth's multi-GPU guide: launch with accelerate and give each rank its own device. A plain run keeps
        # Unsloth's default placement (the single-GPU course as it always was).
        placement = {"device_map": {"": f"cuda:{process_device_index()}"}} if launched_processes() > 1 else {}
        return FastLanguageModel.from_pretrained(
            model_name=source, max_seq_length=profile["model"]["max_seq_length"],
            dtype=dtype, load_in_4bit=in4, load_in_16bit=not in4, **placement)

    def attach_lora(self, loaded, profile: dict, r: int, alpha: int, targets: list[str]):
        from unsloth import FastLanguageModel

        lora = profile["lora"]
        return FastLanguageModel.get_peft_model(loaded.model, r=r, lora_alpha=alpha, lora_dropout=lora["dropout"],
                                                target_modules=targets, bias=lora["bias"], random_state=profile["training"]["seed"],
                                                use_gradient_checkpointing="unsloth" if profile["training"]["gradient_checkpointing"]
                                                else False)

    def load_adapter(self, model, adapter_dir):
        model.load_adapter(str(adapter_dir))
        return model

    def for_inference(self, model) -> None:
        from unsloth import FastLanguageModel

        FastLanguageModel.for_inference(model)
        model.eval()

    def for_training(self, model) -> None:
        from unsloth import FastLanguageModel

        FastLanguageModel.for_training(model)
        model.train()

    def trainer_class(self):
        from unsloth import UnslothTrainer  # noqa: F401  (Unsloth patches TRL's SFTTrainer on import)

        return super().trainer_class()

    def trainer_settings(self, training: dict) -> dict:
        # Unsloth packs rows without padding, and checkpoints itself (get_peft_model's
        # use_gradient_checkpointing="unsloth"): the Trainer's own checkpointing would come on top
        return {"padding_free": True, "gradient_checkpointing": False}


def _bnb_config(quant: dict, compute_dtype):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant["bnb_4bit_quant_type"],
        bnb_4bit_use_double_quant=quant["bnb_4bit_use_double_quant"],
        bnb_4bit_compute_dtype=compute_dtype)


class Transformers(ModelBackend):
    """transformers + PEFT on the CPU (bitsandbytes too, when a 4-bit load is asked for)."""

    name = "hf"
    device = "cpu"

    def load(self, source: str, profile: dict, in4: bool, dtype):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs = {"dtype": dtype}
        target = torch.device("cuda", process_device_index()) if self.device.startswith("cuda") else torch.device("cpu")
        if in4:
            compute = profile["quantization"].get("bnb_4bit_compute_dtype", "auto")
            kwargs["quantization_config"] = _bnb_config(profile["quantization"], resolve_dtype(compute, self.device)
                                                        if compute != "auto" else dtype)
            # 4-bit weights are placed while loading (they cannot be moved after): on this process's GPU
            kwargs["device_map"] = {"": target.index if target.type == "cuda" else "cpu"}
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        if not in4:
            model = model.to(target)
        return model, tokenizer

    def attach_lora(self, loaded, profile: dict, r: int, alpha: int, targets: list[str]):
        import torch
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        lora = profile["lora"]
        model = loaded.model
        if loaded.load_in_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=profile["training"]["gradient_checkpointing"])
        torch.manual_seed(profile["training"]["seed"])
        config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=lora["dropout"], target_modules=targets,
                            bias=lora["bias"], task_type="CAUSAL_LM")
        return get_peft_model(model, config)

    def load_adapter(self, model, adapter_dir):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir))
        model.eval()
        return model


class TransformersBnb(Transformers):
    """transformers + bitsandbytes + PEFT on a GPU without Unsloth (slower, more memory)."""

    name = "hf-bnb"
    device = "cuda"


BACKENDS: dict[str, ModelBackend] = {b.name: b for b in (Unsloth(), TransformersBnb(), Transformers())}


def named(name: str) -> ModelBackend:
    """The backend called `name` (a profile's `backend` value).

    >>> named("hf"), named("hf").device
    (<Transformers backend 'hf'>, 'cpu')
    """
    if name not in BACKENDS:
        *others, last = BACKENDS
        raise ProfileError(f"backend must be {', '.join(others)} or {last}, not '{name}'")
    return BACKENDS[name]


def choose(profile: dict) -> tuple[ModelBackend, list[str]]:
    """(backend, notes): the profile's backend where this machine can run it, else the fallback and why."""
    wanted = named(profile.get("backend", "hf"))
    if wanted.device == "cuda" and not cuda_available():
        raise ProfileError(
            f"profile '{profile['name']}' needs a CUDA GPU and torch sees none "
            "(torch.cuda.is_available() is False). Use COURSE_PROFILE=cpu-embedded, or see "
            "the README's troubleshooting for 'CUDA False'.")
    if not wanted.installed():
        return named(wanted.fallback), [wanted.fallback_note]
    return wanted, []
