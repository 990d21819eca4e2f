"""The published datasets as a whole: their names, the city partition, the snapshot manifest.

Every dataset is partitioned by city first (`<dataset>/city=<name>/...`), so cities never mix
and a researcher reads one city with a path or a filter on the `city` column.
"""

from __future__ import annotations

REQUESTS = "requests"
REQUEST_DAILY = "request_daily"
DEAD_LETTERS = "dead_letters"
REQUEST_DATASETS = (REQUESTS, REQUEST_DAILY, DEAD_LETTERS)
# Participation (`schemas.participation`): one folder per election under the city's folder.
PB_ELECTIONS = "pb_elections"
PB_PROJECTS = "pb_projects"
PB_PROJECT_GROUPS = "pb_project_groups"
PB_TURNOUT = "pb_turnout"
SURVEY_RESULTS = "survey_results"
PARTICIPATION_DATASETS = (PB_ELECTIONS, PB_PROJECTS, PB_PROJECT_GROUPS, PB_TURNOUT, SURVEY_RESULTS)
ELECTION_PARTITION = "election"
BALLOTS = "ballots"  # restricted, never published: `Workspace.restricted_ballots`
# Sensors (`schemas.sensors`): observations by local date, hourly by month, daily by year.
SENSOR_OBSERVATIONS = "sensor_observations"
SENSOR_HOURLY = "sensor_hourly"
SENSOR_DAILY = "sensor_daily"
SENSOR_STATIONS = "sensor_stations"
SENSOR_MONTHLY = "sensor_monthly"
SENSOR_DISTRICT_HOURLY = "sensor_district_hourly"
SENSOR_DISTRICT_DAILY = "sensor_district_daily"
SENSOR_DISTRICT_MONTHLY = "sensor_district_monthly"
SENSOR_DATASETS = (SENSOR_OBSERVATIONS, SENSOR_HOURLY, SENSOR_DAILY, SENSOR_MONTHLY, SENSOR_DISTRICT_HOURLY,
                   SENSOR_DISTRICT_DAILY, SENSOR_DISTRICT_MONTHLY, SENSOR_STATIONS)
# Across streams (`schemas.cross`): one file per city each.
REQUEST_SENSOR_CONTEXT = "request_sensor_context"
REQUESTS_PER_1000 = "request_rates"
CROSS_DATASETS = (REQUEST_SENSOR_CONTEXT, REQUESTS_PER_1000)
# Every published dataset; a city's run (`plumbing.publishing.CityTransaction`) covers all of them.
# SLA breach risk of open requests (`schemas.sla`): one file per city.
SLA_BREACH_RISK = "sla_breach_risk"
PUBLISHED = (*REQUEST_DATASETS, SLA_BREACH_RISK, *PARTICIPATION_DATASETS, *SENSOR_DATASETS, *CROSS_DATASETS)

CITY_PARTITION = "city"

# MANIFEST.json at the root of every snapshot: {"version", "snapshot", "committed_at", "run",
# "files": {relative path: {"bytes", "sha256", "run"}}}
MANIFEST_FILE = "MANIFEST.json"
MANIFEST_VERSION = "version"
MANIFEST_SNAPSHOT = "snapshot"
MANIFEST_COMMITTED_AT = "committed_at"
MANIFEST_RUN = "run"
MANIFEST_FILES = "files"
FILE_BYTES = "bytes"
FILE_SHA256 = "sha256"
FILE_RUN = "run"
