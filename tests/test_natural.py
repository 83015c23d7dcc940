"""The natural request set and its scorer: what counts as the right endpoint and the exact request,
that the set's own reference calls score 100 % through the real session, and that it never leaks
into the training data."""
import json

import pytest

from lib.evaluate.natural import NATURAL, load_natural, matches, merged, run_natural, score_sent, summarise_natural
from lib.serve.backends import ScriptedBackend

NODE = {"method": "POST", "path": "/db/NODE", "body": {"Assign": {"5": {"X": 0, "Y": 0, "Z": 3.5}}}}
NODE6 = {"method": "POST", "path": "/db/NODE", "body": {"Assign": {"6": {"X": 6, "Y": 0, "Z": 3.5}}}}
REACT = {"method": "POST", "path": "/post/TABLE", "body": {"Argument": {"TABLE_TYPE": "REACTIONG", "LOAD_CASE_NAMES": ["DL(ST)"]}}}
DISP = {"method": "POST", "path": "/post/TABLE", "body": {"Argument": {"TABLE_TYPE": "DISPLACEMENTG"}}}


@pytest.mark.parametrize("sent, expect, endpoint, exact", [
    ([NODE], [NODE], True, True),
    ([NODE, NODE6], [{**NODE, "body": {"Assign": {"5": {"Z": 3.5}, "6": {"X": 6}}}}], True, True),  # two calls merged
    ([NODE], [{**NODE, "body": {"Assign": {"*": {"Z": 3.50000001}}}}], True, True),                 # any id, tolerance
    ([NODE], [{**NODE, "body": {"Assign": {"5": {"Z": 7}}}}], True, False),                          # wrong value
    ([NODE], [{**NODE, "body": {"Assign": {"7": {"Z": 3.5}}}}], True, False),                        # wrong id
    ([NODE, REACT], [NODE], False, False),                                                          # an extra request
    ([DISP], [REACT], False, False),                                                                # same path, other table
    ([{"method": "DELETE", "path": "/db/NODE/6,5"}], [{"method": "DELETE", "path": "/db/NODE/5,6"}], True, True),
    ([{"method": "DELETE", "path": "/db/NODE/5"}], [{"method": "DELETE", "path": "/db/NODE/5,6"}], True, False),
    ([], [NODE], False, False),
])
def test_score_sent(sent, expect, endpoint, exact):
    assert score_sent(sent, expect, attempted=len(sent)) == {"endpoint": endpoint, "exact": exact, "no_call": None}


def test_no_call_rows_pass_only_without_any_call_attempt():
    assert score_sent([], [], attempted=0)["no_call"] is True
    assert score_sent([], [], attempted=1)["no_call"] is False       # an invalid call attempt is still a call
    assert score_sent([NODE], [], attempted=1)["no_call"] is False


def test_matching_rules():
    assert matches({"A": "kn"}, {"A": "KN", "B": 1}) and not matches({"A": True}, {"A": 1})
    assert not matches([{"ID": 1}], [{"ID": 1}, {"ID": 2}])
    assert set(merged([NODE, NODE6])) == {("POST", "/DB/NODE")}


def test_summary_shares():
    records = [{"lang": "ko", "expect": [NODE], "endpoint": True, "exact": False, "no_call": None},
               {"lang": "en", "expect": [NODE], "endpoint": True, "exact": True, "no_call": None},
               {"lang": "en", "expect": [], "endpoint": None, "exact": None, "no_call": True}]
    s = summarise_natural(records)
    assert (s["right_endpoint"], s["exact_request"], s["no_call"], s["call_rows"]) == (1.0, 0.5, 1.0, 2)
    assert s["by_lang"]["en"]["exact_request"] == 1.0


@pytest.fixture(scope="module")
def natural_rows():
    return load_natural()


def test_the_set_has_the_size_and_mix_the_course_promises(natural_rows):
    rows = natural_rows
    assert len(rows) >= 120
    assert sum(r["lang"] == "en" for r in rows) / len(rows) >= 0.40
    assert sum(len(r["reference"]) >= 2 for r in rows) >= 15
    assert sum(not r["expect"] for r in rows) >= 20
    assert len({r["id"] for r in rows}) == len(rows)


def _call_text(call):
    return f'<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>'


def test_reference_calls_sent_through_the_real_session_score_100_percent(natural_rows):
    """Replaying each row's reference calls through ChatSession (router, budget, parser, sandbox) sends
    exactly the expected requests: the expectations are reachable and the scorer agrees with them."""
    records = []
    for row in natural_rows:
        replies = [_call_text(c) for c in row["reference"]] + ["완료했습니다."]
        result = run_natural(ScriptedBackend(replies), [row], max_rounds=len(replies), progress=False)
        records += result["records"]
    failed = [(r["id"], r["transcript"]) for r in records
              if (r["expect"] and not r["exact"]) or (not r["expect"] and not r["no_call"])]
    assert not failed, failed[:3]


def test_no_natural_request_appears_in_the_seeds_or_generated_data(natural_rows):
    from lib.data.generate import Generator, norm_text
    from lib.jsonl import read_jsonl
    from lib.paths import DATA

    natural = {norm_text(r["request"]) for r in natural_rows}
    seeds = {norm_text(r["user"]) for r in read_jsonl(DATA / "seeds" / "gennx_tool_seeds.jsonl")}
    generated = {norm_text(m["content"]) for e in Generator(seed=7).build(400) for m in e["messages"] if m["role"] == "user"}
    assert not natural & seeds and not natural & generated
    assert NATURAL.is_file()


def test_cli_scores_the_natural_set_through_the_session_and_keeps_records_as_it_goes(tmp_path):
    """`python -m lib.evaluate --natural` on the smoke model: a summary JSON, and one line per request
    written while it runs (a cut run keeps what it measured)."""
    import subprocess
    import sys

    out = tmp_path / "natural.json"
    done = subprocess.run([sys.executable, "-m", "lib.evaluate", "--natural", "--model", "base", "--profile", "smoke",
                           "--limit", "3", "--max-new-tokens", "8", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["summary"]["rows"] == 3 and len(result["records"]) == 3
    assert result["config"]["max_length"] == 2048
    lines = (tmp_path / "natural.json.records.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in result["records"]]
    assert all(len(r["offered"]) <= 6 for r in result["records"])


def test_cli_without_data_or_natural_says_what_is_missing():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "lib.evaluate", "--out", "x.json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--data is required" in done.stderr
