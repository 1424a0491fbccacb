"""`make lab`: JupyterLab on copies of the study notebooks, so exploring never changes a
tracked file (the runner takes its defaults from notebooks/*.ipynb, and a half-typed line
autosaved there would break `make studies`). The copies live in outputs/lab/ (git-ignored),
where a study run from Lab also writes its files; a copy is made once and then kept, with
the user's edits. Notebooks run on the project's kernel, `syncbench`.

    python -m syncbench.lab [JUPYTER LAB ARGS...]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / "outputs" / "lab"
LAB_DIR_ENV = "SYNCBENCH_LAB_DIR"  # another folder for the copies (tests use a temporary one)
KERNEL_NAME = "syncbench"
KERNEL_DISPLAY = f"syncbench (Python {sys.version_info.major}.{sys.version_info.minor})"


def install_kernel() -> None:
    """The `syncbench` kernel in this environment (sys.prefix), starting this interpreter."""
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY, prefix=sys.prefix)


def prepare_copies(notebooks: Path, lab_dir: Path) -> list[Path]:
    """Copy each study notebook into `lab_dir` unless a copy is there already; the new ones,
    set to run on the `syncbench` kernel."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for source in sorted(notebooks.glob("*.ipynb")):
        copy = lab_dir / source.name
        if copy.exists():
            continue  # the user's copy, maybe edited: never overwritten
        notebook = json.loads(source.read_text(encoding="utf-8"))
        notebook.setdefault("metadata", {})["kernelspec"] = {
            "name": KERNEL_NAME, "display_name": KERNEL_DISPLAY, "language": "python"}
        copy.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
        made.append(copy)
    return made


def lab_command(lab_dir: Path, extra: list[str]) -> list[str]:
    """`jupyter lab` on `lab_dir`; as root it says so (Jupyter refuses root otherwise)."""
    command = [str(Path(sys.executable).with_name("jupyter")), "lab",
               f"--ServerApp.root_dir={lab_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return [*command, *extra]


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    lab_dir = Path(os.environ.get(LAB_DIR_ENV) or LAB_DIR)
    install_kernel()
    for copy in prepare_copies(ROOT / "notebooks", lab_dir):
        print(f"lab: new copy {copy}")
    print(f"lab: notebooks in {lab_dir} (git-ignored; delete one to get a fresh copy); "
          f"kernel {KERNEL_NAME!r}", flush=True)
    if shutil.which("jupyter", path=str(Path(sys.executable).parent)) is None:
        print("lab: error: jupyter is not installed in this environment; run make setup",
              file=sys.stderr)
        return 2
    return subprocess.call(lab_command(lab_dir, extra), cwd=lab_dir)


if __name__ == "__main__":
    sys.exit(main())
