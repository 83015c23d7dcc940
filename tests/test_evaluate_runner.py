"""The evaluation runner and CLI: dataset checks with line numbers, turn selection, a real run on the embedded model."""
import json
import re

import pytest

from lib import inference, models, profile
from lib.evaluate import __main__ as cli
from lib.evaluate import inputs, runner
from lib.evaluate.inputs import AdapterMismatchError, DatasetFormatError, eval_turns, read_rows
from lib.paths import DATA

SAMPLES = DATA / "samples" / "gennx_tool_calling_samples.jsonl"
SYSTEM = {"role": "system", "content": "GEN NX 도우미"}
TOOLS = [{"type": "function", "function": {"name": "run_analysis", "parameters": {"type": "object", "properties": {}}}},
         {"type": "function", "function": {"name": "get_reactions", "parameters": {
             "type": "object", "properties": {"load_cases": {"type": "array", "items": {"type": "string"}}}}}}]
MULTI = {"messages": [
    SYSTEM, {"role": "user", "content": "해석하고 DL 반력 보여 줘"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "run_analysis", "arguments": "{}"}}]},
    {"role": "tool", "name": "run_analysis", "content": "{}"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
        "name": "get_reactions", "arguments": "{\"load_cases\": [\"DL\"]}"}}]},
    {"role": "tool", "name": "get_reactions", "content": "{}"},
    {"role": "assistant", "content": "반력 합계는 100 kN입니다."}],
    "tools": TOOLS, "meta": {"category": "multi", "lang": "ko", "tier": 1, "context": "loaded"}}
NEGATIVE = {"messages": [SYSTEM, {"role": "user", "content": "Hello there"}, {"role": "assistant", "content": "Hi! How can I help?"}],
            "tools": TOOLS}


def write(tmp_path, lines, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines) + "\n",
                    encoding="utf-8")
    return path


def test_turns_are_the_tool_turns_and_the_first_answer_of_call_free_examples():
    turns = eval_turns([MULTI, NEGATIVE])
    assert [(t["example"], t["turn"]) for t in turns] == [(0, 2), (0, 4), (1, 2)]
    assert [len(t["prompt"]) for t in turns] == [2, 4, 2]
    assert turns[1]["history"] == [("run_analysis", {})] and turns[1]["context"] == "loaded"
    assert turns[2]["reference"] == [] and turns[2]["meta"]["category"] == "unknown" and turns[2]["meta"]["lang"] == "en"
    with_summaries = eval_turns([MULTI, NEGATIVE], include_summaries=True)
    assert [(t["example"], t["turn"]) for t in with_summaries] == [(0, 2), (0, 4), (0, 6), (1, 2)]
    assert with_summaries[2]["history"] == [("run_analysis", {}), ("get_reactions", {"load_cases": ["DL"]})]


@pytest.mark.parametrize("lines, message", [
    ([MULTI, "{not json"], "data.jsonl:2: not valid JSON"),
    ([MULTI, NEGATIVE, [1, 2]], "data.jsonl:3: not a dataset row: expected a JSON object, got list"),
    ([{"text": "hello"}], "data.jsonl:1: not a dataset row: messages: expected a non-empty list, got null"),
    ([MULTI, {"messages": [{"role": "user", "content": "hi"}]}], "data.jsonl:2: not a dataset row: no assistant message"),
    ([{"messages": [{"role": "robot", "content": "hi"}]}], "data.jsonl:1: not a dataset row: messages[0].role: expected one of system, user, assistant, tool"),
    ([{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"function": {"name": "f", "arguments": "{broken"}}]}]}], "messages[1].tool_calls[0].function.arguments: 'f' arguments are not JSON"),
    ([{**NEGATIVE, "tools": "all"}], "data.jsonl:1: not a dataset row: tools: expected a list, got str"),
    (["", "  "], "data.jsonl: no rows"),
])
def test_bad_dataset_lines_are_named(tmp_path, lines, message):
    with pytest.raises(DatasetFormatError, match=re.escape(message)):
        read_rows(write(tmp_path, lines))


def test_read_rows_limit_and_missing_file(tmp_path):
    assert len(read_rows(write(tmp_path, [MULTI, NEGATIVE, "{not json"]), limit=2)) == 2
    with pytest.raises(DatasetFormatError, match="no such file"):
        read_rows(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("args, message", [
    (["--data", "{tmp}/missing.jsonl"], "missing.jsonl: no such file"),
    (["--data", "{bad}"], "bad.jsonl:2: not a dataset row: no user message"),
    (["--data", "{good}", "--model", "{tmp}/nothing-here"], "expected 'base', an adapter folder"),
    (["--data", "{good}", "--limit", "0"], "--limit must be at least 1"),
    (["--data", "{good}", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--data", "{good}", "--max-new-tokens", "-3"], "--max-new-tokens must be at least 1, got -3"),
    (["--data", "{good}", "--profile", "no-such-profile"], "unknown profile 'no-such-profile'"),
])
def test_cli_errors_say_what_and_where(tmp_path, capsys, args, message):
    paths = {"tmp": tmp_path, "good": write(tmp_path, [NEGATIVE], "good.jsonl"),
             "bad": write(tmp_path, [NEGATIVE, {"messages": [{"role": "assistant", "content": "x"}]}], "bad.jsonl")}
    argv = [a.format(**paths) for a in args] + ["--out", str(tmp_path / "out.json")]
    argv += [] if "--profile" in args else ["--profile", "smoke"]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_an_adapter_of_another_profile_is_refused(tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    (tmp_path / "run.json").write_text(json.dumps({"profile": profile.load_profile("smoke")}))
    with pytest.raises(AdapterMismatchError, match="trained on profile 'smoke'.*--profile smoke"):
        inputs.load_for_eval(profile.load_profile("cpu-embedded"), str(tmp_path))


def test_same_profile_name_with_another_base_model_is_not_the_same_base(tmp_path):
    """laptop-6gb trained with COURSE_MODEL=embedded must not be merged onto laptop-6gb's Qwen2.5 (notebook 07)."""
    (tmp_path / "adapter_config.json").write_text("{}")
    trained = profile.load_profile("laptop-6gb", overrides={"model.source": "embedded", "model.name": "SmolLM2-135M-Instruct"}, has_cuda=True)
    (tmp_path / "run.json").write_text(json.dumps({"profile": trained}))
    assert inputs.same_base_model(tmp_path, trained)
    assert not inputs.same_base_model(tmp_path, profile.load_profile("laptop-6gb", has_cuda=True))
    (tmp_path / "run.json").unlink()
    assert inputs.same_base_model(tmp_path, trained) and not inputs.same_base_model(tmp_path / "missing", trained)


def test_targets_pass_fail_and_na():
    status = runner.target_status({"tool_name_accuracy": 0.96, "parameter_accuracy": 0.9, "json_validity": 1.0,
                                   "hallucination_rate": 0.05, "peak_vram_gib": None})
    assert [t["status"] for t in status] == ["pass", "fail", "pass", "fail", "n/a"]


@pytest.fixture(scope="module")
def embedded_result(embedded_model):
    rows = [MULTI, NEGATIVE]          # short prompts keep this fast; the CLI test below reads a shipped file
    return rows, runner.evaluate(embedded_model, rows, batch_size=2, max_new_tokens=6, progress=False, label="base")


def test_runner_scores_every_turn_of_a_real_model(embedded_result):
    rows, result = embedded_result
    s, records = result["summary"], result["records"]
    assert s["turns"] == len(eval_turns(rows)) == len(records) == s["tool_turns"] + s["no_call_turns"] == 3
    assert [(r["example"], r["turn"]) for r in records] == [(0, 2), (0, 4), (1, 2)]
    assert all(isinstance(r["output"], str) and 0 < r["new_tokens"] <= 6 for r in records)
    assert all(s[k] is None or 0 <= s[k] <= 1 for k in runner.RATE_METRICS)
    assert s["malformed"] == sum(r["json_valid"] is False for r in records) <= s["attempted"]
    assert sum(b["turns"] for b in result["breakdown"]["category"].values()) == 3
    assert result["latency"]["mean_ms"] > 0 and s["peak_rss_gib"] > 0
    text = runner.report(result)
    assert "Evaluation Report" in text and "Tool Name Accuracy > 95 %" in text and "[ N/A] VRAM within 6 GB" in text


def test_left_padded_batches_answer_as_one_at_a_time(embedded_model, embedded_result):
    rows, result = embedded_result
    for turn, record in zip(eval_turns(rows), result["records"]):   # prompts of different lengths shared a batch
        alone = inference.chat(embedded_model.model, embedded_model.tokenizer, turn["prompt"], turn["tools"], max_new_tokens=6)
        assert (record["output"], record["new_tokens"]) == (alone["text"], alone["new_tokens"])


def test_cli_writes_predictions_and_summary(tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = cli.main(["--profile", "cpu-embedded", "--data", str(SAMPLES), "--limit", "1", "--max-new-tokens", "3",
                     "--batch-size", "1", "--out", str(out)])
    assert code == 0 and "Evaluation Report" in capsys.readouterr().out
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["config"]["rows"] == 1 and saved["config"]["data"] == str(SAMPLES) and len(saved["records"]) == 1
    assert {"output", "predicted", "errors", "name_match", "exact_match", "execution"} <= set(saved["records"][0])
    partial = [json.loads(line) for line in (tmp_path / "eval.json.records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["output"] for r in partial] == [r["output"] for r in saved["records"]]   # written as it went


def test_a_model_folder_loads_as_a_merged_model():
    folder = models.ensure_tiny_model()
    loaded, label = inputs.load_for_eval(profile.load_profile("smoke"), str(folder))
    assert label == f"merged {folder.name}" and loaded.source == str(folder)


def test_evaluate_checks_every_row_before_any_generation():
    """An unknown context or a non-string request used to fail after generating, losing the generation time."""
    for bad, reason in [({**NEGATIVE, "meta": {"context": "moon"}}, "meta.context: unknown context 'moon'"),
                        ({**NEGATIVE, "messages": [SYSTEM, {"role": "user", "content": ["hi"]}, NEGATIVE["messages"][2]]},
                         "messages[1].content: expected a string, got list")]:
        with pytest.raises(DatasetFormatError, match=re.escape(f"row 1: not a dataset row: {reason}")):
            runner.evaluate(object(), [NEGATIVE, bad])     # no model is touched: the check comes first
