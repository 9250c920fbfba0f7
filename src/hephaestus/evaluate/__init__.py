"""Evaluate: BFCL function calling (AST categories) with prompts in our chat template, and greedy generation."""
