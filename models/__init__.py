"""Data package: shipped model bundles (JSON) and their model cards (no code)."""
