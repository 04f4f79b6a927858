"""Enrich: languages, near-duplicates and stories."""
