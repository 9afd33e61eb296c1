"""The benchmarks: run one from the repository root as ``python -m benchmarks.<name>`` (``make bench BENCH=<name>``)."""
