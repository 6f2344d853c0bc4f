"""Who judges: judge models named on the command line, and the one rule about judging one's own family.

A judge of the same model family as a debater may favour it (self-preference). Whether the
debaters are known from a transcript, from an experiment's stored debates or from its
configurations, the same rule applies: warn, or with strict judging refuse, naming the judge, the
family and where that family debated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from debatelab.agents import JUDGE_DEFAULTS, ModelSpec, family_of
from debatelab.base import UserError, describe_validation_error, redact


def parse_judges(judges: Iterable[str], option: str = "--judge") -> list[ModelSpec]:
    """`TAG[@HOST]` strings as judge specs (temperature 0, seed 0), each checked now."""
    specs = []
    for j in judges:
        try:
            specs.append(ModelSpec.parse(j, **JUDGE_DEFAULTS))
        except ValidationError as exc:  # one line naming the field, not pydantic's dump
            raise UserError(redact(describe_validation_error(f"{option} {j[:100]!r}", exc))) from None
        except ValueError as exc:
            raise UserError(redact(f"{option} {j[:100]!r}: {exc}")) from None
    return specs




def family_warnings(judges: Iterable[ModelSpec], debaters: Mapping[str, str], *, strict: bool,
                    refuse_hint: str = "--strict refuses such a judge") -> list[str]:
    """One warning per judge whose model family also debated; with `strict`, raise the first.

    `debaters`: a debating model (tag or TAG@HOST) -> where it debated (a configuration, a debate)."""
    families: dict[str, str] = {}
    for model, where in debaters.items():
        families.setdefault(family_of(model), where)
    warnings = []
    for judge in judges:
        where = families.get(judge.family)
        if where is None:
            continue
        message = f"judge {judge.label} is of the model family '{judge.family}' that also debated in {where}"
        if strict:
            raise UserError(f"{message}; strict judging refuses it: use a judge of another family, or judge without "
                            f"strict (its scores may favour its own family)")
        warnings.append(f"{message}; its scores may favour its own family ({refuse_hint})")
    return warnings
