"""Chat and embedding backends behind one protocol."""
