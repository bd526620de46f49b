"""Development and test support, outside the production packages: the local stand-in of the BCEAO
API with its synthetic dataset, and throwaway stacks for tests and benchmarks.

Core and job packages never import it (`tests/unit/test_architecture.py` checks it); the
orchestration starts the stand-in only when no real API is configured (`lakehouse.bceao_api`).
"""
