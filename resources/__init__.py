"""Data package: pyradiomics parameter files, JSON schemas, style sheet, icons (no code)."""
