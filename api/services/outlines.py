"""Area outlines (辖区边界) for the coverage map: GeoJSON polygons, checked against RFC 7946 (ring rules
from the `geojson` package) and for validity with shapely, and read as rings of (longitude, latitude)
to draw. No ORM here: the admin app draws with it too."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import shapely
from geojson.geometry import check_polygon
from shapely.geometry import shape

from api.errors import DomainError
from schema.generator.text import TooDeep, strict_json

MAX_BYTES = 2_000_000  # a district outline, simplified for a map, is far smaller
# A FeatureCollection of MultiPolygons nests 8 deep (collection, features, feature, geometry,
# coordinates, polygon, ring, position); 8 more leave room for nested properties. The bound is checked
# before parsing because json recurses per level: 5,000 levels raise RecursionError, not a refusal.
MAX_DEPTH = 16
POLYGONS = ("Polygon", "MultiPolygon")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", *POLYGONS, "GeometryCollection")
REASON = re.compile(r"(.+)\[(\S+) (\S+)(?: \S+)?\]")  # GEOS: "Self-intersection[0.5 0.5]"
Rings = list[list[tuple[float, float]]]


def outline_rings(text: str) -> Rings:
    """The rings of a GeoJSON Polygon or MultiPolygon (bare, as a Feature or in a FeatureCollection).

    Raises ValueError saying what is wrong and where: not JSON, nested too deep, not GeoJSON, no
    polygon, an invalid ring (fewer than 4 positions, not closed, crossing itself, a hole outside its
    shell) or a position that is not numbers on the globe.
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"the outline is over {MAX_BYTES // 1_000_000} MB: simplify it first")
    try:
        # not geojson.loads: its object hook raises TypeError on a member of the wrong type
        data = strict_json(text, MAX_DEPTH)
    except TooDeep as error:
        raise ValueError(f"the outline {error}") from None
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    rings: Rings = []
    for feature, geometry in _geometries(data):
        rings += _geometry_rings(feature, geometry)
    if not rings:
        raise ValueError("the outline has no ring: give the polygon's coordinates")
    return rings


def _geometries(data) -> list[tuple[int | None, object]]:
    """Each geometry with the number of its feature (None when the outline is not a collection)."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise ValueError("the FeatureCollection's features are not an array")
        if not features:
            raise ValueError("the FeatureCollection has no features")
        return [(number, _feature_geometry(number, f)) for number, f in enumerate(features, 1)]
    if kind == "Feature":
        return [(None, _feature_geometry(None, data))]
    if kind in GEOMETRIES:
        return [(None, data)]
    raise ValueError("not GeoJSON: give a Polygon, MultiPolygon, Feature or FeatureCollection")


def _feature_geometry(feature: int | None, data) -> object:
    where = _where(feature)
    if not isinstance(data, dict) or data.get("type") != "Feature":
        raise ValueError(f"{where} is not a Feature object")
    if not isinstance(data.get("properties", {}), dict | None):
        raise ValueError(f"the properties of {where} are not an object")
    if data.get("geometry") is None:
        raise ValueError(f"{where} is a feature without geometry, not a polygon")
    return data["geometry"]


def _geometry_rings(feature: int | None, geometry) -> Rings:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in GEOMETRIES:
        raise ValueError(f"the geometry of {_where(feature)} is not a GeoJSON geometry")
    if kind not in POLYGONS:
        raise ValueError(f"{_where(feature)} is a {kind}, not a polygon")
    coordinates = geometry.get("coordinates")
    polygons = coordinates if kind == "MultiPolygon" else [coordinates]
    if not isinstance(polygons, list):
        raise ValueError("invalid GeoJSON: a MultiPolygon's coordinates must be a list of polygons")
    label = "" if feature is None else f"{_where(feature)}, "
    shapes, rings = [], []
    for number, polygon in enumerate(polygons, 1):
        polygon_rings = _polygon_rings(polygon)
        if polygon_rings:
            shapes.append(shape({"type": "Polygon", "coordinates": polygon_rings}))
            _valid(f"{label}polygon {number}", shapes[-1])
        rings += polygon_rings
    if len(shapes) > 1:  # valid parts may still overlap
        _valid(f"{label}the MultiPolygon", shapely.MultiPolygon(shapes))
    return rings


def _polygon_rings(polygon) -> Rings:
    problem = check_polygon(polygon)  # rings of arrays, at least 4 positions, closed
    if problem:
        raise ValueError(f"invalid GeoJSON: {problem}")
    return [[_position(position) for position in ring] for ring in polygon]


def _position(position) -> tuple[float, float]:
    numbers = position if isinstance(position, list) else []
    if len(numbers) not in (2, 3) or not all(_is_number(n) for n in numbers):
        raise ValueError(f"position {_shown(position)} is not a longitude and a latitude")
    longitude, latitude, *_ = [_finite(position, n) for n in numbers]  # an altitude must be finite too
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValueError(f"position {longitude}, {latitude} is not a longitude/latitude")
    return longitude, latitude


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # JSON true is not 1


def _finite(position: list, number: int | float) -> float:
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):  # 1e400 parses as inf
        raise ValueError(f"position {_shown(position)} has a number too large to be a coordinate")
    return value


def _shown(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _valid(label: str, geometry) -> None:
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        found = REASON.fullmatch(reason)
        where = f" at or near ({found[2]}, {found[3]})" if found else ""
        raise ValueError(f"{label}: {found[1] if found else reason}{where}")


def _where(feature: int | None) -> str:
    return "the outline" if feature is None else f"feature {feature}"


async def outline_written(outline, before: dict[str, Any] | None) -> None:
    """After a generated create or update of an AreaOutline: its GeoJSON must be a polygon outline."""
    try:
        outline_rings(outline.geojson)
    except ValueError as error:
        raise DomainError("VALIDATION_FAILED", str(error), field="geojson") from None
