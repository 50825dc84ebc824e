"""The user gateway, stood in on loopback, as AgentCore Gateway behaves for an MCP client.

`python -m local_gateway` serves it alone; `python -m local_gateway.chain` (`make local
USER_AUTH=1`) starts the whole sign-in chain around it. See docs/development.md.
"""

from .app import LocalGateway
from .authorizer import JwtAuthorizer, Refused

__all__ = ["JwtAuthorizer", "LocalGateway", "Refused"]
