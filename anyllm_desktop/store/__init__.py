"""Persistence: LanceDB vectors per workspace, SQLite for workspaces, documents and threads."""
