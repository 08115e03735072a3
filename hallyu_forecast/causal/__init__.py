"""Causal evidence for Korea's policy levers (event studies, double ML) and what-if scenarios."""
