"""Shipped configurations and experiments (package data, read with importlib.resources).

Named by their path under this folder without `.yaml`: `embedded/adversarial`, `paper/lightweight`,
`experiments/demo`.
"""
