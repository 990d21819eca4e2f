"""The city pack's districts as the feed reads them (no models): names, parents, a rebuilt pack."""

from __future__ import annotations

import copy

from conftest import TINY_CITY, build_tiny_pack

from models.cities.pack import CityPack
from plumbing.districts import District, district_names, read_districts


def test_districts_come_from_the_pack_and_follow_a_rebuild(tmp_path):
    pack = build_tiny_pack(tmp_path)
    assert read_districts(pack.root) == (
        District("N1", "North One", "N", "North"), District("N2", "North Two", "N", "North"),
        District("S1", "South One", "S", "South"),
    )
    renamed = copy.deepcopy(TINY_CITY)
    renamed["features"][0]["properties"]["title"] = "North First"
    CityPack.create("tiny", pack.root, renamed, name_field="title", id_field="code",
                    parent_field="okrug", parent_name_field="okrug_name")
    assert district_names(pack.root) == {"N1": "North First", "N2": "North Two", "S1": "South One"}


def test_a_city_without_a_pack_has_no_districts(tmp_path):
    assert read_districts(tmp_path / "cities" / "nowhere") == ()
