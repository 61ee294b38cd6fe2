"""Input rules: each takes the value and returns a translated message, or ``None`` when it passes.

WTForms validators (``volunteer.validators``), pydantic validators of the API, click callbacks of
the CLI, the admin screens and the importer all wrap these functions, so that a name, a password,
a phone or a piece of free text is judged the same way wherever it comes in.
"""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from volunteer.common import has_markup, is_phone

NAME_MAX = 50
PASSWORD_MIN = 8
PASSWORD_MAX = 128
# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_NAME_OK = re.compile(r"^[^\W\d_](?:[^\W\d_]|[·•．.\-' ])*$", re.UNICODE)


def _bad_char(c: str, multiline: bool) -> bool:
    """Control characters (but line breaks and tabs in multi-line text), format characters
    such as U+202E that reorder what is shown, and unassigned or private code points."""
    cat = unicodedata.category(c)
    if cat == "Cc":
        return not (multiline and c in "\r\n\t")
    return cat in ("Cf", "Co", "Cn", "Cs", "Zl", "Zp")


def text(value: str | None, *, max_len: int | None = None, multiline: bool = False):
    """Free text (a title, a description, a note): no HTML tags, no control or direction
    characters, and on one line unless ``multiline``."""
    value = value or ""
    if max_len is not None and len(value) > max_len:
        return _l("Please use at most %(n)d characters.", n=max_len)
    if has_markup(value):
        return _l("Please remove the HTML tags (text in < >).")
    if any(_bad_char(c, multiline) for c in value):
        return _l("This text contains invalid control characters.")
    return None


def name(value: str | None):
    """A person's name: up to 50 characters, any script; letters with · - ' and spaces between
    (so it never starts with a formula character, a digit or a control character)."""
    value = value or ""
    if not value.strip():
        return _l("Please enter a name.")
    if len(value) > NAME_MAX:
        return _l("A name can have at most 50 characters.")
    if has_markup(value) or not _NAME_OK.match(value) or any(_bad_char(c, False) for c in value):
        return _l("A name may contain only letters, spaces and · - '.")
    return None


def password(value: str | None):
    """At least 8 characters with letters and digits; at most 128."""
    value = value or ""
    if not (PASSWORD_MIN <= len(value) <= PASSWORD_MAX) \
            or not (re.search(r"[A-Za-z]", value) and re.search(r"\d", value)):
        return password_message()
    return None


def password_message():
    return _l("Use 8 to 128 characters with at least one letter and one digit.")


def phone(value: str | None):
    """An 11-digit mainland mobile number (already normalised)."""
    if not is_phone(value or ""):
        return _l("Please enter an 11-digit mobile number starting with 13–19.")
    return None


def one_line(value: str | None) -> str:
    """A value made safe for a mail header or a log line: line breaks (whatever
    ``str.splitlines`` breaks at) become spaces."""
    return re.sub(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+", " ", value or "")


#: Kinds of identity document a volunteer record may carry (MCA Order No. 67), in the order a
#: form offers them.
ID_TYPES = ("id_card", "passport", "hk_mo_permit", "tw_permit", "other")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number(kind: str | None, value: str | None):
    """An identity document number of ``kind``: a mainland ID card has 18 characters with a
    valid check character (GB 11643); other documents 5–30 letters and digits."""
    value = (value or "").strip().upper()
    if kind not in ID_TYPES:
        return _l("Please choose the kind of document.")
    if kind == "id_card":
        if not re.fullmatch(r"\d{17}[\dX]", value) or _ID_CHECK[sum(
                int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11] \
                != value[17]:
            return _l("A mainland ID card number has 18 characters and a valid last one.")
        return None
    if not re.fullmatch(r"[A-Z0-9]{5,30}", value):
        return _l("Use 5 to 30 letters and digits.")
    return None


def volunteer_number(value: str | None):
    """The national volunteer number (志愿者统一编号): 6–30 letters and digits."""
    if not re.fullmatch(r"[A-Za-z0-9]{6,30}", (value or "").strip()):
        return _l("A volunteer number has 6 to 30 letters and digits.")
    return None
