"""The model catalog: embedded defaults, imported GGUF files, downloads."""
