"""Clients placed beyond the study's own process: WebSocket subscribers in Ray actors
(N actors x M subscribers), their deliveries merged into one record, each actor's wall clock
measured against the study's.

    clock_offset   NTP-style offset of another process's clock
    subscribers    a group of subscribers in one event loop (one process, or one actor)
    fleet          subscribers in this process or spread over Ray actors
"""

from syncbench.distributed.clock_offset import ClockOffset, measure_offset
from syncbench.distributed.fleet import SubscriberFleet
from syncbench.distributed.subscribers import SubscriberGroup

__all__ = ["ClockOffset", "SubscriberFleet", "SubscriberGroup", "measure_offset"]
