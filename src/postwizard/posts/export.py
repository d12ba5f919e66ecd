"""Posts as CSV, in the columns the importer reads (so an export can be imported again)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from postwizard.posts.csv_import import COLUMNS, LIST_SEPARATOR
from postwizard.posts.repository import PostParts

EXPORT_COLUMNS = ("id", "status", *COLUMNS)


def posts_csv(parts: Sequence[PostParts]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for item in parts:
        post = item.post
        writer.writerow(
            {
                "id": str(post.id),
                "status": post.status.value,
                "text": post.text,
                "accounts": LIST_SEPARATOR.join(
                    f"{a.network.value}:{a.handle}" for _, a in item.targets
                ),
                "time": post.scheduled_at.isoformat() if post.scheduled_at else "",
                "timezone": post.schedule_timezone or "",
                "media": LIST_SEPARATOR.join(str(m) for m in item.media_ids),
                "labels": LIST_SEPARATOR.join(post.labels),
                "campaign": post.campaign or "",
                "link": post.link or "",
            }
        )
    return out.getvalue()
