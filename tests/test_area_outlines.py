"""Area outlines (辖区边界) over /graphql: an administrator stores a district's GeoJSON outline once for
everyone in the area; anything but longitude/latitude polygons is refused with what is wrong."""

from __future__ import annotations

import json

import pytest

from api.services.outlines import outline_rings
from tests.test_graphql_mutations import org_id

SQUARE = [[112.5, 30.8], [112.7, 30.8], [112.7, 31.0], [112.5, 31.0], [112.5, 30.8]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
CREATE = """mutation($input: CreateAreaOutlineInput!) {
  createAreaOutline(input: $input) { id name organization { code } } }"""
LIST = "{ areaOutlines { totalCount nodes { name geojson organization { code } } } }"


def feature_collection(*geometries: dict) -> str:
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]
    return json.dumps({"type": "FeatureCollection", "features": features})


def test_rings_come_from_polygons_multipolygons_features_and_collections():
    assert outline_rings(json.dumps(POLYGON)) == [[tuple(p) for p in SQUARE]]
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE]]}
    assert len(outline_rings(feature_collection(POLYGON, multi))) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<svg/>", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ('{"type": "Circle"}', "not GeoJSON: give a Polygon, MultiPolygon, Feature or FeatureCollection"),
        (
            json.dumps({"type": "Point", "coordinates": [112.6, 30.9]}),
            "the outline is a Point, not a polygon",
        ),
        (
            feature_collection(POLYGON, {"type": "LineString", "coordinates": SQUARE}),
            "feature 2 is a LineString, not a polygon",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [SQUARE[:-1]]}),
            "invalid GeoJSON: Each linear ring must end where it started",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[p[1], p[0] * 2] for p in SQUARE]]}),
            "position 30.8, 225.0 is not a longitude/latitude",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[1], [2], [3], [1]]]}),
            "position [1] is not a longitude and a latitude",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": []}),
            "the outline has no ring: give the polygon's coordinates",
        ),
        (feature_collection(), "the FeatureCollection has no features"),
    ],
)
def test_what_is_not_an_outline_is_named(text, message):
    with pytest.raises(ValueError) as raised:
        outline_rings(text)
    assert str(raised.value) == message


async def test_an_administrator_stores_the_district_outline_for_the_area(writable):
    api, url = writable
    district = await org_id(url, "QJL")
    data = {"organizationId": district, "name": "qujialing.geojson", "geojson": feature_collection(POLYGON)}
    created = (await api.data(CREATE, {"input": data}))["createAreaOutline"]
    assert created["organization"] == {"code": "QJL"}
    supervisor = await api.sign_in("supervisor")
    seen = (await supervisor.data(LIST))["areaOutlines"]
    assert seen["totalCount"] == 1 and outline_rings(seen["nodes"][0]["geojson"]) == [
        [tuple(p) for p in SQUARE]
    ]
    for username in ("hall_clerk", "agent"):  # staff below the district see its outline too
        below = await api.sign_in(username)
        assert (await below.data(LIST))["areaOutlines"]["totalCount"] == 1
    error = await api.error(CREATE, {"input": data})  # one outline per organization: update it
    assert error["extensions"] == {"code": "CONFLICT", "field": "organization"}
    error = await supervisor.error(CREATE, {"input": {**data, "organizationId": await org_id(url, "QJL-H1")}})
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_outline_is_refused_and_nothing_is_stored(writable):
    api, url = writable
    data = {
        "organizationId": await org_id(url, "QJL"),
        "geojson": json.dumps({"type": "Point", "coordinates": [1, 2]}),
    }
    error = await api.error(CREATE, {"input": data})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "geojson"}
    assert error["message"] == "the outline is a Point, not a polygon"
    assert (await api.data(LIST))["areaOutlines"]["totalCount"] == 0
