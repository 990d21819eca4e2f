"""The rewrite of the live store's SQLite statements for PostgreSQL (`plumbing.live_store.postgres`)."""

from __future__ import annotations

import re

from plumbing.live_store.postgres import claim_schema, schema_of, translate
from plumbing.live_store.tables import insert, schema_script
from schemas import live as lv


def test_parameters_and_literal_percent_signs():
    assert translate("SELECT a FROM meta WHERE key = ? AND value LIKE '5%'") == \
        "SELECT a FROM meta WHERE key = %s AND value LIKE '5%%'"


def test_insert_or_replace_is_an_upsert_on_the_primary_key():
    assert translate(insert(lv.OFFSETS_TABLE)) == (
        "INSERT INTO offsets (source, reader, next_seq) VALUES (%s, %s, %s) "
        "ON CONFLICT (source, reader) DO UPDATE SET next_seq = excluded.next_seq")


def test_insert_or_ignore_does_nothing_on_conflict():
    assert translate("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)") == \
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"


def test_bare_columns_in_conflict_updates_are_the_stored_rows():
    sql = ("INSERT INTO segments (source, seq, records_in) VALUES (?, ?, ?) ON CONFLICT (source, seq) "
           "DO UPDATE SET records_in = records_in + excluded.records_in, too_late = coalesce(too_late, 0)")
    assert translate(sql).endswith(
        "DO UPDATE SET records_in = segments.records_in + excluded.records_in, "
        "too_late = coalesce(segments.too_late, 0)")


def test_a_column_named_like_the_excluded_row_stays_apart_from_it():
    sql = translate("INSERT OR REPLACE INTO sensor_window_obs (station_id, parameter, hour_start, "
                    "period_start, value, excluded) VALUES (?, ?, ?, ?, ?, ?)")
    assert sql.endswith("DO UPDATE SET value = excluded.value, excluded = excluded.excluded")


def test_json_lists_are_read_with_the_column_type():
    text = translate("SELECT * FROM requests WHERE service_request_id IN (SELECT value FROM json_each(?))")
    number = translate("SELECT * FROM windows WHERE window_start IN (SELECT value FROM json_each(?))")
    assert "service_request_id IN (SELECT value FROM jsonb_array_elements_text(%s::jsonb) AS value)" in text
    assert "window_start IN (SELECT value::BIGINT FROM jsonb_array_elements_text(%s::jsonb) AS value)" in number


def test_scalar_max_and_min_take_two_arguments_aggregates_one():
    assert translate("SELECT max(coalesce(a, 0), min(b, c)), max(d) FROM t") == \
        "SELECT GREATEST(coalesce(a, 0), LEAST(b, c)), max(d) FROM t"


def test_ddl_types_reserved_names_and_no_rowid_clause():
    ddl = translate(schema_script().split(";")[2])  # the windows table
    assert ddl.startswith('CREATE TABLE IF NOT EXISTS windows ("window" TEXT COLLATE "C", window_start BIGINT')
    assert "ROWID" not in ddl and "INTEGER" not in ddl


def test_sqlite_settings_do_nothing_and_table_info_reads_the_catalogue():
    assert translate("PRAGMA journal_mode=WAL") is None
    assert "information_schema.columns" in translate("PRAGMA table_info(segments)")


def test_schema_names_are_plain_identifiers_named_once_per_store(tmp_path):
    store = tmp_path / "state" / "live" / "nyc.sqlite"
    assert schema_of(store) is None  # no writer has claimed one yet
    first = claim_schema(store)
    assert re.fullmatch(r"live_nyc_[0-9a-f]{8}", first) and claim_schema(store) == schema_of(store) == first
    assert claim_schema(tmp_path / "other-home" / "nyc.sqlite") != first  # two homes never share one
    russian = claim_schema(tmp_path / "санкт-петербург.sqlite")
    assert russian.startswith("live_") and russian.isascii() and russian != claim_schema(tmp_path / "москва.sqlite")
