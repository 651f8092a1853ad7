"""Training: feature selection, model fitting, statistics and evaluation (SPEC sections 8 and 10)."""
