"""How an ensemble's one-model copy is named.

An experiment with `one_model:` runs every ensemble configuration a second time with every agent
on that one model (the same protocol and token budget). The experiment names the copy and the
analysis pairs it with its ensemble by that name, read back from the store; both use this module,
so the rule is written once.
"""

from __future__ import annotations

SUFFIX = "-one-model"


def one_model_name(ensemble: str) -> str:
    """The name of `ensemble`'s one-model copy."""
    return f"{ensemble}{SUFFIX}"


def ensemble_of(config: str) -> str | None:
    """The ensemble a one-model copy was made from, or None for any other configuration."""
    return config[: -len(SUFFIX)] if config.endswith(SUFFIX) and len(config) > len(SUFFIX) else None
