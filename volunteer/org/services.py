"""Where a grid may lie: its centre and boundary stay within its 村居, so that moving a grid
cannot capture the reports of another 村居's residents. The grid page and the town admin's
screen both ask ``centre_error`` and ``boundary_error``."""
from __future__ import annotations

import json
import math

from flask_babel import gettext as _

from volunteer.extensions import db
from volunteer.geo import EARTH_KM, haversine_km, in_polygon
from volunteer.org.models import Grid, Village

#: How far beyond the extent of its other grids (and its own centre) a grid of a 村居 may lie.
MARGIN_KM = 1.0
#: How far from the 村居's own centre (which only the town admin sets) any of its grids may lie,
#: so that grids cannot walk away one margin at a time.
REACH_KM = 3.0

Box = tuple[float, float, float, float]  # south, north, west, east


def rings(boundary: str | None) -> list[list[list[float]]] | None:
    """The outer rings ([lon, lat] points) of a GeoJSON Polygon or MultiPolygon (also inside a
    Feature); [] for no boundary; None when it is not such a shape."""
    if not boundary or not boundary.strip():
        return []
    try:
        geometry = json.loads(boundary)
        geometry = geometry.get("geometry", geometry)
        kind, coordinates = geometry["type"], geometry["coordinates"]
        if kind not in ("Polygon", "MultiPolygon"):
            return None
        polygons = coordinates if kind == "MultiPolygon" else [coordinates]
        out = [[[float(p[0]), float(p[1])] for p in polygon[0]] for polygon in polygons]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return None
    if not out or any(len(ring) < 4 for ring in out) or not all(
            -180 <= lon <= 180 and -90 <= lat <= 90 for ring in out for lon, lat in ring):
        return None
    return out


def _corners(lat: float | None, lon: float | None, boundary: str | None) -> list[tuple]:
    points = [(lat, lon)] if lat is not None and lon is not None else []
    for ring in rings(boundary) or []:
        points += [(p[1], p[0]) for p in ring]
    return points


def village_area(grid: Grid) -> Box | None:
    """The box a grid of its 村居 must lie in: the 村居's other grids (centres and boundaries)
    and its own centre, widened by ``MARGIN_KM``. A 村居's only grid is anchored where it lies
    now; None when nothing places the 村居 yet (its first grid)."""
    village: Village = grid.village
    with db.session.no_autoflush:  # the places as stored, not as being edited
        others = db.session.execute(
            db.select(Grid.lat, Grid.lon, Grid.boundary)
            .where(Grid.village_id == village.id, Grid.id != (grid.id or -1))).all()
        points = [p for row in others for p in _corners(*row)]
        points += _corners(village.lat, village.lon, None)
        if not others and grid.id is not None:
            stored = db.session.execute(
                db.select(Grid.lat, Grid.lon, Grid.boundary, Grid.village_id)
                .where(Grid.id == grid.id)).one_or_none()
            if stored is not None and stored.village_id == village.id:
                points += _corners(stored.lat, stored.lon, stored.boundary)
    if not points:
        return None
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    dlat = math.degrees(MARGIN_KM / EARTH_KM)
    dlon = dlat / max(math.cos(math.radians(max(abs(min(lats)), abs(max(lats))))), 1e-6)
    return min(lats) - dlat, max(lats) + dlat, min(lons) - dlon, max(lons) + dlon


def _beyond_reach(grid: Grid, points) -> bool:
    """Whether any (lat, lon) lies more than ``REACH_KM`` from the 村居's centre."""
    village = grid.village
    if village.lat is None or village.lon is None:
        return False
    return any(float(haversine_km(float(village.lat), float(village.lon), float(lat),
                                  float(lon))) > REACH_KM for lat, lon in points)


def _reach_message(grid: Grid) -> str:
    return _("Every grid of %(village)s lies within %(km)g km of its centre.",
             village=grid.village.name, km=REACH_KM)


def _inside(box: Box, lat: float, lon: float) -> bool:
    south, north, west, east = box
    return south <= lat <= north and west <= lon <= east


def _foreign_grid_at(grid: Grid, lat: float, lon: float) -> Grid | None:
    """A grid of another 村居 whose boundary holds the point."""
    for other in db.session.scalars(db.select(Grid).where(
            Grid.village_id != grid.village.id, Grid.id != (grid.id or -1),
            Grid.boundary.is_not(None))):
        if any(in_polygon(lat, lon, ring) for ring in rings(other.boundary) or []):
            return other
    return None


def centre_error(grid: Grid, lat: float, lon: float) -> str | None:
    """Why ``grid`` (its 村居 as chosen) may not have its centre at (lat, lon), or None."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return _("Latitude or longitude out of range.")
    area = village_area(grid)
    if area is not None and not _inside(area, lat, lon):
        return _("The centre must lie within %(village)s: at most %(km)g km beyond its other "
                 "grids.", village=grid.village.name, km=MARGIN_KM)
    if _beyond_reach(grid, [(lat, lon)]):
        return _reach_message(grid)
    with db.session.no_autoflush:
        foreign = _foreign_grid_at(grid, lat, lon)
    if foreign is not None:
        return _("The centre lies inside grid %(grid)s of %(village)s.", grid=foreign.code,
                 village=foreign.village.name)
    return None


def boundary_error(grid: Grid, boundary: str | None) -> str | None:
    """Why ``grid`` may not have this boundary (GeoJSON), or None."""
    shape = rings(boundary)
    if shape is None:
        return _("The boundary must be a GeoJSON Polygon or MultiPolygon.")
    area = village_area(grid)
    if area is not None and not all(_inside(area, p[1], p[0]) for ring in shape for p in ring):
        return _("The boundary must lie within %(village)s: at most %(km)g km beyond its other "
                 "grids.", village=grid.village.name, km=MARGIN_KM)
    if _beyond_reach(grid, [(p[1], p[0]) for ring in shape for p in ring]):
        return _reach_message(grid)
    return None
