"""Hephaestus: agent-oriented continual pre-training (arXiv 2502.06589)."""

__version__ = "0.1.0"
