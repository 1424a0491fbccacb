"""BatchClient: push a batch of local changes and pull the repository's events in one call."""

from __future__ import annotations

from collections.abc import Sequence

from tasksync.client.base import BaseClient
from tasksync.models import Strategy, SyncItem, SyncRequest, SyncResponse


class BatchClient(BaseClient):
    """An async client for POST /api/v1/sync/batch, with the same retries as HTTPClient.

    A retried batch reuses its Idempotency-Key, and each item's change_id is applied at most
    once by the server, so retrying after a lost answer never applies a change twice.
    """

    async def batch_sync(
        self,
        repository: str,
        items: Sequence[SyncItem],
        cursor: int = 0,
        strategy: Strategy = "server_wins",
        client_id: str | None = None,
        *,
        pull_limit: int = 10_000,
        idempotency_key: str | None = None,
    ) -> SyncResponse:
        """Each item's result, the conflicts, and the events after `cursor` (new cursor too).

        `client_id` defaults to this client's id; it is what the server compares to decide
        that a client never conflicts with its own earlier writes. `idempotency_key`: the key
        to send instead of a fresh one (to retry this very batch later).
        """
        body = SyncRequest(
            repository=repository,
            client_id=client_id or self.client_id,
            items=list(items),
            cursor=cursor,
            strategy=strategy,
            pull_limit=pull_limit,
        )
        response = await self._send("batch_sync", "POST", "/sync/batch", body=body, write=True,
                                   idempotency_key=idempotency_key)
        return self._decode(response, SyncResponse)
