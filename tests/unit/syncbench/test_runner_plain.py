"""The runner writes counterexamples as plain JSON (syncbench.plain), whatever they hold."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

from syncbench.runner.junit import junit_xml
from syncbench.runner.verdict_cell import _failure_details

COUNTEREXAMPLE = {"op_id": np.int64(7), "latency_s": math.nan,
                  "at": pd.Timestamp("2026-11-26T08:00:00", tz="UTC"), "ids": ("t1", "t2")}
PLAIN = {"op_id": 7, "latency_s": None, "at": "2026-11-26T08:00:00+00:00", "ids": ["t1", "t2"]}
CHECK = {"name": "lost", "passed": False, "observed": "1 lost", "expected": "0 lost",
         "message": "lost t1", "counterexample": [COUNTEREXAMPLE]}


def test_junit_failure_text_holds_each_operation_as_plain_json() -> None:
    run = {"studies": [{"study": "sync", "started_at": "2026-11-26T08:00:00+00:00",
                        "duration_s": 1.0, "status": "fail", "checks": [CHECK]}]}
    failure = ET.fromstring(junit_xml(run).split("\n", 1)[1]).find(".//failure")
    assert failure is not None
    assert [json.loads(line) for line in failure.text.splitlines()[1:]] == [PLAIN]


def test_the_verdict_cell_shows_each_operation_as_plain_json() -> None:
    lines = [line for line in _failure_details(CHECK) if line.startswith("- `")]
    assert [json.loads(line[3:-1]) for line in lines] == [PLAIN]
