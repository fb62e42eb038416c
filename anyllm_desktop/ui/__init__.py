"""Windows, widgets and dialogs. Talks to workers and core only."""
