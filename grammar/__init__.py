"""The dagmed spec grammar (installed as the ``dagmed.grammar`` package data)."""
