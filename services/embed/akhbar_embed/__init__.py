"""Akhbar embed stage: a multilingual sentence vector added to each indexed document."""
