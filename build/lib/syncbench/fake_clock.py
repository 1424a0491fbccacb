"""The embedded server's wall clock, set from outside while it runs: Debian's real libfaketime
preloaded into the unmodified `tasksync serve`, reading its offset from a file we rewrite.

    clock = ServerClock(workdir / "server.clock")
    env = clock.environment()        # LD_PRELOAD and libfaketime's settings, for the server
    clock.set_offset(-30.0)          # the server's time.time() is now 30 s behind

Only the wall clock (CLOCK_REALTIME: `updated_at`, last-write-wins, heartbeat timestamps)
is moved; the monotonic clock the event loop runs on is left alone, as on a machine whose
NTP stepped or drifted. libfaketime re-reads the file on every call (no cache), so a new
offset holds from the server's next call on.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from syncbench.files import replace_text

# Where Debian's libfaketime package puts the library (multiarch), newest layout first.
LIBRARY_PATHS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)
LIBRARY_ENV = "SYNCBENCH_LIBFAKETIME"  # names another libfaketime.so.1
MAX_OFFSET_S = 86_400.0


class FakeClockUnavailable(RuntimeError):
    """libfaketime is not installed; the message says how to get it."""


def faketime_library() -> Path:
    """The libfaketime library to preload; FakeClockUnavailable saying how to install it."""
    named = os.environ.get(LIBRARY_ENV)
    candidates = (named,) if named else LIBRARY_PATHS
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    where = f"{LIBRARY_ENV}={named} is not a file" if named else (
        f"not found at {', '.join(LIBRARY_PATHS)}")
    raise FakeClockUnavailable(
        f"libfaketime is needed to move the server's clock ({where}): run `make setup` "
        "(it installs Debian's faketime and libfaketime) or `apt-get install libfaketime`, "
        f"or set {LIBRARY_ENV} to a libfaketime.so.1")


def offset_spec(seconds: float) -> str:
    """`seconds` as libfaketime's relative time ("+30.000000", "-1.500000")."""
    if isinstance(seconds, bool) or not math.isfinite(seconds) or abs(seconds) > MAX_OFFSET_S:
        raise ValueError(f"a clock offset is a number of seconds within ±{MAX_OFFSET_S:g}, "
                         f"got {seconds!r}")
    return f"{seconds:+.6f}"


class ServerClock:
    """The offset file one server process reads its wall clock through."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset_s = 0.0
        self._write(0.0)

    def environment(self) -> dict[str, str]:
        """What the server's environment needs for its clock to follow this file."""
        library = str(faketime_library())
        preload = os.environ.get("LD_PRELOAD", "")
        return {
            "LD_PRELOAD": f"{library} {preload}".strip(),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",  # each call reads the file: an offset holds at once
            # the event loop's timers run on the monotonic clock: leave it alone
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "DONT_FAKE_MONOTONIC": "1",  # the same, as libfaketime before 0.9.8 spelled it
            # Without this, libfaketime's pthread_cond_timedwait wrapper ("monotonic fix")
            # stalls CPython's GIL hand-offs between the event loop and the storage thread:
            # with 3 busy CPU hogs on 2 cores, 12 writers got 49 writes through in 25 s and
            # an admin read waited 17 s; with it, 14,023 writes and 0.8 s (a real server:
            # 15,516 and 0.9 s). Our monotonic clock is not faked, so the fix has nothing to do.
            "FAKETIME_FORCE_MONOTONIC_FIX": "0",
        }

    def set_offset(self, seconds: float) -> None:
        """From the server's next clock call on, its wall clock is `seconds` off the real one."""
        self._write(seconds)
        self.offset_s = float(seconds)

    def _write(self, seconds: float) -> None:
        replace_text(self.path, offset_spec(seconds) + "\n")  # never half a line


__all__ = ["LIBRARY_ENV", "FakeClockUnavailable", "ServerClock", "faketime_library",
           "offset_spec"]
