"""The tasksync server: an ASGI app over SQLite, served by uvicorn."""

from tasksync.server.app import create_app
from tasksync.server.config import ServerConfig
from tasksync.server.main import serve

__all__ = ["ServerConfig", "create_app", "serve"]
