"""A TCP proxy for tests that loses answers: the server applied the request, the client
never hears so (what a retry with the same Idempotency-Key is for)."""

from __future__ import annotations

import asyncio
import socket
import struct


class AnswerDroppingProxy:
    """Forwards each connection to the server, but resets the first `drops` after the answer.

    The server has applied the request; the client never sees the answer. The proxy serves
    one request per connection, which suffices: after a reset the client reconnects.
    """

    def __init__(self, upstream_port: int, drops: int) -> None:
        self.upstream_port = upstream_port
        self.drops = drops
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            up_writer.write(head + body)
            await up_writer.drain()
            answer = await up_reader.read(65536)  # the answer's first bytes: it was applied
            if self.drops > 0:
                self.drops -= 1
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            writer.write(answer)
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
            await writer.drain()
        finally:
            up_writer.close()
            writer.close()
