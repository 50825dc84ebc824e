"""Lark/Feishu tools for AI agents over stateless MCP Streamable HTTP.

Layout: `server.py` builds the MCP server from the area modules (`im`, `docs`, `calendar`,
`contact`); `lark_client.py` owns everything about talking to Lark (auth, retries, errors);
`formatting.py` turns Lark's answers into compact results for an agent.
"""

__version__ = "0.1.0"
