"""Akhbar: the contract shared by every stage (documents, jobs, routing, settings, orthography)."""

from akhbar.contract import SCHEMA_VERSION, Article, Envelope, RawContent, Source, Step

__all__ = ["SCHEMA_VERSION", "Article", "Envelope", "RawContent", "Source", "Step"]
