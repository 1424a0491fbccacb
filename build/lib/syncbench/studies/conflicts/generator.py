"""Generated contests: random concurrent edits of one task by two or three replicas.

A contest is plain JSON data (a *spec*), generated from the seed or given back through the
`contests` parameter (the replay and shrinking path), so what a contest did can be run
again exactly:

    {"contest": 7, "seed": 1234, "strategy": "merge", "token": "3f9c0a",
     "task_id": "g-7.t",
     "base": {"content": "base 3f9c0a", "status": "pending", "priority": "low"},  # or null
     "contenders": ["B"],            # or ["B", "C"]: the replicas whose pushes are contested
     "offline": false,               # B cut off (its group) while the steps run
     "push": "serial",               # or "concurrent": the contenders push at once
     "steps": [{"side": "A", "op": "edit", "content": "A1 3f9c0a"},
               {"side": "A", "op": "sync"},
               {"side": "B", "op": "edit", "priority": "high", "tie": true}]}

`base` null makes a create contest: every side adds the task under the same client-chosen
id. Steps, in order: "add", "edit" (any of content, status, priority), "rm", A's "sync" (A
pushes; A's last step is one), a contender's "pull" (a sync before its first write, so it
edits the current version). `tie: true` pins the writer's clock to the server's
`updated_at` of the task at that moment (an exact last_write_wins tie); `pad: N` pads that
write's content to N characters (multi-byte filler; N up to the protocol's maximum).

Boundaries on purpose: contest n features FEATURES[n % len(FEATURES)] (a tie, a maximal
content or task id, a field changed to the same or to different values, delete against edit
or delete, a create of the same id, B offline for several edits, three replicas pushing at
once, an edit on the current version); everything else is drawn from the contest's seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tasksync.models import MAX_CONTENT_CHARS, MAX_ID_CHARS, PRIORITIES, STATUSES, STRATEGIES

SIDES: tuple[str, ...] = ("A", "B", "C")
CONTENDERS: tuple[tuple[str, ...], ...] = (("B",), ("B", "C"))
PUSHES: tuple[str, ...] = ("serial", "concurrent")
OPS: tuple[str, ...] = ("add", "edit", "rm", "sync", "pull")
WRITES: tuple[str, ...] = ("add", "edit", "rm")
EDITED: tuple[str, ...] = ("content", "status", "priority")
FEATURES: tuple[str, ...] = (
    "equal_updated_at", "max_content", "same_field_same_value", "same_field_different_values",
    "different_fields", "delete_vs_edit", "delete_vs_delete", "create_same_id",
    "offline_edits", "concurrent_pushes", "max_task_id", "current_base",
)
# How often a contest's kind is drawn when no featured boundary fixes it.
KIND_WEIGHTS: dict[str, float] = {"edit_edit": 0.55, "edit_delete": 0.12, "delete_edit": 0.12,
                                  "delete_delete": 0.06, "create_create": 0.15}
_FILLER = "ab·é€"  # 1-, 2- and 3-byte characters: a maximal content is not a maximal body


class ContestSpecError(ValueError):
    """A contest spec that cannot be played; the message says which field and what to do."""


def padded(content: str, pad: int | None) -> str:
    """`content` padded to `pad` characters with a multi-byte filler (unchanged when None)."""
    if not pad or len(content) >= pad:
        return content
    need = pad - len(content) - 1
    return content + " " + (_FILLER * (need // len(_FILLER) + 1))[:need]


def generate_contests(seed: int, count: int, strategies: Sequence[str],
                      first: int = 0) -> list[dict[str, Any]]:
    """`count` contest specs numbered `first`.., each from its own seed drawn from `seed`."""
    rng = random.Random(f"contests:{seed}")
    return [generate_contest(first + n, rng.randrange(2**31), strategies)
            for n in range(count)]


def generate_contest(number: int, seed: int, strategies: Sequence[str]) -> dict[str, Any]:
    """Contest `number`'s spec, every choice drawn from `seed`; it features
    FEATURES[number % len(FEATURES)] on purpose."""
    rng = random.Random(seed)
    featured = FEATURES[number % len(FEATURES)]
    token = f"{rng.randrange(16**6):06x}"
    strategy = rng.choice(list(strategies))
    if featured == "equal_updated_at" and "last_write_wins" in strategies:
        strategy = "last_write_wins"
    if featured == "concurrent_pushes" and strategy == "manual" and len(strategies) > 1:
        strategy = rng.choice([name for name in strategies if name != "manual"])
    kind = {"delete_vs_edit": rng.choice(("edit_delete", "delete_edit")),
            "delete_vs_delete": "delete_delete", "create_same_id": "create_create",
            "same_field_same_value": "edit_edit", "same_field_different_values": "edit_edit",
            "different_fields": "edit_edit"}.get(featured) or _draw_kind(rng)
    fresh = featured == "current_base"
    if fresh and kind not in ("edit_edit", "edit_delete"):
        kind = "edit_edit"  # the contender pulls A's change first: A's delete would end it
    trio = featured == "concurrent_pushes" or rng.random() < 0.25
    if strategy == "manual" or fresh:
        trio = False  # one manual resolution per contest; a fresh edit contests nothing
    contenders = ["B", "C"] if trio else ["B"]
    push = "concurrent" if trio and (featured == "concurrent_pushes" or rng.random() < 0.5) \
        else "serial"
    offline = not fresh and (featured == "offline_edits" or rng.random() < 0.15)
    tie = featured == "equal_updated_at" or (strategy == "last_write_wins" and rng.random() < 0.3)
    task_id = f"g-{number}.t"
    if featured == "max_task_id" or rng.random() < 0.05:
        task_id = (task_id + "." + token * MAX_ID_CHARS)[:MAX_ID_CHARS]
    base = None if kind == "create_create" else {
        "content": f"base {token}", "status": rng.choice(STATUSES),
        "priority": rng.choice(PRIORITIES)}

    values = _Values(rng, token, featured)
    writes_a = rng.randint(2, 3) if offline else rng.choice((1, 1, 1, 2))
    steps_a: list[dict[str, Any]] = []
    for k, write in enumerate(_writes(rng, "A", kind, writes_a, values)):
        steps_a.append(write)
        if offline or k == writes_a - 1:
            steps_a.append({"side": "A", "op": "sync"})
    steps = steps_a
    for side in contenders:
        count = rng.randint(2, 4) if offline and side == "B" else rng.choice((1, 1, 2))
        own = _writes(rng, side, kind, count, values)
        if fresh:
            steps = steps + [{"side": side, "op": "pull"}] + own
            continue
        if tie:  # after A's last push, each write stamped with the server's updated_at
            steps = steps + [{**write, "tie": True} for write in own]
            continue
        # anywhere among A's steps: before A's push (older) or after it (newer)
        slots = sorted(rng.randint(0, len(steps)) for _ in own)
        merged: list[dict[str, Any]] = []
        position = 0
        for slot, write in zip(slots, own, strict=True):
            merged += steps[position:slot] + [write]
            position = slot
        steps = merged + steps[position:]
    if featured == "max_content" or rng.random() < 0.05:
        _pad_one(rng, steps)
    return {"contest": number, "seed": seed, "strategy": strategy, "token": token,
            "task_id": task_id, "base": base, "contenders": contenders, "offline": offline,
            "push": push, "steps": steps}


def _draw_kind(rng: random.Random) -> str:
    return rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]


class _Values:
    """The values edits choose from: a shared content (the same value on both sides) and
    each side's own, so "same field, same value" and "different values" both happen."""

    def __init__(self, rng: random.Random, token: str, featured: str) -> None:
        self.rng, self.token, self.featured = rng, token, featured
        self.numbers: dict[str, int] = {}

    def edit(self, side: str) -> dict[str, Any]:
        rng, featured = self.rng, self.featured
        if featured == "same_field_same_value":
            return {"content": f"same {self.token}"}
        if featured == "same_field_different_values":
            return {"content": self._own(side)}
        if featured == "different_fields":
            return ({"content": self._own(side)} if side == "A"
                    else {"status": rng.choice(STATUSES), "priority": rng.choice(PRIORITIES)})
        names = [name for name in EDITED if rng.random() < 0.5] or [rng.choice(EDITED)]
        fields: dict[str, Any] = {}
        for name in names:
            if name == "content":
                fields[name] = (f"same {self.token}" if rng.random() < 0.3
                                else self._own(side))
            else:
                fields[name] = rng.choice(STATUSES if name == "status" else PRIORITIES)
        return fields

    def _own(self, side: str) -> str:
        self.numbers[side] = self.numbers.get(side, 0) + 1
        return f"{side}{self.numbers[side]} {self.token}"


def _writes(rng: random.Random, side: str, kind: str, count: int,
            values: _Values) -> list[dict[str, Any]]:
    """`count` writes of `side` for a contest of `kind` (a delete, when any, comes last)."""
    deletes = (kind == "delete_delete" or (kind == "edit_delete" and side != "A")
               or (kind == "delete_edit" and side == "A"))
    writes: list[dict[str, Any]] = []
    for k in range(count):
        if k == 0 and kind == "create_create":
            fields = values.edit(side)
            fields.setdefault("content", values._own(side))
            writes.append({"side": side, "op": "add", **fields})
        elif deletes and k == count - 1:
            writes.append({"side": side, "op": "rm"})
        else:
            writes.append({"side": side, "op": "edit", **values.edit(side)})
    return writes


def _pad_one(rng: random.Random, steps: list[dict[str, Any]]) -> None:
    """Make one write's content (a contender's when it has one) the maximal length."""
    with_content = [step for step in steps if "content" in step]
    if not with_content:
        return
    contenders = [step for step in with_content if step["side"] != "A"]
    rng.choice(contenders or with_content)["pad"] = MAX_CONTENT_CHARS


# -- what a spec holds ------------------------------------------------------------------------

def contest_kind(spec: Mapping[str, Any]) -> str:
    """A contest in a few words, a part per side: "create/create", "edit/delete",
    "edit/edit/edit" (A first, then the contenders)."""
    write = "create" if spec.get("base") is None else "edit"
    parts = []
    for side in ("A", *spec.get("contenders", ())):
        ops = {step["op"] for step in spec["steps"] if step["side"] == side}
        parts.append("delete" if "rm" in ops else write)
    return "/".join(parts)


def contest_features(spec: Mapping[str, Any]) -> list[str]:
    """The boundaries and situations the spec exercises (names from FEATURES), from its
    steps (not from what the generator meant), in FEATURES order."""
    steps = spec["steps"]
    found: set[str] = set()
    last_sync = max((i for i, s in enumerate(steps) if s["side"] == "A" and s["op"] == "sync"),
                    default=-1)
    if any(step.get("tie") and i > last_sync for i, step in enumerate(steps)):
        found.add("equal_updated_at")
    if any(step.get("pad") == MAX_CONTENT_CHARS for step in steps):
        found.add("max_content")
    if len(spec["task_id"]) == MAX_ID_CHARS:
        found.add("max_task_id")
    if spec.get("base") is None:
        found.add("create_same_id")
    if spec.get("offline") and sum(1 for s in steps if s["side"] == "B" and s["op"] in WRITES) > 1:
        found.add("offline_edits")
    if len(spec["contenders"]) > 1 and spec.get("push") == "concurrent":
        found.add("concurrent_pushes")
    if any(step["op"] == "pull" for step in steps):
        found.add("current_base")
    finals = {side: _final(spec, side) for side in ("A", *spec["contenders"])}
    a = finals["A"]
    for side in spec["contenders"]:
        other = finals[side]
        if a is None or other is None:
            continue
        if a.get("deleted") and other.get("deleted"):
            found.add("delete_vs_delete")
        elif a.get("deleted") or other.get("deleted"):
            found.add("delete_vs_edit")
        else:
            both = set(a) & set(other)
            if any(a[name] == other[name] for name in both):
                found.add("same_field_same_value")
            if any(a[name] != other[name] for name in both):
                found.add("same_field_different_values")
            if set(a) - both and set(other) - both:
                found.add("different_fields")
    return [name for name in FEATURES if name in found]


def _final(spec: Mapping[str, Any], side: str) -> dict[str, Any] | None:
    """The fields `side` set over its writes ({"deleted": True} once it deleted)."""
    fields: dict[str, Any] = {}
    for step in spec["steps"]:
        if step["side"] != side:
            continue
        if step["op"] == "rm":
            return {"deleted": True}
        fields.update({name: step[name] for name in EDITED if name in step})
    return fields or None


def spec_json(spec: Mapping[str, Any]) -> str:
    """The spec as one line of JSON (what the outcomes frame records)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


# -- checking a given spec ----------------------------------------------------------------------

def check_contests(specs: Iterable[Any]) -> None:
    """ContestSpecError naming the contest and the field when a spec cannot be played."""
    numbers: set[int] = set()
    for index, spec in enumerate(specs):
        where = f"contests[{index}]"
        if not isinstance(spec, Mapping):
            raise ContestSpecError(f"{where}: a contest is a mapping (see "
                                   "syncbench.studies.conflicts.generator), got {spec!r}")
        check_contest(spec, where)
        if spec["contest"] in numbers:
            raise ContestSpecError(f"{where}: contest number {spec['contest']} is used twice; "
                                   "give each contest its own number (it names the repository)")
        numbers.add(spec["contest"])


def check_contest(spec: Mapping[str, Any], where: str = "contest") -> None:
    """ContestSpecError when `spec` cannot be played, saying what to change."""
    def need(condition: bool, message: str) -> None:
        if not condition:
            raise ContestSpecError(f"{where}: {message}")

    known = {"contest", "seed", "strategy", "token", "task_id", "base", "contenders", "offline",
             "push", "steps"}
    missing = sorted(known - {"seed"} - set(spec))
    need(not missing, f"missing {', '.join(missing)} (a spec names every field but seed)")
    unknown = sorted(set(spec) - known)
    need(not unknown, f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    number = spec["contest"]
    need(isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 10**6,
         f"contest must be an integer in 0..999999, got {number!r}")
    need(spec["strategy"] in STRATEGIES,
         f"strategy must be one of {', '.join(STRATEGIES)}, got {spec['strategy']!r}")
    token = spec["token"]
    need(isinstance(token, str) and 0 < len(token) <= 20 and token.isalnum(),
         f"token must be 1..20 letters or digits, got {token!r}")
    task_id = spec["task_id"]
    need(isinstance(task_id, str) and 0 < len(task_id) <= MAX_ID_CHARS
         and all(ch.isalnum() or ch in "._:-" for ch in task_id),
         f"task_id must be 1..{MAX_ID_CHARS} letters, digits or . _ : -, got {task_id!r}")
    contenders = tuple(spec["contenders"]) if isinstance(spec["contenders"], list | tuple) else ()
    need(contenders in CONTENDERS, "contenders must be [\"B\"] or [\"B\", \"C\"], got "
                                   f"{spec['contenders']!r}")
    need(not (spec["strategy"] == "manual" and len(contenders) > 1),
         "a manual contest has one contender (each manual conflict is resolved by hand); "
         "use contenders [\"B\"]")
    need(spec["push"] in PUSHES, f"push must be one of {', '.join(PUSHES)}, got {spec['push']!r}")
    need(isinstance(spec["offline"], bool), f"offline must be true or false, got "
                                            f"{spec['offline']!r}")
    base = spec["base"]
    if base is not None:
        need(isinstance(base, Mapping) and set(base) <= set(EDITED) and "content" in base,
             "base must be null (a create contest) or a mapping with content and optionally "
             "status and priority")
        _check_fields(base, "base", need)
    steps = spec["steps"]
    need(isinstance(steps, list) and bool(steps), "steps must be a non-empty list")
    sides = ("A", *contenders)
    written: dict[str, list[str]] = {side: [] for side in sides}
    for number_, step in enumerate(steps):
        at = f"steps[{number_}]"
        need(isinstance(step, Mapping), f"{at} must be a mapping")
        side, op = step.get("side"), step.get("op")
        need(side in sides, f"{at}: side must be one of {', '.join(sides)}, got {side!r}")
        need(op in OPS, f"{at}: op must be one of {', '.join(OPS)}, got {op!r}")
        extra = set(step) - {"side", "op", "tie", "pad", *EDITED}
        need(not extra, f"{at}: unknown field(s) {', '.join(sorted(extra))}")
        need(op != "sync" or side == "A", f"{at}: only A syncs during the steps (contenders "
                                          "push after them; a contender may `pull` first)")
        need(op != "pull" or (side != "A" and not written[side] and base is not None
                              and not (side == "B" and spec["offline"])),
             f"{at}: a `pull` is a contender's first step, not in a create contest and not "
             "for B offline")
        need(op not in WRITES or "rm" not in written[side],
             f"{at}: {side} already deleted the task; a delete is a side's last write")
        need(op != "add" or (base is None and not written[side]),
             f"{at}: `add` is a side's first write, and only in a create contest (base null)")
        need(op == "add" or op not in WRITES or base is not None or written[side],
             f"{at}: in a create contest a side's first write is `add`")
        fields = {name: step[name] for name in EDITED if name in step}
        need(op in ("add", "edit") or not fields, f"{at}: only add and edit carry fields")
        need(op != "edit" or bool(fields), f"{at}: an edit changes content, status or priority")
        need(op != "add" or "content" in fields, f"{at}: an add needs content")
        _check_fields(fields, at, need)
        pad = step.get("pad")
        need(pad is None or ("content" in fields and isinstance(pad, int)
                             and not isinstance(pad, bool) and 0 < pad <= MAX_CONTENT_CHARS),
             f"{at}: pad pads a content to 1..{MAX_CONTENT_CHARS} characters, got {pad!r}")
        need(not step.get("tie") or (op in WRITES and side != "A"),
             f"{at}: tie is for a contender's write")
        if op in WRITES:
            written[side].append(op)
    need(bool(written["A"]), "A must write (its change is what the contenders meet)")
    a_steps = [step["op"] for step in steps if step["side"] == "A"]
    need(a_steps[-1] == "sync", "A's last step must be a sync (its change reaches the server "
                                "before the contenders push)")
    for side in contenders:
        need(bool(written[side]), f"{side} must write (a contender pushes a change)")


def _check_fields(fields: Mapping[str, Any], at: str, need: Any) -> None:
    content = fields.get("content")
    if "content" in fields:
        need(isinstance(content, str) and len(content) <= MAX_CONTENT_CHARS,
             f"{at}: content must be a string of at most {MAX_CONTENT_CHARS} characters")
    if "status" in fields:
        need(fields["status"] in STATUSES,
             f"{at}: status must be one of {', '.join(STATUSES)}, got {fields['status']!r}")
    if "priority" in fields:
        need(fields["priority"] in PRIORITIES,
             f"{at}: priority must be one of {', '.join(PRIORITIES)}, got "
             f"{fields['priority']!r}")


__all__ = ["CONTENDERS", "FEATURES", "ContestSpecError", "check_contest", "check_contests",
           "contest_features", "contest_kind", "generate_contest", "generate_contests",
           "padded", "spec_json"]
