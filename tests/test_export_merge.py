"""Merging a LoRA adapter into its 16-bit base (lib.export.merge) on the tiny smoke model: seconds."""
import json

import pytest
import torch

from lib import chat_format, profile
from lib.export import merge


@pytest.fixture(scope="module")
def smoke():
    return profile.load_profile("smoke")


@pytest.fixture(scope="module")
def adapter(smoke, tmp_path_factory):
    """A LoRA adapter with non-zero B matrices (PEFT's init_lora_weights=False): merging it changes the model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lib.models import resolve_model_source

    base = AutoModelForCausalLM.from_pretrained(resolve_model_source(smoke), dtype=torch.float32)
    torch.manual_seed(0)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=smoke["lora"]["target_modules"],
                                            init_lora_weights=False))
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def merged(adapter, smoke, tmp_path_factory):
    return merge.merge_adapter(adapter, tmp_path_factory.mktemp("out") / "merged", profile=smoke)


@pytest.fixture(scope="module")
def prompts(smoke):
    return merge.fixed_prompts({"dataset": {"out": "no/split/here"}}, 2)     # the shipped samples


def test_merged_folder_is_standalone_and_recorded(merged):
    from safetensors import safe_open

    folder, record = merged.out_dir, merged.record
    assert (folder / "config.json").exists() and json.loads((folder / "merge.json").read_text()) == record
    with safe_open(folder / "model.safetensors", "pt") as f:
        names = list(f.keys())
    assert names and not any("lora" in n for n in names), "LoRA weights left in the merged model"
    assert record["files"]["model.safetensors"] == merge.sha256_file(folder / "model.safetensors")
    assert record["saved_dtype"] == "float32" and record["merge_dtype"] == "float32"   # the tiny base is stored in fp32
    assert record["parameters"] == 7_275_648 and record["lora"]["r"] == 4


def test_merged_tokenizer_renders_the_course_format(merged, prompts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged.out_dir)
    assert tok.chat_template == chat_format.CHAT_TEMPLATE
    assert (tok.eos_token, tok.pad_token) == ("<|im_end|>", "<|endoftext|>")
    p = prompts[0]
    text = tok.apply_chat_template(chat_format.normalise_messages(p["messages"]), tools=p["tools"],
                                   add_generation_prompt=True, tokenize=False)
    assert text == chat_format.render(p["messages"], p["tools"], add_generation_prompt=True) and "<tools>" in text


def test_merged_model_answers_like_base_plus_adapter(adapter, merged, smoke, prompts):
    check = merge.check_merge(adapter, merged.out_dir, smoke, prompts, max_new_tokens=12)
    assert len(check.rows) == len(check.answers) == 2 and check.agree
    assert check.size_mb > 25 and check.tokens_per_s > 0      # 7.3 M float32 parameters ≈ 29 MB
    for row in check.rows:
        assert row["same_tokens"] and row["same_text"] and row["same_calls"]
        assert row["max_logit_diff"] < 1e-4, row


def test_merge_really_changed_the_weights(merged, smoke, prompts):
    """The merged model is not the base: its logits on the same prompt differ clearly."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lib.models import resolve_model_source

    tok = AutoTokenizer.from_pretrained(merged.out_dir)
    ids = tok(chat_format.render(prompts[0]["messages"], prompts[0]["tools"], True), return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(resolve_model_source(smoke), dtype=torch.float32)
    tuned = AutoModelForCausalLM.from_pretrained(merged.out_dir, dtype=torch.float32)
    with torch.inference_mode():
        diff = (base(ids).logits - tuned(ids).logits).abs().max().item()
    assert diff > 0.01


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing", "does not exist"),
    (lambda d: d, "is not a LoRA adapter"),
])
def test_bad_adapter_folder_is_a_clear_error(tmp_path, make, message):
    with pytest.raises(merge.AdapterError, match=message):
        merge.merge_adapter(make(tmp_path), tmp_path / "out")


def test_adapter_without_run_record_needs_a_profile(adapter):
    with pytest.raises(merge.AdapterError, match="pass --profile"):
        merge.resolve_profile(merge.read_adapter(adapter))


def test_fixed_prompts_stop_before_the_first_answer():
    prompts = merge.fixed_prompts({"dataset": {"out": "no/split/here"}}, 3)
    assert len(prompts) == 3
    assert all(p["messages"][-1]["role"] == "user" and p["tools"] for p in prompts)
