import pytest

from lib import vram


@pytest.mark.parametrize("name, published", [
    ("qwen2.5-0.5b-instruct", 494_032_768), ("qwen2.5-1.5b-instruct", 1_543_714_304),
    ("qwen2.5-3b-instruct", 3_085_938_688), ("qwen2.5-7b-instruct", 7_615_616_512)])
def test_parameter_counts_match_the_published_models(name, published):
    assert vram.count_parameters(vram.load_architecture(name))["total"] == published


def test_counts_match_the_real_embedded_model(embedded_model):
    arch = vram.load_architecture("smollm2-135m-instruct")
    assert vram.count_parameters(arch)["total"] == embedded_model.parameters


def test_lora_count_matches_peft(embedded_model):
    from peft import LoraConfig, get_peft_model

    arch = vram.load_architecture("smollm2-135m-instruct")
    import copy

    peft_model = get_peft_model(copy.deepcopy(embedded_model.model), LoraConfig(r=16, target_modules=list(vram.LINEAR_NAMES)))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert trainable == vram.lora_parameters(arch, 16) == 4_884_480


def test_4bit_weights_are_about_a_third_for_qwen_15b():
    arch = vram.load_architecture("qwen2.5-1.5b-instruct")
    ratio = vram.weights_gib(arch, "4bit") / vram.weights_gib(arch, "16bit")
    assert 0.3 < ratio < 0.4


def test_budget_components_add_up_and_qlora_fits_6gb():
    arch = vram.load_architecture("qwen2.5-1.5b-instruct")
    budget = vram.training_budget(arch, chunked_loss=True)
    assert budget["total"] == pytest.approx(sum(v for k, v in budget.items() if k != "total"))
    assert budget["total"] < 6 < vram.training_budget(arch, bits="16bit", optimizer="adamw", gradient_checkpointing=False)["total"]


def test_unknown_architecture_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="qwen2.5-1.5b-instruct"):
        vram.load_architecture("llama-70b")
