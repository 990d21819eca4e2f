from schemas import requests as rq
from schemas.dictionary import PUBLISHED, data_dictionary, meanings


def test_every_published_column_is_described():
    for name, (schema, _layout) in PUBLISHED.items():
        missing = [f.name for f in schema if not meanings(name).get(f.name)]
        assert missing == [], f"undocumented columns of {name}: {missing}"
    text = data_dictionary()
    assert f"| `{rq.CLOSED_WITHIN_SLA}` | bool |" in text
    assert "## pb_projects" in text and "Method of Equal Shares" in text


def test_timestamps_are_utc():
    for _schema_name, (schema, _layout) in PUBLISHED.items():
        for field in schema:
            if hasattr(field.type, "tz"):
                assert field.type.tz == "UTC", field.name
