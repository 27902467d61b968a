"""Benchmarks of the NumPy engine, optionally against a PyTorch twin (see bench_model.py)."""
