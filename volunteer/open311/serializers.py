"""GeoReport v2 answers in JSON or XML, built from one structure: a dict is an object (an element
with children), ``Items`` a list (a JSON array, repeated XML elements), anything else a value.

XML comes from the standard library's ElementTree, which escapes text; characters that XML 1.0
cannot carry at all are dropped from both formats, so no field can break a document."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response

from volunteer.common import to_local

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Items:
    """A list whose XML elements are each named ``tag`` (JSON: a plain array)."""

    tag: str
    values: list[Any] = field(default_factory=list)


def w3c(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as a W3C datetime with its zone, in Asia/Shanghai."""
    local = to_local(value)
    return local.isoformat(timespec="seconds") if local is not None else None


def clean(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (NUL, most control characters)."""
    return _NOT_XML.sub("", text)


def plain(value: Any) -> Any:
    """The JSON form of a structure (lazy strings become text)."""
    if isinstance(value, Items):
        return [plain(v) for v in value.values]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clean(str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Items):
        for v in value.values:
            _fill(ET.SubElement(element, value.tag), v)
    elif isinstance(value, dict):
        for key, v in value.items():
            _fill(ET.SubElement(element, key), v)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = clean(str(value))


def to_xml(root: str, body: Any) -> str:
    """The XML document of ``body`` under the element ``root``."""
    element = ET.Element(root)
    _fill(element, body)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode")


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    """``body`` as a response in ``fmt`` ("json" or "xml"); ``root`` names the XML root."""
    if fmt == "json":
        text = json.dumps(plain(body), ensure_ascii=False, separators=(",", ":"))
    else:
        text = to_xml(root, body)
    return Response(text, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, *descriptions: str) -> Response:
    """The specification's error list: ``[{"code", "description"}]`` / ``<errors><error>``."""
    return render(fmt, "errors", Items("error", [{"code": status, "description": d}
                                                 for d in descriptions]), status)
