"""GGUF export of the embedded model (lib.export.gguf): real conversion, metadata read back, llama.cpp answers.

A short real fine-tune on the shipped samples gives an adapter that emits tool calls, so "the same tool
call" compares something. Merging, converting to f16 and q8_0 and running both files takes about a minute.
"""
import pytest

from lib import chat_format, profile
from lib.export import gguf, merge
from lib.jsonl import read_jsonl
from lib.paths import DATA

SAMPLES = read_jsonl(DATA / "samples" / "gennx_tool_calling_samples.jsonl")


@pytest.fixture(scope="module")
def embedded():
    return profile.load_profile("cpu-embedded")


@pytest.fixture(scope="module")
def adapter(embedded):
    """LoRA trained for 16 steps on 8 shipped tool-calling samples: enough to learn the <tool_call> format."""
    from lib import models, train

    loaded = models.load_model(embedded, for_training=True)
    result = train.train(loaded, embedded, SAMPLES[:8], SAMPLES[8:], "test-export-embedded",
                         training={"num_train_epochs": 2, "gradient_accumulation_steps": 1, "learning_rate": 2e-3,
                                   "warmup_ratio": 0.0})
    models.free(loaded)
    return result.adapter_dir


@pytest.fixture(scope="module")
def prompts():
    return merge.fixed_prompts({"dataset": {"out": "no/split/here"}}, 3)


@pytest.fixture(scope="module")
def exported(adapter, embedded, prompts, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    merged = merge.merge_adapter(adapter, out / "merged", profile=embedded)
    check = merge.check_merge(adapter, merged.out_dir, embedded, prompts, max_new_tokens=48)
    files = gguf.export_gguf(merged.out_dir, out, ["f16", "q8_0"], name="course")
    return merged, check, files


def test_merged_embedded_model_answers_like_base_plus_adapter(exported):
    merged, check, _ = exported
    assert merged.record["saved_dtype"] == "bfloat16"            # the base's own 16-bit dtype
    assert check.agree and all(r["max_logit_diff"] < 1.0 for r in check.rows), check.rows
    assert sum(r["calls"] for r in check.rows) >= 2, "the fine-tuned model should emit tool calls"


def test_gguf_files_carry_the_course_template_and_stop_tokens(exported):
    _, _, files = exported
    assert [f["type"] for f in files] == ["f16", "q8_0"]
    sizes = {f["type"]: f["size_mb"] for f in files}
    assert 250 < sizes["f16"] < 300 and 130 < sizes["q8_0"] < 160       # 134.5 M parameters: 2 bytes vs ~1.06
    for f in files:
        meta = gguf.read_metadata(f["path"])
        assert meta["chat_template"] == chat_format.CHAT_TEMPLATE
        assert (meta["eos_token"], meta["padding_token"], meta["add_bos_token"]) == ("<|im_end|>", "<|endoftext|>", False)
        assert gguf.metadata_problems(meta, chat_format.CHAT_TEMPLATE) == []
    assert "Q8_0" in gguf.read_metadata(files[1]["path"])["tensor_types"]


def test_llama_cpp_gives_the_same_tool_calls(exported, prompts):
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python==0.3.36 (pip builds llama.cpp from source)")
    from transformers import AutoTokenizer

    merged, check, files = exported
    tokenizer = AutoTokenizer.from_pretrained(merged.out_dir)
    for f in files:
        result = gguf.check_gguf(f["path"], prompts, check.answers, tokenizer, max_new_tokens=48)
        assert result["same_prompt_tokens"], "llama.cpp tokenises the rendered prompt differently"
        assert result["same_calls"] == len(prompts), [(r["reference"], r["text"]) for r in result["rows"]]
        assert all(r["stopped"] for r in result["rows"] if r["new_tokens"] < 48), "llama.cpp did not stop at <|im_end|>"
        assert result["load_s"] < 10 and result["tokens_per_s"] > 0


def test_q4_k_m_falls_back_where_rows_do_not_divide_by_256(exported, tmp_path):
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python==0.3.36")
    _, _, files = exported
    out = gguf.quantize(files[0]["path"], tmp_path / "course-q4_k_m.gguf", "q4_k_m")
    meta = gguf.read_metadata(out)
    assert meta["chat_template"] == chat_format.CHAT_TEMPLATE and meta["eos_token"] == "<|im_end|>"
    assert out.stat().st_size < files[1]["path"].stat().st_size        # smaller than q8_0
    # hidden size 576 is not a multiple of 256: those matrices fall back to q5_0/q8_0, the rest are k-quants
    assert {"Q4_K", "Q5_0"} <= set(meta["tensor_types"]), meta["tensor_types"]


@pytest.mark.parametrize("types, message", [("q9", "unknown GGUF type 'q9'"), ("", "no GGUF type")])
def test_unknown_types_are_rejected(types, message):
    with pytest.raises(ValueError, match=message):
        gguf.check_types(types)


def test_cli_rejects_bad_input(tmp_path, adapter, capsys):
    from lib.export.__main__ import main

    assert main(["--adapter", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--adapter", str(adapter), "--types", "f16,q9"]) == 2    # refused before any work
    assert "unknown GGUF type 'q9'" in capsys.readouterr().err
