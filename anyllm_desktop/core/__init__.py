"""Plain-Python core: no Qt and no heavy imports, so the CLI, the GUI and tests share it."""
