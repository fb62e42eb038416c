"""Local LoRA training for llama-family GGUF models, on the CPU with JAX (issue 17).

The pieces, in the order a training job uses them:

- ``weights.load_weights``: the base model's configuration and float32 tensors from its GGUF;
- ``examples.tokenize_chat``: a conversation as llama.cpp's tokens, the reply marked;
- ``lora.training_steps`` / ``lora.train``: the LoRA, one optimizer step per yielded event;
- ``adapter_gguf.write_adapter``: the GGUF adapter llama.cpp loads with ``lora_path``.

``llama_jax`` is the forward pass all of them share. Nothing here imports Qt.
"""
