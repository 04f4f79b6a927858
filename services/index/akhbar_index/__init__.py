"""Index: Elasticsearch setup and bulk indexing of finished articles."""
