"""Drive: what is in a folder (the app's root folder by default)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .formatting import PageToken, iso_from_unix, page, page_size_arg
from .lark_client import LarkCall
from .paths import FOLDER_TOKEN, split_url
from .registry import ToolSet

TOOLS = ToolSet()


def parse_folder(value: str | None) -> str | None:
    """A folder token, or the token at the end of a .../drive/folder/<token> URL."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if "/" in text:
        parts = [p for p in split_url("folder_token", text).path.split("/") if p]
        if not parts:
            return None
        text = parts[-1]
    return FOLDER_TOKEN.check("folder_token", text)


@TOOLS.tool(
    title="List drive files",
    description="List the files and folders in a Drive folder, most recently edited first.",
    read_only=True,
)
async def list_drive_files(
    lark: LarkCall,
    folder_token: Annotated[
        str | None,
        Field(description="Folder token or URL (.../drive/folder/<token>); default: app's root."),
    ] = None,
    page_size: page_size_arg(50, 200) = 50,
    page_token: PageToken = None,
) -> dict[str, Any]:
    folder = parse_folder(folder_token)
    data = await lark.get(
        "/open-apis/drive/v1/files",
        params={
            "folder_token": folder,
            "order_by": "EditedTime",
            "direction": "DESC",
            "page_size": page_size,
            "page_token": page_token,
        },
    )
    files = [
        {
            "token": item.get("token"),
            "name": item.get("name"),
            "type": item.get("type"),
            "url": item.get("url"),
            "modified": iso_from_unix(item.get("modified_time")),
        }
        for item in data.get("files") or []
    ]
    # Drive names its cursor next_page_token; the tool answers page_token like every list.
    return page({"folder_token": folder, "files": files}, data, cursor="next_page_token")
