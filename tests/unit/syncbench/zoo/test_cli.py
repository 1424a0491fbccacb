"""`syncbench zoo --list` and bad input: one line each, exit 2, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from syncbench.cli import main
from tasksync.bugs import BUGS

ROOT = Path(__file__).resolve().parents[4]


def zoo(*args: str, out: Path | None = None):
    extra = ["--out", str(out)] if out else []
    return CliRunner().invoke(main, ["zoo", "--notebooks", str(ROOT / "notebooks"), *extra,
                                     *args])


def test_list_prints_one_bug_a_line_with_component_area_and_summary() -> None:
    result = zoo("--list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(BUGS)
    for line, bug in zip(lines, BUGS.values(), strict=True):
        assert line.split()[0] == bug.name
        assert f"  {bug.component}  " in line and f"  {bug.area}  " in line
        assert line.endswith(bug.summary)


@pytest.mark.parametrize(("args", "message"), [
    (("--bugs", "no_such_bug"), "unknown bug 'no_such_bug'; `syncbench zoo --list` shows"),
    (("--studies", "nope"), "unknown study 'nope'; studies: conflicts, crash, mcp, performance, "
                            "replicas, resilience, sync, or 'expected'"),
    (("--studies", "example"), "study 'example' takes no seeded_bug parameter"),
    (("--params", "no/such.yaml"), "params file not found: no/such.yaml"),
    (("-p", "seeded_bug=skip_event"), "the zoo sets it for each bug; choose bugs with --bugs"),
    (("-p", "no_such_parameter=1"), "parameter 'no_such_parameter' is declared by none"),
    (("--sample", "99", "--seed", "1"), "--sample 99: choose between 1 and"),
])
def test_bad_input_exits_2_with_one_line_that_says_what_to_do(
        tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = zoo(*args, out=tmp_path / "out")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("syncbench zoo: error: "), result.output
    assert message in lines[0]
    assert not (tmp_path / "out").exists(), "nothing ran"


def test_a_params_file_naming_an_unknown_study_is_bad_input(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("studies:\n  nope: {seed: 1}\n")
    result = zoo("--params", str(params), "--bugs", "skip_event")
    assert result.exit_code == 2
    assert "unknown study 'nope'" in result.output
