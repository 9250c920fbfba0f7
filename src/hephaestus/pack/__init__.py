"""Pack: tokenize records into training sequences with loss masks."""
