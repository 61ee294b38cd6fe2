"""Links that open a phone's map app at a task's place: a ``geo:`` URI (WGS-84, any app) and the
AMap and Baidu web links, which take GCJ-02 ("Mars") coordinates."""
from __future__ import annotations

import math
from urllib.parse import quote, urlencode

_A, _EE = 6378245.0, 0.00669342162296594323


def _out_of_china(lat: float, lon: float) -> bool:
    return lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271


def _t_lat(x: float, y: float) -> float:
    r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    r += (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
    r += (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    return r


def _t_lon(x: float, y: float) -> float:
    r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    r += (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
    r += (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3
    return r


def wgs_to_gcj(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02, the published transform (the same as static/js/map.js)."""
    if _out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _t_lat(lon - 105, lat - 35), _t_lon(lon - 105, lat - 35)
    rad = lat / 180 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    d_lat = (d_lat * 180) / ((_A * (1 - _EE)) / (magic * sq) * math.pi)
    d_lon = (d_lon * 180) / (_A / sq * math.cos(rad) * math.pi)
    return lat + d_lat, lon + d_lon


def links(lat: float, lon: float, name: str) -> dict[str, str]:
    """``geo``, ``amap`` and ``baidu`` links to (lat, lon), stored in WGS-84, labelled ``name``."""
    g_lat, g_lon = wgs_to_gcj(lat, lon)
    return {
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
        "amap": "https://uri.amap.com/marker?" + urlencode(
            {"position": f"{g_lon:.6f},{g_lat:.6f}", "name": name, "coordinate": "gaode",
             "callnative": 1}),
        "baidu": "https://api.map.baidu.com/marker?" + urlencode(
            {"location": f"{g_lat:.6f},{g_lon:.6f}", "title": name, "content": name,
             "coord_type": "gcj02", "output": "html", "src": "grid-volunteers"}),
    }
