"""Ingest: turns inbox files (and, later, feeds) into article jobs."""
