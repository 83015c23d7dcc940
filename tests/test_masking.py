import pytest

from lib import masking, token_stats
from lib.jsonl import read_jsonl
from lib.paths import DATA

SAMPLES = DATA / "samples" / "gennx_tool_calling_samples.jsonl"


@pytest.fixture(scope="module")
def rows():
    return read_jsonl(SAMPLES)


@pytest.mark.parametrize("ids, n, side, expected", [
    ([1, 2, 3], 5, "left", [1, 2, 3]), ([1, 2, 3, 4], 2, "left", [3, 4]), ([1, 2, 3, 4], 2, "right", [1, 2])])
def test_truncate(ids, n, side, expected):
    assert masking.truncate(ids, n, side) == expected


def test_pad_equal_to_eos_masks_the_eos_label():
    assert masking.collator_style_labels([7, 8, 2, 0, 0], pad_id=0) == [7, 8, 2, -100, -100]
    assert masking.collator_style_labels([7, 8, 2, 2, 2], pad_id=2) == [7, 8, -100, -100, -100]


def test_prompt_ends_with_assistant_header_and_left_truncation_keeps_it(embedded_tokenizer, rows):
    ids = token_stats.prompt_ids(embedded_tokenizer, rows[0])
    assert masking.keeps_assistant_header(embedded_tokenizer, ids)
    assert masking.keeps_assistant_header(embedded_tokenizer, masking.truncate(ids, 100, "left"))
    assert not masking.keeps_assistant_header(embedded_tokenizer, masking.truncate(ids, 100, "right"))


def test_truncation_report_counts(embedded_tokenizer, rows):
    lengths = [len(token_stats.prompt_ids(embedded_tokenizer, r)) for r in rows]
    cut_at = sorted(lengths)[len(lengths) // 2]
    report = token_stats.truncation_report(embedded_tokenizer, rows, [cut_at, max(lengths)])
    assert report[0]["prompts_cut"] == sum(n > cut_at for n in lengths) / len(rows)
    assert report[0]["header_kept_left"] == 1.0
    assert report[0]["header_kept_right"] == 1 - report[0]["prompts_cut"]
    assert report[1] == {"max_length": max(lengths), "prompts_cut": 0.0, "header_kept_right": 1.0, "header_kept_left": 1.0}


def test_conversation_lengths_add_up(embedded_tokenizer, rows):
    lengths = token_stats.conversation_lengths(embedded_tokenizer, rows)
    for row, n in zip(rows, lengths):
        assert n["prompt"] + n["trained"] <= n["total"]
        assert n["trained"] > 0 and n["tools"] == len(row["tools"])


def test_highlight_marks_trained_tokens(embedded_tokenizer, rows):
    enc = masking.assistant_labels(embedded_tokenizer, rows[0]["messages"], rows[0]["tools"])
    html = masking.highlight_html(embedded_tokenizer, enc["input_ids"], enc["labels"])
    assert html.count("#b7e4c7") == sum(label != -100 for label in enc["labels"])


def test_every_sample_parses_and_has_tools():
    rows = read_jsonl(SAMPLES)
    assert len(rows) == 10 and all(r["tools"] for r in rows)
