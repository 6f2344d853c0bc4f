"""The base every part may import: user-facing errors, YAML reading, shipped-data lookup.

It imports nothing else from debatelab, so agents, scenarios, rubric and graphs can depend on it
without depending on the lab (runner, store, report, CLI) above them.
"""

from debatelab.base.errors import ModelUnavailableError, UserError, printable
from debatelab.base.secrets import redact, redact_all
from debatelab.base.shipped import builtin_config_names, resolve_config_file, shipped_file, shipped_names
from debatelab.base.yamlio import load_yaml_model, read_yaml

__all__ = [
    "ModelUnavailableError", "UserError", "builtin_config_names", "load_yaml_model", "printable", "read_yaml",
    "redact", "redact_all", "resolve_config_file", "shipped_file", "shipped_names",
]
