"""Renderers: a ``Diagnosis`` in, text out. Nothing here computes a diagnosis."""
