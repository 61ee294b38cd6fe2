"""Photos of issues: checked by content, stored in the instance folder in two forms.

The file as uploaded is kept for staff, who may need the position in its EXIF data. Everyone
else sees a re-encoded copy (turned upright, at most 1,600 px, JPEG) that carries no metadata
at all. Services never commit; ``PhotoBatch`` writes files only after every photo passed and
removes them again if the database refuses the rows.
"""
from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from volunteer.config import upload_folder
from volunteer.errors import DomainError
from volunteer.extensions import db
from volunteer.issues.models import IssuePhoto

MAX_PHOTOS = 3  # per upload
MAX_PER_ISSUE = 6
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; a 20,000 × 20,000 "image" is refused
MAX_SIDE = 12_000
WEB_SIDE = 1600
# Recognised by their first bytes, then decoded; never by file name or the browser's header.
TYPES = [(b"\xff\xd8\xff", "image/jpeg", "JPEG", "jpg"),
         (b"\x89PNG\r\n\x1a\n", "image/png", "PNG", "png")]


class PhotoError(DomainError):
    """A photo that cannot be taken; ``code`` says why, ``name`` which file (the form's
    ``photos`` field is at fault)."""

    messages = {
        "too_large": _l("%(name)s is larger than 5 MB."),
        "bad_type": _l("%(name)s is not a JPEG or PNG photo."),
        "unreadable": _l("%(name)s cannot be read as a photo; the file may be damaged."),
        "too_many_pixels": _l("%(name)s has too many pixels (at most 50 megapixels, 12,000 px "
                              "a side)."),
        "too_many": _l("Please choose at most 3 photos at a time."),
        "too_many_for_issue": _l("An issue can have at most 6 photos."),
    }
    statuses = dict.fromkeys(messages, 422)
    defaults = {"name": _l("The photo")}

    def __init__(self, code: str, name: str = ""):
        super().__init__(code, "photos", {"name": name})

    @property
    def name(self) -> str:
        return self.params.get("name", "")


@dataclass
class CheckedPhoto:
    """An upload that passed every check, ready to be written."""

    original: bytes
    web: bytes
    mime: str
    ext: str
    width: int
    height: int


def check_photo(data: bytes, name: str = "") -> CheckedPhoto:
    """Check one upload by content, size and pixel count; make its metadata-free copy."""
    if len(data) > MAX_BYTES:
        raise PhotoError("too_large", name)
    kind = next((k for k in TYPES if data.startswith(k[0])), None)
    if kind is None:
        raise PhotoError("bad_type", name)
    _magic, mime, fmt, ext = kind
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            if img.format != fmt:
                raise PhotoError("bad_type", name)
            width, height = img.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise PhotoError("too_many_pixels", name)
            if fmt == "JPEG":
                img.draft("RGB", (WEB_SIDE, WEB_SIDE))  # decode at a reduced scale: fast, small
            img.load()  # decodes: truncated or forged files fail here
            web = _web_copy(img)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_many_pixels", name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError("unreadable", name) from None
    return CheckedPhoto(original=data, web=web, mime=mime, ext=ext, width=width, height=height)


def _web_copy(img: Image.Image) -> bytes:
    """Upright, at most WEB_SIDE px, JPEG, with no EXIF, XMP or ICC data."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")
    img.thumbnail((WEB_SIDE, WEB_SIDE))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, optimize=True)  # no exif= argument: nothing is copied
    return out.getvalue()


def read_uploads(files) -> list[CheckedPhoto]:
    """Check a form's file uploads (empty ones ignored); at most MAX_PHOTOS."""
    uploads = [f for f in files if f and f.filename]
    if len(uploads) > MAX_PHOTOS:
        raise PhotoError("too_many")
    return [check_photo(f.stream.read(MAX_BYTES + 1), f.filename) for f in uploads]


def folder() -> Path:
    return upload_folder("issue_photos")


def original_path(photo: IssuePhoto) -> Path:
    ext = "png" if photo.mime == "image/png" else "jpg"
    return folder() / f"{photo.token}.{ext}"


def web_path(photo: IssuePhoto) -> Path:
    return folder() / f"{photo.token}-web.jpg"


@dataclass
class PhotoBatch:
    """Files written for rows not yet committed: they go again when the session rolls back
    (or on ``discard()``)."""

    written: list[Path] = field(default_factory=list)

    def add(self, issue, photos: list[CheckedPhoto], uploader) -> list[IssuePhoto]:
        """Attach checked photos to ``issue`` and write their files."""
        if len(issue.photos) + len(photos) > MAX_PER_ISSUE:
            raise PhotoError("too_many_for_issue")
        rows = []
        for p in photos:
            row = IssuePhoto(token=secrets.token_hex(16), mime=p.mime, width=p.width,
                             height=p.height, size_bytes=len(p.original),
                             uploaded_by_id=uploader.id if uploader else None)
            issue.photos.append(row)
            for path, data in ((original_path(row), p.original), (web_path(row), p.web)):
                path.write_bytes(data)
                self.written.append(path)
                db.session.info.setdefault(_WRITTEN, []).append(path)
            rows.append(row)
        return rows

    def discard(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()


def delete_photo(photo: IssuePhoto) -> None:
    """Delete a photo's row; its files go when the session commits (and stay on rollback)."""
    db.session.info.setdefault(_DOOMED, []).extend([original_path(photo), web_path(photo)])
    db.session.delete(photo)


_DOOMED = "issue_photo_files_to_delete"
_WRITTEN = "issue_photo_files_written"


@sa.event.listens_for(Session, "after_commit")
def _delete_files_after_commit(session) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DOOMED, []):
        path.unlink(missing_ok=True)


@sa.event.listens_for(Session, "after_soft_rollback")
def _keep_files_after_rollback(session, previous_transaction) -> None:
    session.info.pop(_DOOMED, None)
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)
