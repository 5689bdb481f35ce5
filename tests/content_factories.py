"""Factories for stories and offers, through the content service."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from app.content import service
from app.content.media import check_image, media_dir, store_image
from app.content.service import ItemInput
from app.core.files import StagedFiles


async def make_item(
    kind: str = "story",
    title: str = "A story",
    *,
    body: str = "Some **text**.",
    published: datetime | bool | None = True,
    teams: list[int] | None = None,
    sites: list[int] | None = None,
    pinned: bool = False,
    tags: list[str] | None = None,
    image: str | None = None,
    language: str = "en",
    **offer: Any,
) -> int:
    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "language": language,
        "tags": service.tags_column(tags or []),
        "captions": '{"linkedin": ["Proud of this one #team"]}',
        "audience_all": not (teams or sites),
        "pinned": pinned,
    }
    if kind == "offer":
        values |= {"contract": "permanent", "remote": "hybrid", "offer_status": "open", **offer}
    item_id = await service.save_item(
        None, ItemInput(values=values, teams=teams or [], sites=sites or []), None, image=image
    )
    if published is True:
        await service.publish(item_id, service.now() - timedelta(minutes=1))
    elif isinstance(published, datetime):
        await service.publish(item_id, published)
    return item_id


def jpeg_bytes(width: int = 800, height: int = 450, colour: str = "#4338ca") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def stored_image(data_dir: Path, content: bytes | None = None, filename: str = "photo.jpg") -> str:
    """An uploaded image stored under its final names, as after its row committed; its key."""
    files = StagedFiles(media_dir(data_dir))
    key = store_image(check_image(content or jpeg_bytes(), filename), files).key
    files.publish_blocking()
    return key
