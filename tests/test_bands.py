"""labkit.bands: the sensor tables (every name reads back its common name, in every spelling the products use),
the Sentinel-2 / Landsat ambiguity rules, MODIS layer names as GDAL and the portals spell them, resolve (names,
aliases, the near-infrared stand-in, ambiguity) and to_common_names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labkit.datamodel as dm
from labkit.bands import (
    COMMON_NAMES,
    SENSOR_ALIASES,
    SENSORS,
    STAND_INS,
    SYNONYMS,
    common_name,
    modis_layer_name,
    resolve,
    sentinel2_name,
    to_common_names,
)
from labkit.errors import BandError, ConfigError, DataModelError

ENTRIES = [(sensor, band, alias) for sensor, table in SENSORS.items() for band, alias in table.items()]
LANDSAT_ID = st.from_regex(r"[0-9A-Z]{4}_[0-9]{6}_[0-9]{8}_[0-9]{8}_0[12]_(T1|T2|RT)", fullmatch=True)


def test_every_common_name_of_the_tables_is_known():
    assert {alias for table in SENSORS.values() for alias in table.values()} <= set(COMMON_NAMES)
    assert set(SYNONYMS.values()) <= set(COMMON_NAMES) and set(STAND_INS.values()) <= set(COMMON_NAMES)
    assert set(SENSOR_ALIASES.values()) <= set(SENSORS)


@pytest.mark.parametrize(("sensor", "band", "alias"), ENTRIES)
def test_every_band_of_a_table_reads_back_its_common_name(sensor, band, alias):
    assert common_name(band, sensor) == alias
    assert common_name(f" {band} ", sensor) == alias


@given(st.sampled_from(COMMON_NAMES + tuple(SYNONYMS)), st.data())
def test_common_names_and_synonyms_are_their_own_in_any_case(name, data):
    spelled = "".join(c.upper() if data.draw(st.booleans()) else c for c in name)  # sits writes "NIR08", "SWIR16"
    expected = SYNONYMS.get(name, name)
    assert common_name(spelled) == expected
    assert common_name(spelled, data.draw(st.sampled_from(list(SENSORS)))) == expected


def test_the_usual_names_of_the_usual_bands():
    assert [common_name(b) for b in ("B02", "B04", "B08", "B8A", "B11", "B12")] == [
        "blue", "red", "nir", "nir08", "swir1", "swir2"]
    assert [common_name(b) for b in ("SR_B2", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "ST_B10")] == [
        "blue", "red", "nir", "swir1", "swir2", "lwir1"]
    assert [common_name(b) for b in ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b07")] == [
        "red", "nir", "blue", "swir2"]
    assert [common_name(b) for b in ("RED", "NIR", "BLUE", "MIR")] == ["red", "nir", "blue", "swir2"]  # sits' MODIS
    assert common_name("NDVI") is None and common_name("QA_PIXEL") is None and common_name("SCL") is None


@given(st.sampled_from(sorted(SENSORS["sentinel-2"])), st.booleans(), st.booleans())
def test_sentinel2_spellings_of_theia_and_iota2(band, lower, no_zero):
    spelled = band.replace("B0", "B") if no_zero else band  # Theia: B2, B8A
    spelled = spelled.lower() if lower else spelled
    assert sentinel2_name(spelled) == band
    assert common_name(spelled, "sentinel-2") == SENSORS["sentinel-2"][band]
    assert sentinel2_name(SENSORS["sentinel-2"][band]) == band


def test_sentinel2_name_refuses_other_bands():
    with pytest.raises(BandError, match=r"'SR_B4' is not a Sentinel-2 band; they are \['B01'"):
        sentinel2_name("SR_B4")


def test_bare_band_numbers_are_sentinel2_unless_the_sensor_says_otherwise():
    # Theia and iota2 name Sentinel-2's bands B2..B12: without a sensor, a bare number is Sentinel-2's.
    assert [common_name(b) for b in ("B2", "B5", "B8", "B11")] == ["blue", "rededge1", "nir", "swir1"]
    assert [common_name(b, "landsat-8/9") for b in ("B2", "B5", "B8", "B11")] == ["blue", "nir", "pan", "lwir2"]
    # Landsat 9 is Landsat 8's instrument: the same names; Landsat 4-7 number their bands otherwise.
    for b in ("SR_B1", "SR_B4", "SR_B5", "B9", "ST_B10"):
        assert common_name(b, "landsat-9") == common_name(b, "landsat-8") == common_name(b, "landsat-8/9")
    assert [common_name(b, "landsat-7") for b in ("SR_B1", "SR_B3", "SR_B4", "SR_B5", "SR_B7")] == [
        "blue", "red", "nir", "swir1", "swir2"]
    assert common_name("SR_B4", "Landsat 5") == "nir" and common_name("B4", "LANDSAT_9") == "red"
    assert common_name("B04", "landsat-8/9") is None  # read as the sensor's only


@settings(max_examples=30)
@given(LANDSAT_ID, st.sampled_from(["LC08", "LC09", "LO08", "LO09"]), st.sampled_from(["L2SP", "L1TP"]),
       st.sampled_from(["SR_B2", "SR_B4", "SR_B5", "SR_B7", "B4", "B5"]))
def test_landsat_8_9_product_ids_in_a_band_name_say_the_sensor(rest, mission, level, band):
    name = f"{mission}_{level}_{rest}_{band}"  # a Collection 2 file's stem, as read_bands names its band
    assert common_name(name) == SENSORS["landsat-8/9"][band]


@settings(max_examples=30)
@given(LANDSAT_ID, st.sampled_from(["LT04", "LT05", "LE07"]), st.sampled_from(["SR_B1", "SR_B3", "SR_B4", "SR_B5"]))
def test_landsat_4_5_7_product_ids_in_a_band_name_say_the_sensor(rest, mission, band):
    name = f"{mission}_L2SP_{rest}_{band}"
    assert common_name(name) == SENSORS["landsat-4/5/7"][band]
    assert common_name(name) != common_name(band)  # the bare name is read as Landsat 8/9's


MODIS_SHORT = {"red reflectance": "red", "NIR reflectance": "nir", "blue reflectance": "blue",
               "MIR reflectance": "swir2", "NDVI": None, "VI Quality": None, "pixel reliability": None}


@given(st.sampled_from(sorted(MODIS_SHORT)),
       st.sampled_from(["250m 16 days ", "500m 16 days ", "1 km 16 days ", "1 km monthly ", "CMG 0.05 Deg 16 days "]),
       st.sampled_from(["{}", "{}".replace(" ", "_"), 'HDF4_EOS:EOS_GRID:"MOD13Q1.A2014001.hdf":MODIS_Grid_16DAY:{}',
                        "MOD13Q1.061__{}_doy2014001_aid0001", "MYD13A2.061__{}_doy2014001_aid0001"]),
       st.booleans())
def test_mod13_layer_names_as_gdal_and_the_portals_spell_them(short, prefix, wrapper, underscores):
    layer = prefix + short
    name = wrapper.format(layer.replace(" ", "_") if underscores else layer)
    assert modis_layer_name(name) == short.lower().replace(" ", "_")
    assert common_name(name) == MODIS_SHORT[short]
    assert common_name(name, "modis") == MODIS_SHORT[short]


@given(st.integers(1, 7), st.sampled_from(["sur_refl_b{:02d}", "sur_refl_b{:d}", "sur_refl_b{:02d}_1",
                                           'HDF4_EOS:EOS_GRID:"MOD09A1.hdf":MOD_Grid_500m_Surface_Reflectance:'
                                           "sur_refl_b{:02d}", "MOD09A1.061_sur_refl_b{:02d}_doy2020001_aid0001"]))
def test_mod09_layer_names_as_gdal_and_the_portals_spell_them(number, pattern):
    name = pattern.format(number)
    assert modis_layer_name(name) == f"sur_refl_b{number:02d}"
    expected = {1: "red", 2: "nir", 3: "blue", 4: "green", 5: None, 6: "swir1", 7: "swir2"}[number]
    assert common_name(name) == expected


def test_unknown_sensor_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"Unknown sensor 'spot-5'; known: \['sentinel-2', 'landsat-8/9'"):
        common_name("B04", "spot-5")
    with pytest.raises(ConfigError, match="Unknown sensor"):
        common_name("red", "spot-5")  # even for a common name


# -------------------------------------------------------------------------------------------------- resolve


@given(st.sampled_from(["landsat-8/9", "modis"]), st.data())
def test_resolve_finds_each_needed_band_by_its_common_name(sensor, data):
    table = SENSORS[sensor]
    one_per_alias = {}
    for band, alias in table.items():
        one_per_alias.setdefault(alias, band)  # a cube holds one band per common name
    cube = data.draw(st.lists(st.sampled_from(sorted(one_per_alias.values())), unique=True))
    needed = data.draw(st.lists(st.sampled_from(sorted(SENSORS["sentinel-2"])), unique=True))
    found = resolve(needed, cube, sensor)
    assert list(found) == needed
    for band, match in found.items():
        alias = SENSORS["sentinel-2"][band]
        expected = next((b for b in cube if table[b] == alias), None)
        if expected is None and alias in STAND_INS:
            expected = next((b for b in cube if table[b] == STAND_INS[alias]), None)
        assert match == expected, (band, cube)


def test_resolve_prefers_the_band_itself_then_its_alias_then_the_stand_in():
    assert resolve(["B08"], ["B08", "nir"]) == {"B08": "B08"}
    assert resolve(["B08", "B04"], ["red", "nir"]) == {"B08": "nir", "B04": "red"}
    assert resolve(["B08"], ["B04", "B8A"]) == {"B08": "B8A"}  # a cube of 20 m bands
    assert resolve(["nir"], ["LC08_L2SP_044034_20210508_20210518_02_T1_nir08"]) == {"nir": None}  # not a name
    assert resolve(["B8A"], ["B08"]) == {"B8A": None}  # the stand-in goes one way only
    assert resolve(["B05"], ["B4", "B5"]) == {"B05": "B5"}
    assert resolve(["B08"], ["B4", "B5"], "landsat-8/9") == {"B08": "B5"}
    assert resolve(["B11"], ["B6", "B11"], "landsat-8/9") == {"B11": "B6"}  # Landsat's B11 is thermal


def test_resolve_refuses_two_bands_for_one_part():
    with pytest.raises(BandError, match=r"Bands \['SR_B4', 'red'\] of the cube all stand for 'red' \(needed as "
                                        r"'B04'\); keep one"):
        resolve(["B04"], ["SR_B4", "red"])


def test_to_common_names_of_names_and_of_a_cube():
    assert to_common_names(["B2", "B8", "SCL"]) == ["blue", "nir", "SCL"]
    assert to_common_names(("B2", "B5"), "landsat-9") == ["blue", "nir"]
    cube = dm.make_cube(np.zeros((1, 2, 1, 1), "float32"), ["2021-01-01"], ["SR_B4", "SR_B5"],
                        transform=(30, 0, 0, 0, -30, 30), crs="EPSG:32631")
    renamed = to_common_names(cube)
    assert renamed.band.values.tolist() == ["red", "nir"] and cube.band.values.tolist() == ["SR_B4", "SR_B5"]
    assert renamed.rio.crs == cube.rio.crs
    with pytest.raises(BandError, match=r"Bands \['B08', 'nir'\] would all be named 'nir'"):
        to_common_names(["B08", "nir"])
    with pytest.raises(DataModelError, match=r"expected a cube \(time, band, y, x\)"):
        to_common_names(cube.isel(band=0, drop=True))
