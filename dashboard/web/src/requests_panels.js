// The request panels: KPI tiles with their trend, the district map's figures, trends, overdue table.
import { el, fill } from "./dom.js";
import * as f from "./i18n.js";
import { breaks, classOf, DENSITY, NO_DATA, SEQUENTIAL } from "./palette.js";

const { t } = f;
export const TILE_FIGURES = ["new", "closed", "backlog", "share_closed_within_sla", "median_hours_to_close"];
// which way is better for a figure: +1 up, -1 down, 0 neither
const BETTER = { new: 0, closed: 1, backlog: -1, share_closed_within_sla: 1, median_hours_to_close: -1 };
const PERIODS = [["today", "previous_day", "vs_previous_day"], ["last_7_days", "previous_7_days", "vs_previous_7_days"]];

export function shown(figure, value) {
  if (figure === "share_closed_within_sla") return f.percent(value);
  if (figure === "median_hours_to_close") return f.hours(value);
  return f.number(value);
}

function change(figure, now, before) {
  if (now === null || now === undefined || before === null || before === undefined) return null;
  const delta = now - before;
  if (delta === 0) return { text: t("no_change"), arrow: "■", kind: "same" };
  const better = BETTER[figure] === 0 ? "neutral" : Math.sign(delta) === BETTER[figure] ? "better" : "worse";
  let text;
  if (figure === "share_closed_within_sla") text = `${f.signed(delta * 100)} pp`;
  else if (figure === "median_hours_to_close") text = t("hours", { n: f.signed(delta) });
  else text = `${f.signed(delta)}${before ? ` (${f.signedPercent(delta / before)})` : ""}`;
  return { text, arrow: delta > 0 ? "▲" : "▼", kind: better };
}

/** The KPI tiles of /api/v1/requests/summary, each with its change against the previous period. */
export function renderKpis(panel, summary, onDistrict) {
  const heading = panel.querySelector('[data-period="today"] h3');
  heading.textContent = summary?.date ? `${t("today")}, ${f.localDate(summary.date)}` : t("today");
  for (const [period, previous, versus] of PERIODS) {
    const row = panel.querySelector(`[data-period="${period}"] .tiles`);
    const now = summary?.[period] ?? {};
    const before = summary?.[previous] ?? {};
    fill(row, ...TILE_FIGURES.map((figure) => {
      const delta = change(figure, now[figure], before[figure]);
      return el("div", { class: "tile", "data-kpi": `${period}.${figure}` },
        el("p", { class: "tile-label" }, t(figure)),
        el("p", { class: "tile-value", "data-value": now[figure] ?? "" }, shown(figure, now[figure])),
        delta ? el("p", { class: `tile-change ${delta.kind}` },
          el("span", { "aria-hidden": "true" }, delta.arrow), ` ${delta.text} `, el("span", { class: "versus" }, t(versus)))
          : el("p", { class: "tile-change" }, " "));
    }));
  }
  const worst = panel.querySelector("#worst");
  fill(worst, ...(summary?.worst_districts ?? []).map((d) => el("li", {},
    el("button", { type: "button", class: "link", "data-district": d.district_id, onclick: () => onDistrict(d.district_id) },
      d.name ?? d.district_id),
    ` ${f.number(d.backlog)} · ${f.percent(d.share_closed_within_sla)}`)));
}

export const MEASURES = ["per_1000_residents", "backlog", "new", "share_closed_within_sla", "median_hours_to_close",
  "sensor_pm25", "turnout"];

export function measureValue(measure, value) {
  if (measure === "share_closed_within_sla") return f.percent(value);
  if (measure === "median_hours_to_close") return f.hours(value);
  if (measure === "per_1000_residents" || measure === "sensor_pm25" || measure === "turnout") return f.measure(value);
  return f.number(value);
}

/** The legend of the district colours (and of the density cells when shown). */
export function renderLegend(node, measure, cuts, densityCuts, hasValues) {
  const items = [];
  if (cuts.length) {
    [null, ...cuts].forEach((low, index) => {
      const high = cuts[index];
      const text = low === null ? `< ${measureValue(measure, high)}` : high === undefined ? `≥ ${measureValue(measure, low)}`
        : `${measureValue(measure, low)} – ${measureValue(measure, high)}`;
      items.push(swatch(SEQUENTIAL[index], text));
    });
  } else if (hasValues) {
    items.push(swatch(SEQUENTIAL[0], t("all")));
  }
  items.push(swatch(NO_DATA, t("no_data"), "dashed"));
  const children = [el("p", { class: "legend-title" }, t(measure)), el("ul", {}, ...items)];
  if (densityCuts) {
    children.push(el("p", { class: "legend-title" }, t("density_layer")),
      el("ul", {}, ...[null, ...densityCuts].map((low, i) => swatch(DENSITY[i],
        low === null ? `< ${f.number(densityCuts[0] ?? 1)}` : `≥ ${f.number(low)}`))));
  }
  fill(node, ...children);
}

function swatch(colour, text, extra = "") {
  const box = el("span", { class: `swatch ${extra}`, "aria-hidden": "true" });
  box.style.background = colour;
  return el("li", {}, box, text);
}

/** The districts as a table: the map's figures for keyboard and screen-reader users. */
export function renderDistrictTable(table, features, measure, values, selected, onDistrict) {
  fill(table.tHead, el("tr", {}, ...["district", "residents", "new", "backlog", "share_closed_within_sla", measure]
    .map((key) => el("th", { scope: "col" }, t(key)))));
  const rows = [...features].sort((a, b) => (values.get(b.properties.district_id) ?? -Infinity)
    - (values.get(a.properties.district_id) ?? -Infinity));
  fill(table.tBodies[0], ...rows.map(({ properties: p }) => el("tr", { class: p.district_id === selected ? "selected" : null },
    el("th", { scope: "row" }, el("button", { type: "button", class: "link", onclick: () => onDistrict(p.district_id),
      "aria-pressed": String(p.district_id === selected) }, p.name ?? p.district_id)),
    el("td", { class: "num" }, f.number(p.residents)), el("td", { class: "num" }, f.number(p.new)),
    el("td", { class: "num" }, f.number(p.backlog)), el("td", { class: "num" }, f.percent(p.share_closed_within_sla)),
    el("td", { class: "num" }, measureValue(measure, values.get(p.district_id))))));
}

const seconds = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

export function renderTrends(panel, trends, charts, categoryLabel) {
  const days = trends?.days ?? [];
  const x = days.map((d) => seconds(d.date));
  const dayFormat = (s) => f.localDate(new Date(s * 1000).toISOString().slice(0, 10));
  charts.days.show(x, [days.map((d) => d.new), days.map((d) => d.closed)], { x: dayFormat, y: (v) => f.number(v) });
  charts.sla.show(x, [days.map((d) => d.share_closed_within_sla)], { x: dayFormat, y: (v) => f.percent(v) });
  breakdown(panel.querySelector("#by-category"), trends?.by_category ?? [], "category", categoryLabel);
  breakdown(panel.querySelector("#by-department"), trends?.by_department ?? [], "department", (d) => d);
}

function breakdown(table, rows, key, label) {
  const most = Math.max(1, ...rows.map((r) => r.new ?? 0));
  fill(table.tHead, el("tr", {}, ...[key, "new", "closed", "share_closed_within_sla"].map((k) => el("th", { scope: "col" }, t(k)))));
  fill(table.tBodies[0], ...[...rows].sort((a, b) => (b.new ?? 0) - (a.new ?? 0)).map((row) => {
    const bar = el("span", { class: "bar", "aria-hidden": "true" });
    bar.style.width = `${Math.round(((row.new ?? 0) / most) * 100)}%`;
    return el("tr", {}, el("th", { scope: "row" }, label(row[key]) ?? t("no_data")),
      el("td", { class: "num" }, el("span", { class: "bar-cell" }, bar, el("span", {}, f.number(row.new)))),
      el("td", { class: "num" }, f.number(row.closed)), el("td", { class: "num" }, f.percent(row.share_closed_within_sla)));
  }));
}

export const OVERDUE_COLUMNS = ["service_request_id", "requested_datetime", "district", "category", "description",
  "address", "sla_due_datetime", "hours_overdue"];
const SORTABLE = { service_request_id: "service_request_id", requested_datetime: "requested_datetime",
  district: "district_id", category: "category", sla_due_datetime: "sla_due_datetime", hours_overdue: "hours_overdue" };

export const dueOf = (row) => row.sla_due_datetime ?? row.due_datetime ?? null;

/** Open requests past due: sortable headers (the server sorts), a row picks the request on the map. */
export function renderOverdue(panel, body, sort, { onSort, onPick, categoryLabel, picked }) {
  const table = panel.querySelector("#overdue-table");
  const [descending, field] = sort.startsWith("-") ? [true, sort.slice(1)] : [false, sort];
  fill(table.tHead, el("tr", {}, ...OVERDUE_COLUMNS.map((column) => {
    const key = SORTABLE[column];
    if (!key) return el("th", { scope: "col" }, t(column));
    const active = key === field;
    return el("th", { scope: "col", "aria-sort": active ? (descending ? "descending" : "ascending") : "none" },
      el("button", { type: "button", class: "sort", "data-sort": key,
        onclick: () => onSort(active && !descending ? `-${key}` : key) },
        t(column), el("span", { "aria-hidden": "true" }, active ? (descending ? " ▼" : " ▲") : " ↕")));
  }), el("th", { scope: "col", class: "visually-hidden" }, t("show_on_map"))));
  const items = body?.items ?? [];
  fill(table.tBodies[0], ...items.map((row) => el("tr", {
    "data-request": row.service_request_id, class: row.service_request_id === picked ? "selected" : null },
    el("td", {}, row.service_request_id), el("td", {}, f.dateTime(row.requested_datetime)),
    el("td", {}, row.district_name ?? row.district_id ?? t("no_data")), el("td", {}, categoryLabel(row.category) ?? t("no_data")),
    el("td", { class: "text" }, row.description ?? ""), el("td", {}, row.address ?? ""),
    el("td", {}, f.dateTime(dueOf(row))), el("td", { class: "num" }, f.decimal(row.hours_overdue)),
    el("td", {}, el("button", { type: "button", class: "link", onclick: () => onPick(row),
      "aria-label": `${t("show_on_map")}: ${row.service_request_id}` }, t("on_map"))))));
  const count = panel.querySelector("#overdue-count");
  count.textContent = items.length ? t("more_rows", { shown: f.number(items.length), total: f.number(body.total ?? items.length) })
    : t("none_overdue");
}

/** The district colours of `measure`: request figures, sensor means, or turnout per district. */
export function districtValues(measure, features, stations, turnout) {
  const values = new Map();
  if (measure === "sensor_pm25") {
    const sums = new Map();
    for (const s of stations ?? []) {
      const value = s.latest?.pm25?.value;
      if (!s.district_id || value === null || value === undefined) continue;
      const [sum, n] = sums.get(s.district_id) ?? [0, 0];
      sums.set(s.district_id, [sum + value, n + 1]);
    }
    for (const [id, [sum, n]] of sums) values.set(id, sum / n);
  } else if (measure === "turnout") {
    for (const g of turnout?.groups ?? []) values.set(g.group_value, g.ballots_per_1000 ?? null);
  } else {
    for (const { properties: p } of features) values.set(p.district_id, p[measure] ?? null);
  }
  return values;
}

export { breaks, classOf };
