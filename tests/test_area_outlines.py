"""Area outlines (辖区边界) over /graphql: an administrator stores a district's GeoJSON outline once for
everyone in the area; anything but longitude/latitude polygons is refused with what is wrong."""

from __future__ import annotations

import json

import pytest

from api.services.outlines import MAX_DEPTH, outline_rings
from tests.test_graphql_mutations import org_id

SQUARE = [[112.5, 30.8], [112.7, 30.8], [112.7, 31.0], [112.5, 31.0], [112.5, 30.8]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
EAST = [[x + 1, y] for x, y in SQUARE]  # beside SQUARE
CREATE = """mutation($input: CreateAreaOutlineInput!) {
  createAreaOutline(input: $input) { id name organization { code } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateAreaOutlineInput!) {
  updateAreaOutline(id: $id, input: $input) { id } }"""
LIST = "{ areaOutlines { totalCount nodes { name geojson organization { code } } } }"
BOOLEANS = {"type": "Polygon", "coordinates": [[[True, False], [True, True], [False, True], [True, False]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
TOO_DEEP = '{"type": "Polygon", "coordinates": ' + "[" * 5000 + "]" * 5000 + "}"
HUGE = "1" + "0" * 400  # an int too large for a float


def feature_collection(*geometries: dict) -> str:
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]
    return json.dumps({"type": "FeatureCollection", "features": features})


def test_rings_come_from_polygons_multipolygons_features_and_collections():
    assert outline_rings(json.dumps(POLYGON)) == [[tuple(p) for p in SQUARE]]
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE], [EAST]]}
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
        (
            json.dumps(BOOLEANS),
            "position [true, false] is not a longitude and a latitude",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[*p, 0, 0] for p in SQUARE]]}),
            "position [112.5, 30.8, 0, 0] is not a longitude and a latitude",
        ),
        (
            json.dumps(
                {"type": "Polygon", "coordinates": [[["112.5", "30.8"], *SQUARE[1:-1], ["112.5", "30.8"]]]}
            ),
            'position ["112.5", "30.8"] is not a longitude and a latitude',
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": "x"}),
            "invalid GeoJSON: Each polygon must be a list of linear rings",
        ),
        (
            json.dumps({"type": "MultiPolygon", "coordinates": 5}),
            "invalid GeoJSON: a MultiPolygon's coordinates must be a list of polygons",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[1e400, 0], [1, 0], [1, 1], [1e400, 0]]]}',
            "position [Infinity, 0] has a number too large to be a coordinate",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[1, 0, 1e400], [1, 1], [0, 1], [1, 0, 1e400]]]}',
            "position [1, 0, Infinity] has a number too large to be a coordinate",
        ),
        (
            f'{{"type": "Polygon", "coordinates": [[[{HUGE}, 0], [1, 0], [1, 1], [{HUGE}, 0]]]}}',
            f"position [{HUGE[:56]}... has a number too large to be a coordinate",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[NaN, 0], [1, 0], [1, 1], [NaN, 0]]]}',
            "not JSON: NaN is not a JSON number",
        ),
        (json.dumps(BOW_TIE), "polygon 1: Self-intersection at or near (0.5, 0.5)"),
        (
            feature_collection(POLYGON, BOW_TIE),
            "feature 2, polygon 1: Self-intersection at or near (0.5, 0.5)",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [SQUARE, [[0, 0], [1, 0], [1, 1], [0, 0]]]}),
            "polygon 1: Hole lies outside shell at or near (0, 0)",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}),
            "polygon 1: Self-intersection at or near (1, 0)",
        ),
        (
            json.dumps(
                {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[x + 0.1, y] for x, y in SQUARE]]]}
            ),
            "the MultiPolygon: Self-intersection at or near (112.6, 31)",
        ),
        (TOO_DEEP, f"the outline nests arrays and objects more than {MAX_DEPTH} deep"),
        ('{"type": "FeatureCollection", "features": 5}', "the FeatureCollection's features are not an array"),
        ('{"type": "FeatureCollection"}', "the FeatureCollection's features are not an array"),
        ('{"type": "FeatureCollection", "features": ["x"]}', "feature 1 is not a Feature object"),
        ('{"type": "FeatureCollection", "features": [null]}', "feature 1 is not a Feature object"),
        (
            json.dumps({"type": "FeatureCollection", "features": [POLYGON]}),
            "feature 1 is not a Feature object",
        ),
        (
            json.dumps({"type": "Feature", "properties": {}, "geometry": [1, 2]}),
            "the geometry of the outline is not a GeoJSON geometry",
        ),
        (
            json.dumps({"type": "Feature", "properties": 5, "geometry": POLYGON}),
            "the properties of the outline are not an object",
        ),
        (
            json.dumps({"type": "GeometryCollection", "geometries": 5}),
            "the outline is a GeometryCollection, not a polygon",
        ),
    ],
)
def test_what_is_not_an_outline_is_named(text, message):
    with pytest.raises(ValueError) as raised:
        outline_rings(text)
    assert str(raised.value) == message


def test_nesting_is_bounded_just_past_what_a_collection_of_multipolygons_needs():
    def nested(depth: int) -> str:  # a collection of MultiPolygons whose properties nest to depth
        parts = "[" * (depth - 4) + "]" * (depth - 4)  # the properties object is 4 deep
        multi = {"type": "MultiPolygon", "coordinates": [[SQUARE]]}
        return feature_collection(multi).replace('"properties": {}', f'"properties": {{"parts": {parts}}}')

    assert outline_rings(nested(MAX_DEPTH)) == [[tuple(p) for p in SQUARE]]
    with pytest.raises(ValueError, match=f"more than {MAX_DEPTH} deep"):
        outline_rings(nested(MAX_DEPTH + 1))
    brackets = {"type": "Feature", "properties": {"name": "[{" * 50}, "geometry": POLYGON}
    assert len(outline_rings(json.dumps(brackets))) == 1  # brackets inside strings do not nest


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


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        (
            json.dumps(BOOLEANS),
            "position [true, false] is not a longitude and a latitude",
        ),
        (json.dumps(BOW_TIE), "polygon 1: Self-intersection at or near (0.5, 0.5)"),
        ('{"type": "FeatureCollection", "features": 5}', "the FeatureCollection's features are not an array"),
        ('{"type": "FeatureCollection", "features": ["x"]}', "feature 1 is not a Feature object"),
        (TOO_DEEP, f"the outline nests arrays and objects more than {MAX_DEPTH} deep"),
    ],
)
async def test_an_outline_the_probe_sent_is_refused_with_a_code_not_stored(writable, geojson, message):
    api, url = writable
    data = {"organizationId": await org_id(url, "QJL"), "geojson": geojson}
    error = await api.error(CREATE, {"input": data})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "geojson"}
    assert error["message"] == message
    assert (await api.data(LIST))["areaOutlines"]["totalCount"] == 0


async def test_updating_an_outline_to_a_crossing_ring_is_refused_and_the_old_one_kept(writable):
    api, url = writable
    data = {"organizationId": await org_id(url, "QJL"), "geojson": json.dumps(POLYGON)}
    stored = (await api.data(CREATE, {"input": data}))["createAreaOutline"]
    error = await api.error(UPDATE, {"id": stored["id"], "input": {"geojson": feature_collection(BOW_TIE)}})
    assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "geojson"}
    assert error["message"] == "feature 1, polygon 1: Self-intersection at or near (0.5, 0.5)"
    assert (await api.data(LIST))["areaOutlines"]["nodes"][0]["geojson"] == json.dumps(POLYGON)
