"""Optional LLM expansion: ask an OpenAI-compatible endpoint to reword the user turn of generated rows.

The course's dataset comes from a seeded template generator (lib.data.generate): reproducible, every call
checked against the catalogue and the sandbox, no hub or LLM needed. Its cost is wording that is less
varied than people's. The plan (docs/plan.md §3-2) widens the wording by letting an LLM paraphrase the
seeds; this module is that step, off by default. It asks any endpoint that answers
`POST {base_url}/chat/completions` (OpenAI, vLLM, Ollama's /v1, llama.cpp's server, or the course's own
`python -m lib.serve --mode openai`) to rewrite the user's request, keeps the assistant's tool calls, the
tool responses and the final answer as they were, and validates every new row exactly like every other
row (lib.data.validate). A new row is dropped, and counted by reason, when

- the endpoint answered with an error or an empty text (`endpoint`, `empty`);
- a number in the original request is missing from the rewrite (`numbers`): the calls' arguments came
  from those numbers, so a rewrite that loses "절점 5번" no longer matches its calls;
- the rewrite is the same request as the original or as another row (`duplicate`);
- the validator rejects it (`validate:<reason>`: structure, length, duplicate, contradiction, ...).

The rewritten row keeps `meta.group`, so a split never puts a paraphrase and its original in two splits,
and records `meta.expanded = {"from": <original request>, "model": <model>}`.

    python -m lib.data expand --input data/processed/train.jsonl --out artifacts/expanded.jsonl \\
        --base-url http://127.0.0.1:8000/v1 --model course --limit 20

>>> numbers_kept("절점 5번을 (0, 0, 3.5)에 만들어 줘", "5번 절점을 좌표 (0,0,3.5)에 추가해 주세요")
True
>>> numbers_kept("절점 5번 삭제", "절점 6번 삭제")
False
"""
from __future__ import annotations

import copy
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections import Counter

from .generate import norm_text
from .validate import validate_rows

DEFAULT_TIMEOUT_S = 60.0
API_KEY_ENV = "OPENAI_API_KEY"
INSTRUCTION = (
    "Rewrite the user's request to a structural-analysis assistant in different words, as another engineer "
    "might type it. Keep its meaning and its language (Korean stays Korean, English stays English). Keep every "
    "number, unit, ID, name and code exactly as written. Reply with the rewritten request only, on one line, "
    "without quotes or explanations.")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


class EndpointError(RuntimeError):
    """The endpoint cannot be used at all (not reachable, timed out, refused the key, no such route)."""


def numbers_kept(original: str, rewrite: str) -> bool:
    """True when every number written in `original` also appears in `rewrite` (as often or more)."""
    have = Counter(NUMBER.findall(rewrite))
    need = Counter(NUMBER.findall(original))
    return all(have[n] >= k for n, k in need.items())


def _user_index(row: dict) -> int | None:
    return next((i for i, m in enumerate(row.get("messages") or []) if isinstance(m, dict) and m.get("role") == "user"), None)


class Paraphraser:
    """One endpoint: `paraphrase(text)` returns the rewrite, raises EndpointError when the endpoint is unusable.

    `api_key_env` names the environment variable holding the key (sent as `Authorization: Bearer`); the key
    itself is never printed or stored.
    """

    def __init__(self, base_url: str, model: str, api_key_env: str | None = API_KEY_ENV,
                 timeout: float = DEFAULT_TIMEOUT_S, temperature: float = 0.8, max_tokens: int = 128):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.timeout = model, timeout
        self.temperature, self.max_tokens = temperature, max_tokens
        self._key = os.environ.get(api_key_env) if api_key_env else None

    def request_body(self, text: str) -> dict:
        return {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                "messages": [{"role": "system", "content": INSTRUCTION}, {"role": "user", "content": text}]}

    def paraphrase(self, text: str) -> str:
        """The rewrite of `text`; a 400/5xx answer raises ValueError (this row only), EndpointError for the rest."""
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        data = json.dumps(self.request_body(text), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")[:300]
            if err.code in (401, 403, 404, 405):
                hint = {401: f"set the key in ${API_KEY_ENV} or --api-key-env", 403: "the key may not use this model",
                        404: "is --base-url the API root (ending in /v1)?", 405: "is --base-url the API root (ending in /v1)?"}
                raise EndpointError(f"{self.url} answered HTTP {err.code} ({hint[err.code]}): {detail}") from None
            raise ValueError(f"HTTP {err.code}: {detail}") from None
        except (socket.timeout, TimeoutError) as err:
            raise EndpointError(f"{self.url} did not answer within {self.timeout:g} s ({err}); a model on a CPU may need "
                                "a longer --timeout") from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise EndpointError(f"{self.url} did not answer within {self.timeout:g} s") from None
            raise EndpointError(f"cannot reach an OpenAI-compatible endpoint at {self.url} ({reason}). Start one, e.g. "
                                "`python -m lib.serve --mode openai --port 8000` (then --base-url http://127.0.0.1:8000/v1), "
                                "or check --base-url") from None
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"the answer is not JSON ({err})") from None
        try:
            content = body["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ValueError(f"the answer has no choices[0].message: {str(body)[:200]}") from None
        return _clean(content)


def _clean(text: str) -> str:
    """First non-empty line of the reply, surrounding quotes removed."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line.strip("\"'“”‘’`").strip()


def expand_rows(rows: list[dict], paraphraser: Paraphraser, limit: int | None = None, tokenizer=None,
                max_length: int | None = None, progress=None) -> tuple[list[dict], dict]:
    """(valid new rows, report) for the first `limit` rows that have a user turn; see the module docstring.

    The report counts `asked` (rows sent), `kept`, `dropped` by reason and the seconds taken.
    """
    start = time.perf_counter()
    seen = {norm_text(r["messages"][i]["content"]) for r in rows if (i := _user_index(r)) is not None
            and isinstance(r["messages"][i].get("content"), str)}
    candidates, dropped, asked = [], Counter(), 0
    for row in rows:
        if limit is not None and asked >= limit:
            break
        index = _user_index(row)
        if index is None or not isinstance(row["messages"][index].get("content"), str):
            continue
        asked += 1
        original = row["messages"][index]["content"]
        try:
            rewrite = paraphraser.paraphrase(original)
        except ValueError:
            dropped["endpoint"] += 1
            continue
        finally:
            if progress:
                progress(1)
        key = norm_text(rewrite)
        if not key:
            dropped["empty"] += 1
        elif not numbers_kept(original, rewrite):
            dropped["numbers"] += 1
        elif key in seen:
            dropped["duplicate"] += 1
        else:
            seen.add(key)
            new = copy.deepcopy(row)
            new["messages"][index]["content"] = rewrite
            new.setdefault("meta", {})["expanded"] = {"from": original, "model": paraphraser.model}
            candidates.append(new)
    report = validate_rows(candidates, tokenizer, max_length) if candidates else None
    kept = [candidates[i - 1] for i in report.valid_lines] if report else []
    for reasons in (report.problems.values() if report else []):
        dropped[f"validate:{reasons[0].split(':')[0]}"] += 1
    summary = {"asked": asked, "kept": len(kept), "dropped": dict(dropped), "model": paraphraser.model,
               "endpoint": paraphraser.url, "seconds": round(time.perf_counter() - start, 1)}
    return kept, summary
