"""Clients placed beyond the study's own process: WebSocket subscribers in Ray actors
(N actors x M subscribers), their deliveries merged into one record, each actor's wall clock
measured against the study's.

    clock_offset   NTP-style offset of another process's clock
    subscribers    a group of subscribers in one event loop (one process, or one actor)
    http_clients   polling HTTP clients in one event loop
    fleet          either kind, in this process or spread over Ray actors
"""

from syncbench.distributed.clock_offset import ClockOffset, measure_offset
from syncbench.distributed.fleet import HttpFleet, SubscriberFleet
from syncbench.distributed.http_clients import HttpClientGroup
from syncbench.distributed.subscribers import SubscriberGroup

__all__ = ["ClockOffset", "HttpClientGroup", "HttpFleet", "SubscriberFleet", "SubscriberGroup",
           "measure_offset"]
