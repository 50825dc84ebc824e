"""An HTTP-level fake of the Lark/Feishu OpenAPI, for testing the MCP server over loopback.

with run_fake_lark() as lark:
    os.environ["LARK_DOMAIN"] = lark.base_url   # app id/secret: lark.app_id / lark.app_secret
    ...
    assert lark.writes("message")[0]["chat_id"] == "oc_engineering"
"""

from .errors import LarkError
from .fake import FakeLark, RecordedRequest
from .runner import run_fake_lark

__all__ = ["FakeLark", "LarkError", "RecordedRequest", "run_fake_lark"]
