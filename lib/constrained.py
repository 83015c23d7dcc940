"""Tool calls held to the offered tools' schemas: constrained decoding with xgrammar.

Free text stays free. Once the model writes `<tool_call>`, the grammar lets it continue only with
`\\n{"name": "<an offered tool>", "arguments": <JSON valid for that tool's parameters>}\\n</tool_call>`,
the course template's call format (Qwen's; xgrammar's "qwen_3" structural tag is the same text). So a
constrained model cannot name a tool it was not offered, drop a required argument, put a string where the
schema says number or pick a value outside an enum; it can still choose the wrong tool or the wrong value.

One grammar engine serves both backends, so the transformers model and the GGUF model are held to the same
rules: `hf_processor` for `model.generate` (one grammar per batch row) and `GgufConstraint` for
llama-cpp-python's `logits_processor`. (llama.cpp's own GBNF grammars would need a second translation of
the schemas, and llama-cpp-python cannot start a grammar at a trigger word, so free text would be lost.)
Argument keys come in the schema's order, which is the dataset's (98 % of its calls; xgrammar's
`any_order` would also let a key repeat, and a small model then loops on one key).
"""
from __future__ import annotations

import json

FORMAT = "qwen_3"   # <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>, as lib/templates renders it


def structural_tag(tools: list[dict]):
    """The xgrammar structural tag for OpenAI-shaped `tools`: free text, or calls of those tools only."""
    import xgrammar as xgr

    return xgr.get_model_structural_tag(FORMAT, tools=list(tools), reasoning="disabled")


class Grammars:
    """Compiled grammars for one vocabulary, one per tool list (cached: the router offers the same lists again)."""

    def __init__(self, tokenizer_info):
        import xgrammar as xgr

        self.compiler = xgr.GrammarCompiler(tokenizer_info, max_threads=2)
        self._cache: dict[str, object] = {}

    def compiled(self, tools: list[dict] | None):
        import xgrammar as xgr

        key = json.dumps(tools or [], sort_keys=True)
        if key not in self._cache:
            self._cache[key] = self.compiler.compile_grammar(xgr.Grammar.from_structural_tag(structural_tag(tools or [])))
        return self._cache[key]


_GRAMMARS: dict[int, tuple] = {}   # id(tokenizer or llm) -> (that object, its Grammars); the object keeps the id valid


def _grammars(owner, make_info) -> Grammars:
    if id(owner) not in _GRAMMARS:
        _GRAMMARS[id(owner)] = (owner, Grammars(make_info()))
    return _GRAMMARS[id(owner)][1]


def hf_grammars(tokenizer, vocab_size: int) -> Grammars:
    """Grammars over a transformers tokenizer; `vocab_size` is the model's (its logits may be padded)."""
    import xgrammar as xgr

    return _grammars(tokenizer, lambda: xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size))


def hf_processor(model, tokenizer, tools_per_row: list[list[dict] | None]):
    """A logits processor for one `model.generate` call over a batch; row i may only call tools_per_row[i]."""
    import xgrammar.contrib.hf as xhf

    grammars = hf_grammars(tokenizer, _logits_size(model))
    return xhf.LogitsProcessor([grammars.compiled(tools) for tools in tools_per_row])


def _logits_size(model) -> int:
    out = model.get_output_embeddings()
    return int(out.weight.shape[0]) if out is not None else int(model.config.vocab_size)


class GgufConstraint:
    """llama-cpp-python `logits_processor` for one completion: the same grammar over the GGUF's own vocabulary.

    Create one per completion (it follows the tokens generated so far); `prompt_len` is the prompt's length
    in tokens, so the tokens after it are the reply.
    """

    def __init__(self, llm, tools: list[dict] | None, prompt_len: int):
        import xgrammar as xgr

        self.matcher = xgr.GrammarMatcher(gguf_grammars(llm).compiled(tools))
        self.prompt_len, self.accepted = prompt_len, 0
        self.bitmask = xgr.allocate_token_bitmask(1, llm.n_vocab())

    def __call__(self, input_ids, scores):
        import numpy as np
        import torch
        import xgrammar as xgr

        reply = input_ids[self.prompt_len:]
        for token in reply[self.accepted:]:
            self.matcher.accept_token(int(token))
        self.accepted = len(reply)
        if self.matcher.is_terminated():
            return scores
        self.matcher.fill_next_token_bitmask(self.bitmask)
        logits = torch.from_numpy(np.array(scores, dtype=np.float32)).unsqueeze(0)
        xgr.apply_token_bitmask_inplace(logits, self.bitmask)
        return logits[0].numpy()


def gguf_grammars(llm) -> Grammars:
    """Grammars over a GGUF's own vocabulary: each token's bytes, with <|im_end|> and end-of-text as stops."""
    import xgrammar as xgr

    def info():
        vocab = [llm.detokenize([i], special=True) for i in range(llm.n_vocab())]
        stops = [i for i, piece in enumerate(vocab) if piece in (b"<|im_end|>", b"<|endoftext|>")]
        return xgr.TokenizerInfo(vocab, vocab_type=xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=stops)

    return _grammars(llm, info)
