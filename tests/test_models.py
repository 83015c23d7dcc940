import pytest

from lib import inference, models, profile
from lib.profile import ProfileError


def test_embedded_model_is_converted_once_and_reused():
    folder = models.ensure_embedded_model()
    weights = next(folder.glob("*.safetensors"))
    stamp = weights.stat().st_mtime_ns
    assert models.ensure_embedded_model() == folder
    assert weights.stat().st_mtime_ns == stamp
    assert (folder / models.ORIGINAL_TEMPLATE).read_text().startswith("{% for message in messages %}")


def test_embedded_model_is_the_real_smollm2(embedded_model):
    assert embedded_model.parameters == 134_515_008
    assert embedded_model.backend == "hf" and embedded_model.device == "cpu"


def test_embedded_model_answers_and_stops(embedded_model):
    reply = inference.chat(embedded_model.model, embedded_model.tokenizer,
                          [{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=40)
    assert "Paris" in reply["text"]
    assert reply["stopped"], "generation did not stop at <|im_end|>"


def test_a_stored_max_length_does_not_warn_on_every_answer(embedded_model):
    """Unsloth saves max_length = max_seq_length; transformers warned 'Both max_new_tokens and max_length' per call."""
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("transformers.generation.utils")
    logger.addHandler(handler)
    embedded_model.model.generation_config.max_length = 8192
    try:
        reply = inference.chat(embedded_model.model, embedded_model.tokenizer,
                              [{"role": "user", "content": "Hi"}], max_new_tokens=4)
    finally:
        logger.removeHandler(handler)
    assert reply["new_tokens"] <= 4
    assert not [r for r in records if "max_length" in r.getMessage()]


def test_smoke_model_is_tiny_random_and_seeded():
    loaded = models.load_model(profile.load_profile("smoke"))
    assert loaded.parameters < 10_000_000
    assert loaded.tokenizer.eos_token == "<|im_end|>"
    first = next(loaded.model.parameters()).flatten()[:5].tolist()
    models.TINY_DIR.rename(models.TINY_DIR.with_name("tiny-moved"))
    try:
        rebuilt = models.load_model(profile.load_profile("smoke"))
        assert next(rebuilt.model.parameters()).flatten()[:5].tolist() == first
    finally:
        import shutil

        shutil.rmtree(models.TINY_DIR, ignore_errors=True)
        models.TINY_DIR.with_name("tiny-moved").rename(models.TINY_DIR)


def test_4bit_on_cpu_shrinks_the_weights():
    p = profile.load_profile("cpu-embedded")
    full = models.load_model(p, dtype="bfloat16")
    quant = models.load_model(p, load_in_4bit=True, dtype="bfloat16")
    assert quant.load_in_4bit and quant.footprint_gib() < 0.5 * full.footprint_gib()


def test_missing_hub_model_says_which_profile_works_offline():
    p = profile.load_profile("cpu-embedded", overrides={"model.source": "hub", "model.name": "Qwen/Qwen2.5-1.5B-Instruct"})
    with pytest.raises(models.ModelUnavailableError, match="COURSE_PROFILE=cpu-embedded"):
        models.load_model(p)


def test_gpu_profile_without_gpu_is_a_clear_error():
    with pytest.raises(ProfileError, match="needs a CUDA GPU.*cpu-embedded"):
        models.load_model(profile.load_profile("laptop-6gb"))


def test_unsloth_missing_on_a_gpu_falls_back_and_says_so(monkeypatch):
    from lib import model_backend

    monkeypatch.setattr(model_backend, "cuda_available", lambda: True)
    monkeypatch.setattr(model_backend, "unsloth_importable", lambda: False)
    backend, notes = models.choose_backend(profile.load_profile("laptop-6gb"))
    assert backend == "hf-bnb" and "falling back to transformers + bitsandbytes" in notes[0]


def test_unknown_model_source_is_rejected():
    with pytest.raises(ProfileError, match="model.source must be"):
        models.resolve_model_source(profile.load_profile("smoke", overrides={"model.source": "s3"}))
