"""Mixing: count tokens per source, plan per-source sampling rates to hit group shares, select documents."""
