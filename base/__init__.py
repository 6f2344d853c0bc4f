"""The base every part may import: user-facing errors, reading users' files and YAML with limits,
shipped-data lookup, secrets redaction, CSV-cell neutralising, JSON-Schema helpers, the PyPI cache.

It imports nothing else from debatelab, so agents, scenarios, rubric and graphs can depend on it
without depending on the lab (runner, store, report, CLI) above them. It lives at the top of the
repository beside them (installed as `debatelab.base`), so the folders read bottom-up.
Other rooms import these names from this face, never from the modules behind it.
"""

from debatelab.base.csv_cells import neutralise_cell, restore_cell
from debatelab.base.errors import ExitCode, ModelUnavailableError, UserError, printable
from debatelab.base.json_schema import one_or_many, string_or_object_schema
from debatelab.base.one_model import ensemble_of, one_model_name
from debatelab.base.paths import DEFAULT_CHECKPOINTS, DEFAULT_RESULTS
from debatelab.base.plugins import load_plugins
from debatelab.base.pypi_files import cache_dir, download_wheel_members, sha256_of
from debatelab.base.secrets import redact, redact_all, redact_exception, redact_known, remember_secret
from debatelab.base.shipped import builtin_config_names, package_dir, resolve_config_file, shipped_file, shipped_names
from debatelab.base.user_files import (
    MAX_DEPTH,
    MAX_IMPORT_BYTES,
    read_user_json,
    read_user_jsonl,
    read_user_jsonl_lines,
    read_user_text,
    read_user_yaml,
    safe_file_name,
)
from debatelab.base.yamlio import describe_validation_error, load_yaml_model, read_yaml, validate

__all__ = [
    "builtin_config_names", "cache_dir", "DEFAULT_CHECKPOINTS", "DEFAULT_RESULTS", "describe_validation_error",
    "download_wheel_members", "ensemble_of", "ExitCode", "load_plugins", "load_yaml_model", "MAX_DEPTH", "MAX_IMPORT_BYTES",
    "ModelUnavailableError", "neutralise_cell", "one_model_name", "one_or_many", "package_dir", "printable",
    "read_user_json", "read_user_jsonl", "read_user_jsonl_lines", "read_user_text", "read_user_yaml", "read_yaml",
    "redact", "redact_all", "redact_exception", "redact_known", "remember_secret", "resolve_config_file",
    "restore_cell", "safe_file_name", "sha256_of", "shipped_file", "shipped_names", "string_or_object_schema",
    "UserError", "validate",
]
