"""Determination engine for the interventional pain guideline knowledge graph."""

__version__ = "0.1.0"
