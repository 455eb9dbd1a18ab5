"""Area outlines (辖区边界) for the coverage map: GeoJSON polygons, checked with the `geojson` package
and read as rings of (longitude, latitude) to draw. No ORM here: the admin app draws with it too."""

from __future__ import annotations

import geojson

from api.errors import DomainError

MAX_BYTES = 2_000_000  # a district outline, simplified for a map, is far smaller
POLYGONS = ("Polygon", "MultiPolygon")


def outline_rings(text: str) -> list[list[tuple[float, float]]]:
    """The rings of a GeoJSON Polygon or MultiPolygon (bare, as a Feature or in a FeatureCollection).

    Raises ValueError saying what is wrong: not JSON, not GeoJSON, no polygon, an invalid ring
    (fewer than 4 positions, not closed) or a position off the globe.
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"the outline is over {MAX_BYTES // 1_000_000} MB: simplify it first")
    try:
        data = geojson.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(data, geojson.base.GeoJSON):
        raise ValueError("not GeoJSON: give a Polygon, MultiPolygon, Feature or FeatureCollection")
    if not data.is_valid:
        problems = data.errors()
        raise ValueError(f"invalid GeoJSON: {problems if isinstance(problems, str) else problems[0]}")
    geometries = [feature.get("geometry") for feature in data.get("features", [])] or [
        data.get("geometry", data)
    ]
    if "features" in data and not data["features"]:
        raise ValueError("the FeatureCollection has no features")
    rings: list[list[tuple[float, float]]] = []
    for index, geometry in enumerate(geometries):
        kind = (geometry or {}).get("type")
        if kind not in POLYGONS:
            where = f"feature {index + 1}" if "features" in data else "the outline"
            raise ValueError(f"{where} is a {kind or 'feature without geometry'}, not a polygon")
        polygons = geometry["coordinates"] if kind == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                rings.append([_position(p) for p in ring])
    if not rings:
        raise ValueError("the outline has no ring: give the polygon's coordinates")
    return rings


def _position(position) -> tuple[float, float]:
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise ValueError(f"position {position} is not a longitude and a latitude")
    longitude, latitude = float(position[0]), float(position[1])
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValueError(f"position {longitude}, {latitude} is not a longitude/latitude")
    return longitude, latitude


async def outline_written(outline, created: bool) -> None:
    """After a generated create or update of an AreaOutline: its GeoJSON must be a polygon outline."""
    try:
        outline_rings(outline.geojson)
    except ValueError as error:
        raise DomainError("VALIDATION_FAILED", str(error), field="geojson") from None
