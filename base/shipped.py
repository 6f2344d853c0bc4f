"""Files that ship inside the package: configurations, experiments, rubrics, scenario sets, prompts.

They are read through `importlib.resources`, so the same lookup works from a clone (editable
install) and from an installed wheel. A built-in file is named by its path under its folder
without the suffix (`embedded/adversarial`, `experiments/demo`); a filesystem path always works
and wins when both exist, so a user's own `embedded/adversarial.yaml` is never shadowed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from debatelab.base.errors import UserError

CONFIGS = "debatelab.configs"
YAML_SUFFIXES = (".yaml", ".yml")


def package_dir(package: str) -> Path:
    """The folder of a package that holds shipped files (always a real directory: wheels and
    editable installs both unpack to the filesystem)."""
    return Path(str(files(package)))


def shipped_names(package: str, under: str = "", suffix: str = ".yaml") -> list[str]:
    """Built-in names (relative path, no suffix) of the files below `under` in `package`."""
    root = package_dir(package)
    base = root / under if under else root
    if not base.is_dir():
        return []
    return sorted(str(p.relative_to(root).with_suffix("")) for p in base.rglob(f"*{suffix}"))


def shipped_file(package: str, name: str, suffix: str = ".yaml") -> Path | None:
    """The shipped file called `name` (with or without its suffix) in `package`, or None."""
    clean = name.strip().strip("/")
    if not clean or ".." in Path(clean).parts:
        return None
    root = package_dir(package)
    candidate = root / clean
    if candidate.suffix != suffix:
        candidate = root / f"{clean}{suffix}"
    return candidate if candidate.is_file() else None


def resolve_config_file(ref: str | Path, *, beside: Path | None = None, what: str = "configuration") -> Path:
    """A configuration or experiment file: a path as given, then beside `beside` (the file that
    names it), then a built-in name under configs/ (`embedded/adversarial`, also accepted as
    `configs/embedded/adversarial.yaml`, the form 0.1 experiment files used)."""
    text = str(ref)
    candidates = [Path(text).expanduser()]
    if beside is not None:
        candidates.append(beside.parent / text)
    for c in candidates:
        if c.is_file():
            return c
        if c.is_dir():
            raise UserError(f"{what} {text!r} is a directory; give a YAML file or a built-in name")
    name = text[len("configs/"):] if text.startswith("configs/") else text
    builtin = shipped_file(CONFIGS, name)
    if builtin is not None:
        return builtin
    raise UserError(f"{what} {text!r}: file not found, and not a built-in name "
                    f"(`debatelab configs` lists them)")


def builtin_config_names() -> list[str]:
    """Every built-in configuration and experiment name."""
    return shipped_names(CONFIGS)
