"""Export a fine-tuned adapter for serving: merge into the 16-bit base, convert to GGUF, write an Ollama Modelfile.

    python -m lib.export --adapter artifacts/adapters/course [--types f16,q8_0,q4_k_m]

`merge` (LoRA → standalone model folder, checked against base+adapter), `gguf` (llama.cpp's converter
and quantiser, checked with llama_cpp.Llama), `modelfile` (Ollama Modelfile with a Go template that
renders the course chat format).
"""
