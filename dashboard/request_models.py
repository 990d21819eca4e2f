"""Response models of the department feeds, for the OpenAPI document (`/openapi.json`, `/docs`).

The handlers write their bodies directly (polars writes the rows), so these describe the
answers rather than validate them; tests check that the answers match them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    detail: str = Field(description="what is wrong with the request and what to send instead")


class RequestItem(BaseModel):
    service_request_id: str
    requested_datetime: str = Field(description="UTC, ISO 8601")
    closed_datetime: str | None = Field(description="UTC, ISO 8601; null while open")
    status: str | None = Field(description="open or closed (Open311)")
    category: str | None
    department: str | None
    district_id: str | None
    district_name: str | None
    description: str | None = Field(description="as published: personal data scrubbed; null until a "
                                                "request that came in through the live stream is published")
    address: str | None
    lat: float | None
    long: float | None
    sla_due_datetime: str | None = Field(description="when the request is due by its category's SLA (UTC)")
    hours_overdue: float | None = Field(description="hours past sla_due_datetime at as_of; null unless open past due")
    duplicate_of: str | None = Field(description="the first report of the same problem, when this one repeats it")
    report_cluster_id: str = Field(description="the problem this report belongs to (duplicate_of, or its own id): "
                                   "one answer reaches every resident of a cluster")


class RequestPage(BaseModel):
    items: list[RequestItem]
    next_cursor: str | None = Field(description="pass as cursor= for the next page; null on the last page")
    total: int = Field(description="rows matching the filters (all pages)")
    as_of: str = Field(description="the minute hours_overdue is computed for (UTC)")


class RequestFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] | None = Field(description="Point [long, lat]; null without coordinates")
    properties: RequestItem


class RequestFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[RequestFeature]
    next_cursor: str | None
    total: int
    as_of: str


class Figures(BaseModel):
    new: int = Field(description="requests made in the period (local dates)")
    closed: int = Field(description="requests closed in the period")
    backlog: int = Field(description="requests made by the period's end and not closed by then")
    share_closed_within_sla: float | None = Field(description="of the requests closed in the period "
                                                              "with a known SLA outcome, the share on time")
    median_hours_to_close: float | None = Field(description="of the requests closed in the period")


class DistrictProperties(Figures):
    district_id: str
    name: str
    residents: float | None = Field(description="from the city pack; null if unknown")
    per_1000_residents: float | None = Field(description="new requests per 1,000 residents")


class DistrictFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] = Field(description="the district's Polygon or MultiPolygon from the city pack")
    properties: DistrictProperties


class DistrictFigures(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DistrictFeature]
    date_from: str
    date_to: str
    unplaced: Figures = Field(description="requests with no district (not geocoded), same period")


class DayFigures(BaseModel):
    date: str
    new: int
    closed: int
    share_closed_within_sla: float | None
    median_hours_to_close: float | None


class CategoryFigures(BaseModel):
    category: str | None
    new: int
    closed: int
    share_closed_within_sla: float | None


class DepartmentFigures(BaseModel):
    department: str | None
    new: int
    closed: int
    share_closed_within_sla: float | None


class Trends(BaseModel):
    date_from: str
    date_to: str
    days: list[DayFigures]
    by_category: list[CategoryFigures]
    by_department: list[DepartmentFigures]


class WorstDistrict(BaseModel):
    district_id: str
    name: str | None
    backlog: int
    share_closed_within_sla: float | None = Field(description="over the last 7 days")


class Summary(BaseModel):
    date: str = Field(description="the reference day (date_to, else today in the city's time zone)")
    today: Figures
    previous_day: Figures
    last_7_days: Figures
    previous_7_days: Figures
    worst_districts: list[WorstDistrict] = Field(description="largest backlog first (at most 5)")
    as_of: str
    live_rows: int = Field(description="requests whose figures come from the live store, not yet published")


class DensityCell(BaseModel):
    h3: str
    count: int


class Density(BaseModel):
    resolution: int
    cells: list[DensityCell]
    unplaced: int = Field(description="requests matching the filters without a location")
