"""Normalize: bytes to clean, dated, search-normalised article text."""
