"""Helpers the tests (tests/) and the benchmarks (bench/) share, installed editable by `make
install`: real redis-server and `celery worker` processes (harness), ElasticsearchDouble, a
stand-in for Elasticsearch at its HTTP boundary and never evidence that Elasticsearch accepts
anything (es_double), request bodies checked against the official API specification (es_spec),
and the developer data folder ../shared (data)."""
