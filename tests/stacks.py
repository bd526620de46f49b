"""What every test stack shares beyond the throwaway settings of `lakehouse_dev.sandbox`."""

from __future__ import annotations

# Test stacks live minutes: their Thrift server compiles with C1 alone, as a job's JVM (on 2 cores C2's
# compilations took the CPU of the first dbt builds: 72.6 s → 50.9 s for a first `make run`'s dbt-build).
TEST_STACK_SETTINGS = {"LAKEHOUSE_THRIFT_JVM_C1_ONLY": "true"}
