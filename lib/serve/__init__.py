"""Talk to the fine-tuned model while its tool calls run in GEN NX (the course sandbox or the real API).

- `backends`: the model behind one `reply()` (transformers, GGUF via llama-cpp-python, or a script);
- `session`: one conversation: tools offered, calls parsed, checked, confirmed, executed, fed back;
- `cli`, `web`, `openai_server`: the terminal chat, the Gradio web chat and an OpenAI-compatible endpoint.

    python -m lib.serve --mode cli|gradio|openai [--model SPEC] [--profile P] [--real-api]
"""
