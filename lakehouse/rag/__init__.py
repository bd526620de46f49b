"""Semantic search over the lake (`make rag-index`, `make ask`): passages of gold, of the dbt documentation and
of the documents folder in a chromadb collection, embedded offline; exact figures always read from gold."""
