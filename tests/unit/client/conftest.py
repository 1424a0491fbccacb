"""Fixtures of the client tests: the real local servers defined in servers.py."""

from .servers import closed_port_url, http_server, raw_server, ws_server

__all__ = ["closed_port_url", "http_server", "raw_server", "ws_server"]
