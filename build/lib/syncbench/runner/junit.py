"""junit.xml: a testsuite per study, a testcase per check, errors for studies that could not run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from syncbench.plain import json_ready


def junit_xml(run: dict[str, Any]) -> str:
    """Return JUnit XML for the run summary `run` (see summary.run_summary)."""
    suites = ET.Element("testsuites", name="syncbench")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for study in run["studies"]:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=study["study"],
            timestamp=study["started_at"],
            time=f"{study['duration_s']:.3f}",
        )
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for check in study["checks"]:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                name=str(check["name"]),
                classname=f"syncbench.{study['study']}",
                time="0",
            )
            if not check.get("passed"):
                counts["failures"] += 1
                unknown = check.get("verdict") == "unknown"
                failure = ET.SubElement(
                    case,
                    "failure",
                    type="CheckUnknown" if unknown else "CheckFailed",
                    message=f"observed {check.get('observed')}, expected {check.get('expected')}",
                )
                failure.text = _failure_text(check)
        if study["status"] in ("error", "interrupted"):
            counts["tests"] += 1
            counts["errors"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                name="run",
                classname=f"syncbench.{study['study']}",
                time=f"{study['duration_s']:.3f}",
            )
            interrupted = study["status"] == "interrupted"
            error = ET.SubElement(case, "error", message=study["reason"],
                                  type="StudyInterrupted" if interrupted else "StudyError")
            error.text = (f"{study['study']} was interrupted: {study['reason']}" if interrupted
                          else f"{study['study']} could not run: {study['reason']}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _failure_text(check: dict[str, Any]) -> str:
    lines = [str(check.get("message") or "")]
    lines += [json.dumps(json_ready(op), sort_keys=True) for op in check.get("counterexample", [])]
    return "\n".join(line for line in lines if line)
