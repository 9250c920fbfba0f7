"""Train: continual pre-training of Hugging Face causal LMs on packed data, with document masking and exact resume."""
