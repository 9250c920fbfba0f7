"""Select: score documents for agent relevance and keep the relevant ones."""
