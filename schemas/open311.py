"""Open311 GeoReport v2 as UrbanPulse serves it: element names the specification gives besides the
request fields of `schemas.requests`, the POST fields, the service definition's attributes, the
FixMyStreet `servicerequestupdates` extension, API keys and the submitters' restricted fields.

Names are the specification's (http://wiki.open311.org/GeoReport_v2) and FixMyStreet's; the
server, its tests and the CLI import them from here.
"""

from __future__ import annotations

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
ROOT = "/open311/v2"
FORMATS = ("json", "xml")
JSON_TYPE, XML_TYPE = "application/json", "text/xml"

# --- request fields beyond schemas.requests (a GET answer carries them, most are null here) --
ADDRESS_ID = "address_id"
ZIPCODE = "zipcode"
MEDIA_URL = "media_url"
SERVICE_NOTICE = "service_notice"
TOKEN = "token"
# extensions of a request element (unknown elements are ignored by clients)
EXT_DISTRICT_ID = "district_id"
EXT_CATEGORY = "category"

# --- GET requests arguments ---------------------------------------------------------------
START_DATE, END_DATE = "start_date", "end_date"
JURISDICTION_ID = "jurisdiction_id"
PAGE, PAGE_SIZE = "page", "page_size"  # pagination extension (1-based page, at most MAX_RESULTS)
MAX_RESULTS = 1_000
MAX_WINDOW_DAYS = 90

# --- POST requests fields ------------------------------------------------------------------
API_KEY = "api_key"
ADDRESS_STRING = "address_string"
DEVICE_ID = "device_id"
ACCOUNT_ID = "account_id"
EMAIL, FIRST_NAME, LAST_NAME, PHONE = "email", "first_name", "last_name", "phone"
# what a submitter says about themself: kept in the restricted store only, never published
SUBMITTER_FIELDS = (EMAIL, FIRST_NAME, LAST_NAME, PHONE, DEVICE_ID, ACCOUNT_ID)
ATTRIBUTE_PREFIX = "attribute["

# --- service list and definition -------------------------------------------------------------
SERVICE = "service"
METADATA, TYPE, KEYWORDS, GROUP = "metadata", "type", "keywords", "group"
REALTIME = "realtime"
ATTRIBUTES, ATTRIBUTE = "attributes", "attribute"
VARIABLE, CODE, DATATYPE, REQUIRED = "variable", "code", "datatype", "required"
DATATYPE_DESCRIPTION, ORDER, VALUES, VALUE, KEY, NAME = (
    "datatype_description", "order", "values", "value", "key", "name")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
# a city pack may define attributes per service: {"service_code": [attribute, ...], ...}
PACK_ATTRIBUTES_FILE = "open311_attributes.json"

# --- FixMyStreet's servicerequestupdates -------------------------------------------------------
UPDATE_ID = "update_id"
UPDATES_ROOT, UPDATE_ELEMENT = "service_request_updates", "request_update"
UPDATE_DESCRIPTION = "description"  # an update's note (FixMyStreet's name for status_notes)
UPDATE_STATUSES = ("open", "closed", "in_progress", "action_scheduled", "investigating",
                   "duplicate", "not_councils_responsibility", "no_further_action", "internal_referral")
CLOSED_STATUSES = frozenset({"closed", "duplicate", "not_councils_responsibility", "no_further_action"})

# --- API keys --------------------------------------------------------------------------------
KEY_ID, KEY_NAME, KEY_ROLE, KEY_RATE = "key_id", "name", "role", "rate_per_minute"
KEY_CREATED_AT, KEY_REVOKED_AT = "created_at", "revoked_at"
ROLE_REPORTER = "reporter"  # may POST requests
ROLE_BACK_OFFICE = "back_office"  # may also POST service request updates
ROLES = (ROLE_REPORTER, ROLE_BACK_OFFICE)
DEFAULT_RATE_PER_MINUTE = 600

SOURCE = "open311"  # the landing source of reports posted to this server
