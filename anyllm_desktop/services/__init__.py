"""Qt-free composition over providers, ingest, store and models, shared by the CLI and the GUI."""
