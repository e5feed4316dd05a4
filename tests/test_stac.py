"""labkit.sources.stac against a real STAC API served on loopback, with recorded Sentinel-2 L2A items.

The items are Earth Search's real item JSON (mirror: openeo-processes-dask's ``s2_l2a_test_item.json``) copied for a
few dates, cloud covers and processing baselines; their assets point to small GeoTIFFs written here on the item's
grid (EPSG:32632): the real digital numbers and SCL codes of a 20 x 20 px window of the same area (mirror:
``S2_L2A_sample.zarr``, near Bolzano), SCL at 20 m as in the product. The server answers the landing page,
``/conformance``, ``/collections`` and ``/search`` (GET and POST, bbox, datetime, limit, the ``query`` extension or a
CQL2 filter, pages linked by ``next``), so that every filter is applied by the API, as a real one would.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer

from labkit.cli import main
from labkit.errors import BandError, ConfigError, DatasetError, OutputExistsError
from labkit.io import read_zarr
from labkit.sources.stac import STAC_PRESETS, load_stac, search_stac

pytestmark = pytest.mark.mirror

MIRROR = Path(__file__).resolve().parents[1].parent / "shared/data/mirror/github"
STAC_DATA = MIRROR / "Open-EO/openeo-processes-dask/83bcd03b5909a0a56c9968861ac87946b680401e/tests/data/stac"

# The window of S2_L2A_sample.zarr (rows, cols) written as the items' rasters: clear and cloudy pixels on 2022-06-17.
ROWS, COLS = slice(480, 500), slice(880, 900)
SIZE = 20
BANDS = {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}
CORNER = 4  # the top-left CORNER x CORNER px of 2022-06-17 are nodata (DN 0, SCL 0)
SCL_LUT = np.array([2, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0], np.uint8)  # labkit's codes of SCL classes 0..11

# id, acquisition (UTC), date of the zarr whose values it holds, cloud cover, baseline, raster:bands kept, place
ITEMS = [
    ("S2A_32TPS_20220612_0_L2A", "2022-06-12T10:18:03Z", "2022-06-12", 4.97, "04.00", True, "here"),
    ("S2B_32TPS_20220617_0_L2A", "2022-06-17T10:18:07Z", "2022-06-17", 38.2, "04.00", False, "here"),
    ("S2A_32TPS_20220620_0_L2A", "2022-06-20T10:28:01Z", "2022-06-20", 12.5, "03.01", False, "here"),
    ("S2B_32TPS_20220622_0_L2A", "2022-06-22T10:18:05Z", "2022-06-22", 96.0, "04.00", True, "here"),
    ("S2A_32TPS_20220702_0_L2A", "2022-07-02T10:18:02Z", "2022-06-30", 2.0, "04.00", True, "here"),
    ("S2B_31TFJ_20220625_0_L2A", "2022-06-25T10:30:00Z", "2022-06-25", 1.0, "04.00", True, "far"),
]
JUNE = "2022-06-01/2022-06-30"
OFFSETS = {"2022-06-12": -0.1, "2022-06-17": -0.1, "2022-06-20": 0.0}  # raster:bands; baseline 04.00; 03.01


# ------------------------------------------------------------------------------------------------- the data


def _footprint(transform: rasterio.Affine, width: int, height: int, shift: float = 0.0) -> list[float]:
    """(west, south, east, north) in degrees of a grid in EPSG:32632, moved ``shift`` degrees west."""
    to_lonlat = Transformer.from_crs(32632, 4326, always_xy=True)
    xs, ys = zip(*[transform * corner for corner in ((0, 0), (width, 0), (0, height), (width, height))])
    lon, lat = to_lonlat.transform(xs, ys)
    return [min(lon) - shift, min(lat), max(lon) - shift, max(lat)]


def _write(path: Path, values: np.ndarray, transform, dtype: str) -> str:
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype=dtype, crs="EPSG:32632", transform=transform, nodata=0) as dst:
        dst.write(values.astype(dtype), 1)
    return str(path)


def _item(template: dict, spec: tuple, files: dict, transforms: dict, base: str) -> dict:
    """The real item JSON for one date: its id, date, cloud cover and baseline, assets pointing to ``files``."""
    item_id, when, _, cloud, baseline, raster_bands, place = spec
    item = copy.deepcopy(template)
    item["id"] = item_id
    west, south, east, north = _footprint(transforms[10], SIZE, SIZE, shift=5.0 if place == "far" else 0.0)
    item["bbox"] = [west, south, east, north]
    item["geometry"] = {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                            [west, north], [west, south]]]}
    item["properties"].update({"datetime": when.replace("Z", ".000000Z"), "eo:cloud_cover": cloud,
                               "s2:processing_baseline": baseline})
    item["links"] = [{"rel": "self", "href": f"{base}/collections/sentinel-2-l2a/items/{item_id}",
                      "type": "application/geo+json"}]
    assets = {}
    for key in (*BANDS, "scl"):
        asset = item["assets"][key]
        resolution = 20 if key == "scl" else 10
        asset["href"] = Path(files[key]).as_uri()  # absolute: pystac would resolve a path against the API
        asset["proj:shape"] = [SIZE * 10 // resolution] * 2
        asset["proj:transform"] = list(transforms[resolution])[:6]
        if not raster_bands:
            del asset["raster:bands"]
        assets[key] = asset
    item["assets"] = assets
    return item


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The digital numbers written per item id, ``{"dn": {id: {band: array}}, "scl": {id: array}}``, and the items."""
    if not STAC_DATA.is_dir():
        pytest.skip(f"the data mirror {STAC_DATA} is absent (see shared/data/README.md)")
    import xarray as xr

    folder = tmp_path_factory.mktemp("stac")
    template = json.loads((STAC_DATA / "s2_l2a_test_item.json").read_text())
    zarr = xr.open_zarr(STAC_DATA / "S2_L2A_sample.zarr").isel(y=ROWS, x=COLS)
    top, left = float(zarr.y[0]) + 5, float(zarr.x[0]) - 5
    transforms = {r: rasterio.Affine(r, 0, left, 0, -r, top) for r in (10, 20)}
    dn, scl, files = {}, {}, {}
    for spec in ITEMS:
        values = zarr.sel(t=spec[2])
        dn[spec[0]] = {b: np.nan_to_num(values[b].values).astype(np.uint16) for b in BANDS.values()}
        scl[spec[0]] = np.nan_to_num(values["SCL"].values[::2, ::2]).astype(np.uint8)  # 20 m
        if spec[2] == "2022-06-17":
            for array in dn[spec[0]].values():
                array[:CORNER, :CORNER] = 0
            scl[spec[0]][:CORNER // 2, :CORNER // 2] = 0
        files[spec[0]] = {key: _write(folder / f"{spec[0]}_{key}.tif", dn[spec[0]][b], transforms[10], "uint16")
                          for key, b in BANDS.items()}
        files[spec[0]]["scl"] = _write(folder / f"{spec[0]}_SCL.tif", scl[spec[0]], transforms[20], "uint8")
    # a second item of 2022-06-17, processed with baseline 03.01: fills the first one's nodata corner
    twin = ("S2B_32TPS_20220617_1_L2A", "2022-06-17T10:18:07Z", "2022-06-17", 38.2, "03.01", False, "here")
    dn[twin[0]] = {b: np.full((SIZE, SIZE), 1500, np.uint16) for b in BANDS.values()}
    scl[twin[0]] = np.full((SIZE // 2, SIZE // 2), 4, np.uint8)
    files[twin[0]] = {key: _write(folder / f"twin_{key}.tif", dn[twin[0]][b], transforms[10], "uint16")
                      for key, b in BANDS.items()}
    files[twin[0]]["scl"] = _write(folder / "twin_SCL.tif", scl[twin[0]], transforms[20], "uint8")
    return {"dn": dn, "scl": scl, "files": files, "template": template, "transforms": transforms, "twin": twin,
            "folder": folder}


class _Api(BaseHTTPRequestHandler):
    """A STAC API over the recorded items (class attributes set by the ``api`` fixture)."""

    items: list[dict] = []
    base = ""
    extension = "query"  # or "filter": the one of the two the API conforms to
    page_size = 2  # pages of two items, so that the client follows "next" links
    requests: list[tuple[str, dict]] = []

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        route = url.path.rstrip("/")
        if route == "":
            return self._send(200, self._landing())
        if route == "/conformance":
            return self._send(200, {"conformsTo": self._conformance()})
        if route == "/collections":
            return self._send(200, {"collections": [self._collection()], "links": []})
        if route == "/collections/sentinel-2-l2a":
            return self._send(200, self._collection())
        if route == "/search":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            for key in ("query", "filter"):
                if key in query:
                    query[key] = json.loads(query[key])
            if "bbox" in query:
                query["bbox"] = [float(v) for v in query["bbox"].split(",")]
            if "collections" in query:
                query["collections"] = query["collections"].split(",")
            return self._search(query, "GET")
        return self._send(404, {"code": "NotFound", "description": self.path})

    def do_POST(self):
        if urlparse(self.path).path.rstrip("/") != "/search":
            return self._send(404, {"code": "NotFound", "description": self.path})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        return self._search(body, "POST")

    def _conformance(self) -> list[str]:
        return ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/collections",
                "https://api.stacspec.org/v1.0.0/item-search", f"https://api.stacspec.org/v1.0.0/item-search#"
                f"{self.extension}", "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"]

    def _landing(self) -> dict:
        return {"type": "Catalog", "stac_version": "1.0.0", "id": "loopback", "description": "recorded items",
                "conformsTo": self._conformance(),
                "links": [{"rel": "self", "href": f"{self.base}/", "type": "application/json"},
                          {"rel": "root", "href": f"{self.base}/", "type": "application/json"},
                          {"rel": "conformance", "href": f"{self.base}/conformance"},
                          {"rel": "data", "href": f"{self.base}/collections"},
                          {"rel": "search", "href": f"{self.base}/search", "method": "GET",
                           "type": "application/geo+json"},
                          {"rel": "search", "href": f"{self.base}/search", "method": "POST",
                           "type": "application/geo+json"}]}

    def _collection(self) -> dict:
        return {"type": "Collection", "stac_version": "1.0.0", "id": "sentinel-2-l2a", "description": "S2 L2A",
                "license": "proprietary", "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                                     "temporal": {"interval": [["2015-06-27T00:00:00Z", None]]}},
                "links": [{"rel": "self", "href": f"{self.base}/collections/sentinel-2-l2a"}]}

    def _search(self, args: dict, method: str):
        type(self).requests.append((method, args))
        other = "filter" if self.extension == "query" else "query"
        if other in args:
            return self._send(400, {"code": "BadRequest", "description": f"{other} is not supported"})
        matched = [item for item in self.items if _matches(item, args)]
        start = int(args.get("token", 0))
        size = int(args.get("limit", self.page_size))
        links = []
        if start + size < len(matched):
            if method == "POST":
                links.append({"rel": "next", "href": f"{self.base}/search", "method": "POST",
                              "body": {**args, "token": start + size}})
            else:
                links.append({"rel": "next", "href": f"{self.base}/search?token={start + size}&" + "&".join(
                    f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in args.items()
                    if k in ("bbox", "datetime", "collections", "limit"))})
        return self._send(200, {"type": "FeatureCollection", "features": matched[start:start + size],
                                "links": links})


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _compare(value: float, op: str, limit: float) -> bool:
    return {"lt": value < limit, "lte": value <= limit, "gt": value > limit, "gte": value >= limit,
            "eq": value == limit, "<": value < limit, "<=": value <= limit, ">": value > limit,
            ">=": value >= limit, "=": value == limit}[op]


def _cql2(expression: dict, properties: dict) -> bool:
    if expression["op"] == "and":
        return all(_cql2(arg, properties) for arg in expression["args"])
    prop, limit = expression["args"]
    return _compare(properties[prop["property"]], expression["op"], limit)


def _matches(item: dict, args: dict) -> bool:
    """Whether an item passes a search's collections, bbox, datetime, query and filter."""
    if "collections" in args and item["collection"] not in args["collections"]:
        return False
    if "bbox" in args:
        west, south, east, north = args["bbox"]
        iw, is_, ie, in_ = item["bbox"]
        if iw > east or ie < west or is_ > north or in_ < south:
            return False
    if "datetime" in args:
        start, _, end = args["datetime"].partition("/")
        when = _stamp(item["properties"]["datetime"])
        if (start not in ("", "..") and when < _stamp(start)) or (end not in ("", "..") and when > _stamp(end)):
            return False
    for prop, ops in args.get("query", {}).items():
        if not all(_compare(item["properties"][prop], op, limit) for op, limit in ops.items()):
            return False
    return "filter" not in args or _cql2(args["filter"], item["properties"])


@pytest.fixture(scope="module")
def server(recorded):
    """A STAC API on 127.0.0.1 (a free port), serving the recorded items; its URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    _Api.base = base
    _Api.items = [_item(recorded["template"], spec, recorded["files"][spec[0]], recorded["transforms"], base)
                  for spec in ITEMS]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield base
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(params=["query", "filter"])
def api(request, server):
    """The API conforming to the query extension, then (second run) to the filter extension only."""
    _Api.extension = request.param
    _Api.requests = []
    yield server
    _Api.extension = "query"


@pytest.fixture(scope="module")
def june(server):
    """The items of June 2022 under 50 % cloud cover over the window."""
    return search_stac(server, bbox=INNER, dates=JUNE, max_cloud=50)


def _inner_bbox() -> tuple[float, float, float, float]:
    """A bbox inside the window (its centre +- a quarter of its size)."""
    transform = rasterio.Affine(10, 0, 683790, 0, -10, 5150160)
    west, south, east, north = _footprint(transform, SIZE, SIZE)
    dx, dy = (east - west) / 4, (north - south) / 4
    return (west + dx, south + dy, east - dx, north - dy)


INNER = _inner_bbox()
ids = [spec[0] for spec in ITEMS]


def _expected_reflectance(recorded, item_id: str, band: str, offset: float) -> np.ndarray:
    dn = recorded["dn"][item_id][band].astype(np.float32)
    return np.where(dn == 0, np.nan, dn * np.float32(1e-4) + np.float32(offset))


def _expected_mask(recorded, item_id: str) -> np.ndarray:
    codes = SCL_LUT[np.repeat(np.repeat(recorded["scl"][item_id], 2, axis=0), 2, axis=1)]
    no_band = np.all([recorded["dn"][item_id][b] == 0 for b in BANDS.values()], axis=0)
    return np.where(no_band, 2, codes)


# ------------------------------------------------------------------------------------------------- search


def test_search_returns_exactly_the_items_inside_the_area_dates_and_cloud_limit(api):
    found = search_stac(api, bbox=INNER, dates=JUNE, max_cloud=50)
    assert [i.id for i in found] == ids[:3]  # not the cloudy 06-22, July's, nor the far one
    method, args = _Api.requests[0]
    assert method == "POST" and ("query" in args if _Api.extension == "query" else "filter" in args)
    assert len(_Api.requests) == 2  # three items on pages of two: the "next" link was followed
    everything = search_stac(api, bbox=INNER, dates=("2022-06-01", "2022-06-30"))
    assert [i.id for i in everything] == ids[:4]
    assert [i.id for i in search_stac(api, bbox=INNER, dates="2022-06-17")] == [ids[1]]
    assert [i.id for i in search_stac(api, bbox=INNER, dates=JUNE, max_items=1)] == [ids[0]]


def test_search_takes_an_area_from_a_vector_file(server, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    to_utm = Transformer.from_crs(4326, 32632, always_xy=True)
    x0, y0 = to_utm.transform(INNER[0], INNER[1])
    x1, y1 = to_utm.transform(INNER[2], INNER[3])
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(geometry=[box(x0, y0, x1, y1)], crs=32632).to_file(path)
    assert [i.id for i in search_stac(server, area=path, dates=JUNE, max_cloud=50)] == ids[:3]


def test_search_errors_say_what_and_how_to_fix(server):
    with pytest.raises(DatasetError, match=r"http://127\.0\.0\.1:9 could not be reached"):
        search_stac("http://127.0.0.1:9", bbox=INNER, dates=JUNE)
    with pytest.raises(DatasetError, match=r"no item in collection 'sentinel-2-l2a'.*dates 2021-06-01/2021-06-30, "
                                           r"cloud cover <= 50 %; widen the dates or the area, or raise max_cloud"):
        search_stac(server, bbox=INNER, dates="2021-06-01/2021-06-30", max_cloud=50)
    with pytest.raises(ConfigError, match="bbox .* is not \\(west, south, east, north\\)"):
        search_stac(server, bbox=(11.4, 46.4, 11.3, 46.5), dates=JUNE)
    with pytest.raises(ConfigError, match="bbox must be 4 numbers"):
        search_stac(server, bbox=(11.4, 46.4, 11.3), dates=JUNE)
    with pytest.raises(ConfigError, match="give the area to search"):
        search_stac(server, dates=JUNE)
    with pytest.raises(ConfigError, match="dates end"):
        search_stac(server, bbox=INNER, dates="2022-06-30/2022-06-01")
    with pytest.raises(ConfigError, match="max_cloud must be a finite number from 0 to 100"):
        search_stac(server, bbox=INNER, dates=JUNE, max_cloud=130)
    with pytest.raises(ConfigError, match="neither a known catalogue"):
        search_stac("earthsearch", bbox=INNER, dates=JUNE)


def test_planetary_computer_needs_its_signing_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "planetary_computer", None)  # not importable, even where installed
    with pytest.raises(ConfigError, match="pip install planetary-computer"):
        search_stac("planetary-computer", bbox=INNER, dates=JUNE)
    assert STAC_PRESETS["earth-search"].url == "https://earth-search.aws.element84.com/v1"


# --------------------------------------------------------------------------------------------------- load


def test_load_gives_reflectance_per_baseline_and_the_scl_mask(recorded, june):
    cube, mask = load_stac(june, bands=["B02", "red", "B08"], chunks=8)
    assert cube.dims == ("time", "band", "y", "x") and cube.dtype == np.float32
    assert cube.band.values.tolist() == ["B02", "B04", "B08"]
    assert cube.sizes["y"] == cube.sizes["x"] == SIZE and cube.rio.crs.to_epsg() == 32632
    assert cube.rio.transform() == recorded["transforms"][10]
    assert pd.DatetimeIndex(cube.time.values).strftime("%Y-%m-%d").tolist() == list(OFFSETS)
    # lazy, each chunk the whole time series of 8 x 8 px
    assert cube.chunks[0] == (3,) and cube.chunks[2] == (8, 8, 4) and mask.chunks[0] == (3,)
    values, codes = cube.values, mask.values
    for t, (item, offset) in enumerate(zip(ids[:3], OFFSETS.values())):
        for b, band in enumerate(["B02", "B04", "B08"]):
            np.testing.assert_allclose(values[t, b], _expected_reflectance(recorded, item, band, offset), rtol=1e-6)
        np.testing.assert_array_equal(codes[t], _expected_mask(recorded, item))
    assert np.isnan(values[1, :, :CORNER, :CORNER]).all() and (codes[1, :CORNER, :CORNER] == 2).all()
    assert set(np.unique(codes[1])) == {0, 1, 2}  # 2022-06-17 is partly cloudy
    no_mask = load_stac(june, bands=["B04"], mask=False)
    assert no_mask[1] is None and no_mask[0].chunks[0] == (3,)


def test_a_day_of_two_baselines_is_fused_after_scaling(recorded, june):
    import pystac

    twin = pystac.Item.from_dict(_item(recorded["template"], recorded["twin"],
                                       recorded["files"][recorded["twin"][0]], recorded["transforms"], "http://x"))
    cube, mask = load_stac([june[1], twin], bands=["B04"])
    assert cube.sizes["time"] == 1 and cube.chunks[0] == (1,)
    first = _expected_reflectance(recorded, ids[1], "B04", -0.1)
    expected = np.where(np.isnan(first), np.float32(0.15), first)  # the corner from the 03.01 item: 1500 DN * 1e-4
    np.testing.assert_allclose(cube.values[0, 0], expected, rtol=1e-6)
    assert (mask.values[0, :CORNER, :CORNER] == 0).all()


def test_load_crops_to_a_bbox_and_writes_a_zarr_store(recorded, june, tmp_path):
    cube, mask = load_stac(june, bands=["B04"], bbox=INNER, out=tmp_path / "cube.zarr")
    assert 0 < cube.sizes["x"] < SIZE and 0 < cube.sizes["y"] < SIZE
    back, back_mask = read_zarr(tmp_path / "cube.zarr", chunks=None, with_mask=True)
    np.testing.assert_array_equal(back.values, cube.values)
    np.testing.assert_array_equal(back_mask.values, mask.values)
    whole = load_stac(june, bands=["B04"])[0]
    np.testing.assert_array_equal(back.values, whole.sel(x=back.x, y=back.y).values)
    with pytest.raises(OutputExistsError, match="already exists"):
        load_stac(june, bands=["B04"], out=tmp_path / "cube.zarr")


def test_load_errors_name_the_band_and_the_fix(june):
    with pytest.raises(BandError, match="'B13' is not a Sentinel-2 band"):
        load_stac(june, bands=["B13"])
    with pytest.raises(BandError, match=r"item S2A_32TPS_20220612_0_L2A has no asset for band\(s\) \['B05'\]"):
        load_stac(june, bands=["B05"])
    with pytest.raises(ConfigError, match="no items"):
        load_stac([])
    with pytest.raises(ConfigError, match="resolution must be a finite number > 0"):
        load_stac(june, resolution=0)


# ---------------------------------------------------------------------------------------------------- CLI


def test_cli_lists_then_loads_into_a_zarr_store(server, tmp_path, capsys):
    area = ["--bbox", *map(str, INNER), "--dates", JUNE, "--max-cloud", "50"]
    assert main(["stac", server, *area, "--list"]) == 0
    listed = capsys.readouterr().out
    assert [line.split()[0] for line in listed.splitlines()[1:]] == ids[:3]
    assert "cloud 38.2 %" in listed and not (tmp_path / "cube.zarr").exists()
    assert main(["stac", server, *area, "--bands", "B04", "nir", "--out", str(tmp_path / "cube.zarr")]) == 0
    summary = capsys.readouterr().out
    assert "3 items" in summary and str(tmp_path / "cube.zarr") in summary
    cube, mask = read_zarr(tmp_path / "cube.zarr", chunks=None, with_mask=True)
    assert cube.band.values.tolist() == ["B04", "B08"] and mask is not None and cube.sizes["time"] == 3
    assert main(["stac", server, *area]) == 2  # --out or --list
    assert "--out" in capsys.readouterr().err
    assert main(["stac", server, "--bbox", *map(str, INNER), "--dates", "2021-06", "--list"]) == 2
    assert "no item in collection" in capsys.readouterr().err


def test_a_run_config_reads_a_tile_from_a_stac_search(server, recorded):
    from labkit.run import load_config
    from labkit.run.stages import open_tile

    config = load_config({"inputs": {"kind": "stac", "catalog": server, "dates": JUNE, "max_cloud": 50,
                                     "bands": ["B04", "B08"], "chunks": 8},
                          "tiles": {"bboxes": {"inner": list(INNER)}}, "reference": {"polygons": "."}})
    cube, mask = open_tile(config, "inner")
    expected, expected_mask = load_stac(search_stac(server, bbox=INNER, dates=JUNE, max_cloud=50),
                                        bands=["B04", "B08"], bbox=INNER, chunks=8)
    np.testing.assert_array_equal(cube.values, expected.values)
    np.testing.assert_array_equal(mask.values, expected_mask.values)
    assert cube.sizes["time"] == 3 and list(cube.band.values) == ["B04", "B08"]
