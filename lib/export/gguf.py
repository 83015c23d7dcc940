"""Convert a merged model folder to GGUF (f16, q8_0, q4_k_m, ...) and check the files with llama.cpp.

No llama.cpp checkout is needed: the llama-cpp-python source package on PyPI carries llama.cpp's
`convert_hf_to_gguf.py`, its `conversion/` package and the matching `gguf-py`. It is downloaded once
(`pip download`) into artifacts/cache/ and only those parts are unpacked. The converter writes f16/bf16/
q8_0 itself; the other types (q4_k_m, q5_k_m, q4_0, ...) come from llama.cpp's quantiser, called through
the `llama_model_quantize` C function that llama-cpp-python exposes.

The chat template and the stop tokens travel inside the file (`tokenizer.chat_template`,
`tokenizer.ggml.eos_token_id`); `read_metadata` reads them back so a test can compare them.

>>> sorted(CONVERTER_TYPES), "q4_k_m" in QUANTISER_TYPES
(['bf16', 'f16', 'f32', 'q8_0'], True)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager, redirect_stderr
from pathlib import Path

from ..chat_format import IM_END
from ..paths import CACHE as TOOL_CACHE

LLAMA_CPP_PYTHON = "0.3.36"          # the sdist whose llama.cpp converter we run (same version as the bindings)
CACHE = TOOL_CACHE / "llama-cpp-python"
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")   # written by convert_hf_to_gguf.py --outtype
QUANTISER_TYPES = {"q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q2_k": 10, "q3_k_m": 12, "q4_k_s": 14,
                   "q4_k_m": 15, "q5_k_s": 16, "q5_k_m": 17, "q6_k": 18}   # llama_ftype values (llama.h)
GGUF_TYPES = CONVERTER_TYPES + tuple(QUANTISER_TYPES)


class ExportError(RuntimeError):
    """A conversion step failed; the message says which and shows the tool's last output lines."""


def check_types(types) -> list[str]:
    """Normalise requested GGUF types and reject unknown ones with the list of known ones.

    >>> check_types("F16, q4_K_M")
    ['f16', 'q4_k_m']
    >>> check_types(["q9"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown GGUF type 'q9'; choose from f32, f16, bf16, q8_0, q4_0, ...
    """
    if isinstance(types, str):
        types = types.split(",")
    out = [t.strip().lower() for t in types if t.strip()]
    for t in out:
        if t not in GGUF_TYPES:
            raise ValueError(f"unknown GGUF type '{t}'; choose from {', '.join(GGUF_TYPES)}")
    if not out:
        raise ValueError("no GGUF type requested")
    return out


# ---------------------------------------------------------------- the converter

def converter_dir(cache: Path = CACHE) -> Path:
    """llama.cpp's converter unpacked from the llama-cpp-python sdist (downloaded once from PyPI)."""
    root = cache / f"llama.cpp-{LLAMA_CPP_PYTHON}"
    if (root / "convert_hf_to_gguf.py").exists():
        return root
    sdist = cache / f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"
    if not sdist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"llama-cpp-python=={LLAMA_CPP_PYTHON}", "-d", str(cache)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not sdist.exists():
            raise ExportError(f"could not download the llama.cpp converter ({' '.join(cmd[2:])}); it needs PyPI once. "
                              f"Put llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz into {cache} by hand on a machine "
                              f"without network.\n{_tail(done.stderr)}")
    prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
    wanted = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
    partial = root.with_name(root.name + ".partial")
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            if member.name.startswith(prefix) and member.name[len(prefix):].startswith(wanted):
                member.name = member.name[len(prefix):]
                members.append(member)
        tar.extractall(partial, members=members, filter="data")
    partial.rename(root)
    return root


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def gguf_ready_tokenizer(tokenizer_json: dict) -> dict | None:
    """A byte-level BPE tokenizer.json in the standard GPT-2 form, or None when it already is one.

    Trap: the SmolLM2 tokenizer that transformers builds from the shipped GGUF is byte-level BPE but is
    saved with `byte_fallback: true` and a SentencePiece-style decoder. llama.cpp's converter then takes
    it for a Llama SentencePiece vocabulary (`tokenizer.ggml.model = llama`, no merges), and llama.cpp
    aborts while tokenising (`std::out_of_range` in `byte_to_token`). A byte-level vocabulary holds every
    byte, so byte fallback never fires: switching it off and decoding with ByteLevel changes no token.

    >>> tj = {"model": {"type": "BPE", "byte_fallback": True}, "pre_tokenizer": {"type": "ByteLevel"},
    ...       "decoder": {"type": "Sequence", "decoders": []}}
    >>> fixed = gguf_ready_tokenizer(tj)
    >>> fixed["model"]["byte_fallback"], fixed["decoder"]["type"], gguf_ready_tokenizer(fixed)
    (False, 'ByteLevel', None)
    """
    model, pre = tokenizer_json.get("model", {}), tokenizer_json.get("pre_tokenizer") or {}
    byte_level = pre.get("type") == "ByteLevel" or any(
        p.get("type") == "ByteLevel" for p in pre.get("pretokenizers", []))
    if model.get("type") != "BPE" or not byte_level or not model.get("byte_fallback"):
        return None
    fixed = {**tokenizer_json, "model": {**model, "byte_fallback": False}}
    fixed["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return fixed


def _staged(model_dir: Path, stage: Path) -> Path:
    """The folder to convert: `model_dir` itself, or links to its files with a GGUF-ready tokenizer.json."""
    tokenizer_file = model_dir / "tokenizer.json"
    fixed = gguf_ready_tokenizer(json.loads(tokenizer_file.read_text(encoding="utf-8"))) if tokenizer_file.exists() else None
    if fixed is None:
        return model_dir
    stage.mkdir(parents=True, exist_ok=True)
    for item in model_dir.iterdir():
        if item.name != "tokenizer.json":
            (stage / item.name).symlink_to(item.resolve())
    (stage / "tokenizer.json").write_text(json.dumps(fixed, ensure_ascii=False), encoding="utf-8")
    return stage


def convert(model_dir, out_file, outtype: str = "f16") -> Path:
    """Run convert_hf_to_gguf.py on a saved model folder (a subprocess: it imports its own gguf-py).

    The converter puts its bundled gguf-py first on sys.path; PYTHONPATH says the same explicitly.
    The bundled copy is newer than PyPI's gguf 0.19.0 although both say 0.19.0, so it must win.
    """
    if outtype not in CONVERTER_TYPES:
        raise ValueError(f"the converter writes {', '.join(CONVERTER_TYPES)}; use quantize() for '{outtype}'")
    root = converter_dir()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "gguf-py"), str(root)]), "HF_HUB_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)   # that variable would make the converter take PyPI's older gguf
    with tempfile.TemporaryDirectory() as tmp:
        source = _staged(Path(model_dir), Path(tmp) / "model")
        cmd = [sys.executable, str(root / "convert_hf_to_gguf.py"), str(source), "--outfile", str(out_file),
               "--outtype", outtype]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0 or not out_file.exists():
        raise ExportError(f"convert_hf_to_gguf.py failed for {model_dir} ({outtype}):\n{_tail(done.stderr)}")
    return out_file


def quantize(src_gguf, out_file, qtype: str = "q4_k_m", threads: int = 0) -> Path:
    """Quantise an f16/f32 GGUF with llama.cpp's quantiser (llama_model_quantize through llama_cpp).

    k-quants pack rows in blocks of 256 values; llama.cpp quantises tensors whose rows do not divide
    by 256 with a fallback type instead (q5_0/q8_0 for q4_k_m; SmolLM2's hidden size 576 is such a case),
    so `read_metadata(out)["tensor_types"]` shows a mix. The quantiser's log goes to a file beside the
    output (`<name>.log`), not to the terminal.
    """
    import llama_cpp

    if qtype not in QUANTISER_TYPES:
        raise ValueError(f"unknown quantiser type '{qtype}'; choose from {', '.join(QUANTISER_TYPES)}")
    out_file = Path(out_file)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTISER_TYPES[qtype]
    params.nthread = threads
    log = out_file.with_suffix(".log")
    with _stderr_into(log):
        code = llama_cpp.llama_model_quantize(str(src_gguf).encode(), str(out_file).encode(), params)
    if code != 0 or not out_file.exists():
        raise ExportError(f"llama_model_quantize({src_gguf} → {qtype}) returned {code}:\n"
                          f"{_tail(log.read_text(errors='replace'))}")
    return out_file


@contextmanager
def _stderr_into(path: Path):
    """Send the quantiser's log into `path` for the duration: what C code writes to file descriptor 2, and
    what llama-cpp-python's log callback prints to sys.stderr (in Jupyter that is not descriptor 2)."""
    sys.stderr.flush()
    saved = os.dup(2)
    Path(path).write_bytes(b"")
    with open(path, "ab") as raw, open(path, "a", encoding="utf-8", errors="replace") as text:   # both append
        os.dup2(raw.fileno(), 2)
        try:
            with redirect_stderr(text):
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def export_gguf(model_dir, out_dir, types, name: str = "model") -> list[dict]:
    """Write `<name>-<type>.gguf` for each type; quantised types start from the f16 file (written if needed).

    Returns one row per file: type, path, size_mb, seconds (conversion or quantisation time).
    """
    types = check_types(types)
    out_dir = Path(out_dir)
    rows, f16 = [], out_dir / f"{name}-f16.gguf"
    for qtype in (["f16"] if any(t in QUANTISER_TYPES for t in types) and "f16" not in types else []) + types:
        path = out_dir / f"{name}-{qtype}.gguf"
        start = time.perf_counter()
        if qtype in CONVERTER_TYPES:
            convert(model_dir, path, qtype)
        else:
            quantize(f16, path, qtype)
        if qtype in types:
            rows.append({"type": qtype, "path": path, "size_mb": round(path.stat().st_size / 1e6, 1),
                         "seconds": round(time.perf_counter() - start, 1)})
    if "f16" not in types and f16.exists():
        f16.unlink()       # only the source of the quantised files, not asked for
    return rows


# ---------------------------------------------------------------- reading back

def read_metadata(path) -> dict:
    """The GGUF's architecture, file type, chat template, special token ids/texts and tensor types.

    Read with the `gguf` package's GGUFReader (memory-mapped; no weights are loaded).
    """
    from collections import Counter

    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def field(key, default=None):
        f = reader.fields.get(key)
        return default if f is None else f.contents()

    tokens = field("tokenizer.ggml.tokens", [])
    meta = {"architecture": field("general.architecture"), "file_type": field("general.file_type"),
            "chat_template": field("tokenizer.chat_template"), "add_bos_token": field("tokenizer.ggml.add_bos_token"),
            "add_eos_token": field("tokenizer.ggml.add_eos_token"),
            "tensor_types": dict(Counter(t.tensor_type.name for t in reader.tensors)), "vocab_size": len(tokens)}
    for kind in ("bos", "eos", "eot", "padding", "unknown"):
        token_id = field(f"tokenizer.ggml.{kind}_token_id")
        meta[f"{kind}_id"] = token_id
        meta[f"{kind}_token"] = tokens[token_id] if token_id is not None and token_id < len(tokens) else None
    return meta


def metadata_problems(meta: dict, template: str) -> list[str]:
    """What is wrong with a GGUF's metadata for the course: template, stop token, padding, BOS.

    >>> ok = {"chat_template": "T", "eos_token": "<|im_end|>", "padding_token": "<|endoftext|>", "add_bos_token": False}
    >>> metadata_problems(ok, "T"), metadata_problems(ok | {"eos_token": "<|im_start|>"}, "T")
    ([], ["eos token is '<|im_start|>', not '<|im_end|>': llama.cpp would not stop at the end of a turn"])
    """
    problems = []
    if meta["chat_template"] != template:
        problems.append("tokenizer.chat_template differs from the course template")
    if meta["eos_token"] != IM_END:
        problems.append(f"eos token is {meta['eos_token']!r}, not {IM_END!r}: llama.cpp would not stop at the end of a turn")
    if meta["padding_token"] in (None, IM_END):
        problems.append(f"padding token is {meta['padding_token']!r}; it must exist and differ from EOS")
    if meta["add_bos_token"]:
        problems.append("add_bos_token is true: llama.cpp would put a BOS token before <|im_start|>system")
    if meta.get("add_eos_token"):
        problems.append("add_eos_token is true: llama.cpp would end every prompt with EOS")
    return problems


# ---------------------------------------------------------------- running the files

def load_llama(path, n_ctx: int = 4096, n_threads: int | None = None, n_gpu_layers: int = 0):
    """(llama_cpp.Llama, load seconds) for a GGUF file, quiet; on the CPU unless `n_gpu_layers`.

    `n_threads=None` keeps llama-cpp-python's choice (half the logical CPUs): its threads spin while
    they wait, so more threads than free cores is much slower on a busy machine.
    """
    from llama_cpp import Llama

    start = time.perf_counter()
    threads = {"n_threads": n_threads} if n_threads else {}
    llm = Llama(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=n_gpu_layers, verbose=False, **threads)
    return llm, time.perf_counter() - start


def llama_answer(llm, prompt: str, max_new_tokens: int) -> dict:
    """Greedy completion of a prompt already rendered with the course template, cut at <|im_end|>.

    The GGUF's EOS is <|im_end|>, so llama.cpp stops by itself (finish_reason "stop"); the stop strings
    are a second guard. Returns text, new_tokens, seconds, tokens_per_s, stopped.
    """
    from ..inference import strip_end

    start = time.perf_counter()
    out = llm.create_completion(prompt, max_tokens=max_new_tokens, temperature=0.0, top_k=1, top_p=1.0,
                                repeat_penalty=1.0, stop=[IM_END, "<|endoftext|>"])
    seconds = time.perf_counter() - start
    new = out["usage"]["completion_tokens"]
    return {"text": strip_end(out["choices"][0]["text"]), "new_tokens": new, "seconds": seconds,
            "tokens_per_s": new / seconds if seconds > 0 else float("nan"),
            "stopped": out["choices"][0]["finish_reason"] == "stop"}


def check_gguf(path, prompts: list[dict], reference: list[dict], tokenizer, max_new_tokens: int = 48) -> dict:
    """Load a GGUF with llama.cpp and answer `prompts`; compare with `reference` answers (the merged model's).

    Per file: size, load time, tokens/s, whether llama.cpp tokenises the prompts exactly as the transformers
    tokenizer does, and per prompt whether the text and the parsed tool calls are the same.
    """
    from ..chat_format import render
    from ..tool_calls import parse_tool_calls

    llm, load_seconds = load_llama(path, n_threads=os.cpu_count())   # a measurement: every core
    rows, same_prompt_tokens = [], True
    try:
        for prompt, ref in zip(prompts, reference, strict=True):
            text = render(prompt["messages"], prompt["tools"], add_generation_prompt=True)
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            same_prompt_tokens &= ids == tokenizer(text, add_special_tokens=False)["input_ids"]
            got = llama_answer(llm, text, max_new_tokens)
            calls = [(c.name, c.arguments) for c in parse_tool_calls(got["text"]).calls]
            want = [(c.name, c.arguments) for c in parse_tool_calls(ref["text"]).calls]
            rows.append({"same_text": got["text"] == ref["text"], "same_calls": calls == want, "calls": len(calls),
                         "text": got["text"], "reference": ref["text"], "new_tokens": got["new_tokens"],
                         "seconds": got["seconds"], "stopped": got["stopped"]})
    finally:
        llm.close()
    tokens = sum(r["new_tokens"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    return {"file": Path(path).name, "size_mb": round(Path(path).stat().st_size / 1e6, 1),
            "load_s": round(load_seconds, 2), "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
            "same_prompt_tokens": same_prompt_tokens, "same_text": sum(r["same_text"] for r in rows),
            "same_calls": sum(r["same_calls"] for r in rows), "prompts": len(rows), "rows": rows}
