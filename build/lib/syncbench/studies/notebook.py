"""A study's notebook `parameters` cell, written from its params class (the one source).

`python -m syncbench.studies.notebook` rewrites every registered study's cell; a test fails
when a cell and its params class differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from syncbench.study import Study, parameters_cell, registered_studies


def parameters_cell_of(notebook: Path) -> str | None:
    """The source of the notebook's cell tagged `parameters`, None when it has none."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return str(cell.source)
    return None


def write_parameters_cell(study: Study) -> bool:
    """Make the study notebook's `parameters` cell what its params class says; True if changed."""
    path = study.notebook_path
    nb = nbformat.read(path, as_version=4)
    wanted = parameters_cell(study.params)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            if cell.source == wanted:
                return False
            cell.source = wanted
            break
    else:
        raise ValueError(f"{path}: no cell tagged `parameters`; add one (JupyterLab: "
                         "Property Inspector > Cell Tags)")
    nbformat.write(nb, path)
    return True


def main() -> int:
    for name, study in sorted(registered_studies().items()):
        changed = write_parameters_cell(study)
        print(f"{name}: {study.notebook_path.name} {'rewritten' if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

