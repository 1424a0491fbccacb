"""`syncbench run`: Papermill execution, verdict cell, HTML, summaries, JUnit, exit code.

Modules, one idea each: plan (which studies, which parameters), execute (Papermill and
readable failure reasons), verdict_cell, html, summary, junit, index; run ties them together.
"""

from syncbench.runner.outcome import ERROR, EXIT_CODES, FAIL, PASS, StudyOutcome, exit_code
from syncbench.runner.plan import StudyPlan, find_studies, plan_studies
from syncbench.runner.run import RunOptions, RunResult, run, run_study

__all__ = [
    "ERROR",
    "EXIT_CODES",
    "FAIL",
    "PASS",
    "RunOptions",
    "RunResult",
    "StudyOutcome",
    "StudyPlan",
    "exit_code",
    "find_studies",
    "plan_studies",
    "run",
    "run_study",
]
