"""What a judgment's judge-prompt version means for what it records.

The judging graph writes the prompts; the report and the viewer show the judgments, and must say
when a judgment has no written reasons because its prompt asked for none (empty reason cells
otherwise read as lost data). They share this one definition; the report does not load the
judging graph (LangGraph) to learn it.
"""

SCORE_ONLY_VERSIONS = ("4",)  # the judge gives the score alone, no reasons
