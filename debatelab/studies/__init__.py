"""Studies: one registered object per study kind (rubric debates, debate on questions,
weak-to-strong, oversight; plugins through the `debatelab.studies` entry point), the loader that
reads an experiment file into its study's model, and what a run, a report and the viewer ask of a
study. Nothing outside a study's own module compares a `kind` against a study's name."""

# Registered in this order: `kind: questions` in a store too old to say which goes to weak-to-strong, as before.
from debatelab.studies import debates, oversight, weak_to_strong  # noqa: F401, I001 - registers them
from debatelab.studies import question_debate  # noqa: F401, I001
from debatelab.studies.loading import experiment_json_schema, load_experiment
from debatelab.studies.model_needs import model_specs_in_file
from debatelab.studies.question_study import QuestionStudy
from debatelab.studies.registry import (
    ENTRY_POINT_GROUP,
    ReportOptions,
    Study,
    StudyRun,
    all_studies,
    forget_plugins,
    run_study,
    study,
    study_for,
    study_named,
    study_of_experiment,
)
from debatelab.studies.schemas import SCHEMA_NAMES, json_schema, schema_text, shipped_schema_text, write_shipped_schemas

__all__ = [
    "all_studies", "ENTRY_POINT_GROUP", "experiment_json_schema", "forget_plugins", "load_experiment",
    "model_specs_in_file", "QuestionStudy", "ReportOptions", "run_study", "study", "Study", "study_for", "study_named",
    "study_of_experiment", "StudyRun", "SCHEMA_NAMES", "json_schema", "schema_text", "shipped_schema_text",
    "write_shipped_schemas",
]
