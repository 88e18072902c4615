"""Training of the ResAD heads: the trainer and the synthetic anomalies it learns from."""
