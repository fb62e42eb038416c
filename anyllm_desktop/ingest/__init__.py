"""Parsing, structure-aware chunking and the ingest pipeline (documents in, chunks out)."""
