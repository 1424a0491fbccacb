"""tasksync over the Model Context Protocol: the tasks API as MCP tools (tools.py), served at
/mcp on the server's port (endpoint.py) and by `tasksync mcp` on stdio (stdio.py)."""
