"""The bug zoo: every study against every seeded bug (tasksync.bugs), as a detection matrix.

Modules, one idea each: selection (which bugs and studies), matrix (what a study run with a
bug on came to: caught, missed, error; the rates and the verdict), progress (the console
lines), heatmap (the Plotly chart), page (zoo.html), artifacts (zoo.json, zoo.csv), run (the
orchestration through `syncbench.runner`).
"""

from syncbench.zoo.matrix import CAUGHT, ERROR, MISSED, NO_BUG, Cell, classify
from syncbench.zoo.run import ZooOptions, ZooResult, plan_zoo, run_zoo
from syncbench.zoo.selection import EXPECTED, select

__all__ = [
    "CAUGHT", "ERROR", "EXPECTED", "MISSED", "NO_BUG", "Cell", "ZooOptions", "ZooResult",
    "classify", "plan_zoo", "run_zoo", "select",
]
