from schemas import aggregates as ag
from schemas import dead_letters as dl
from schemas import requests as rq
from schemas.dictionary import DESCRIPTIONS, data_dictionary


def test_every_published_column_is_described():
    for schema in (rq.ENRICHED_REQUEST, ag.REQUEST_DAILY, dl.DEAD_LETTER):
        missing = [f.name for f in schema if not DESCRIPTIONS.get(f.name)]
        assert missing == [], f"undocumented columns: {missing}"
    text = data_dictionary()
    assert f"| `{rq.CLOSED_WITHIN_SLA}` | bool |" in text


def test_timestamps_are_utc():
    for schema in (rq.ENRICHED_REQUEST, ag.REQUEST_DAILY, dl.DEAD_LETTER):
        for field in schema:
            if hasattr(field.type, "tz"):
                assert field.type.tz == "UTC", field.name
