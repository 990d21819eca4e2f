// The sensors panel (latest readings, hourly chart per station, exceedances) and the
// participation panel (projects under greedy and equal shares, turnout by district).
import { el, fill } from "./dom.js";
import * as f from "./i18n.js";
import { bandColour } from "./palette.js";

const { t } = f;
const SHOWN_PARAMETERS = ["pm25", "pm10", "no2", "o3"];

export const bandLabel = (band) => (band ? t(`band_${band}`) : t("no_data"));

export function renderStations(panel, stations, selected, onStation, districtName) {
  const table = panel.querySelector("#stations");
  if (!stations.length) {
    fill(table.tHead);
    fill(table.tBodies[0], el("tr", {}, el("td", {}, t("no_stations"))));
    return;
  }
  fill(table.tHead, el("tr", {}, el("th", { scope: "col" }, t("station")), el("th", { scope: "col" }, t("district")),
    ...SHOWN_PARAMETERS.map((p) => el("th", { scope: "col" }, p.toUpperCase().replace("PM25", "PM2.5"))),
    el("th", { scope: "col" }, t("band")), el("th", { scope: "col" }, t("latest"))));
  fill(table.tBodies[0], ...stations.map((s) => {
    const band = s.latest?.pm25?.band ?? s.latest?.pm10?.band ?? null;
    const dot = el("span", { class: "swatch", "aria-hidden": "true" });
    dot.style.background = bandColour(band);
    const newest = Object.values(s.latest ?? {}).map((r) => r.period_start).sort().at(-1);
    return el("tr", { class: s.station_id === selected ? "selected" : null, "data-station": s.station_id },
      el("th", { scope: "row" }, el("button", { type: "button", class: "link", "aria-pressed": String(s.station_id === selected),
        onclick: () => onStation(s.station_id) }, s.station_name ?? s.station_id)),
      el("td", {}, districtName(s.district_id) ?? t("no_data")),
      ...SHOWN_PARAMETERS.map((p) => el("td", { class: "num" }, s.latest?.[p] ? f.decimal(s.latest[p].value) : "–")),
      el("td", {}, dot, bandLabel(band)), el("td", {}, f.dateTime(newest)));
  }));
}

export function renderParameters(select, station, chosen) {
  const parameters = Object.keys(station?.latest ?? {});
  fill(select, ...parameters.map((p) => el("option", { value: p, selected: p === chosen }, p)));
  return parameters.includes(chosen) ? chosen : parameters[0] ?? null;
}

export function renderHourly(chart, hourly) {
  const rows = hourly?.hours ?? [];
  const x = rows.map((h) => Date.parse(h.period_start) / 1000);
  chart.show(x, [rows.map((h) => h.mean ?? null)], {
    x: f.hourLabel, y: (v) => f.decimal(v) });
}

export function renderAlerts(list, alerts, stationName) {
  const newest = [...alerts].reverse().slice(0, 20);
  if (!newest.length) {
    fill(list, el("li", {}, t("no_alerts")));
    return;
  }
  fill(list, ...newest.map((a) => el("li", {},
    el("strong", {}, stationName(a.station_id) ?? a.station_id), ` · ${a.parameter} ${f.decimal(a.value)} `,
    `(${t("standard")}: ${a.standard ?? ""}, ${a.averaging ?? ""} > ${f.decimal(a.threshold)}) · `,
    f.dateTime(a.raised_at ?? a.period_start ?? a.date))));
}

export function renderElections(panel, elections, chosen, onElection) {
  const select = panel.querySelector("#election");
  fill(select, ...elections.map((e) => el("option", { value: e.election_id, selected: e.election_id === chosen },
    `${e.election_id} (${t(`status_${e.status}`)})`)));
  select.onchange = () => onElection(select.value);
  const election = elections.find((e) => e.election_id === chosen);
  panel.querySelector("#election-summary").textContent = election
    ? `${t("ballots")}: ${f.number(election.ballots)} · ${t("status")}: ${t(`status_${election.status}`)} · ${f.dateTime(election.last_update)}`
    : t("no_elections");
}

export function renderProjects(table, body) {
  const mark = (selected, rule) => (selected === null || selected === undefined
    ? (rule === "mes" && body?.mes === "at_close" ? t("at_close") : t("not_selected"))
    : selected ? `✓ ${t("selected")}` : t("not_selected"));
  fill(table.tHead, el("tr", {}, ...["project", "cost", "votes", "share", "greedy", "mes"].map((k) => el("th", { scope: "col" }, t(k)))));
  fill(table.tBodies[0], ...(body?.projects ?? []).map((p) => el("tr", {},
    el("th", { scope: "row" }, p.name ?? p.project_id), el("td", { class: "num" }, f.number(p.cost)),
    el("td", { class: "num" }, p.suppressed ? t("suppressed") : f.number(p.votes)),
    el("td", { class: "num" }, p.suppressed ? "–" : f.percent(p.share)),
    el("td", {}, mark(p.selected_greedy, "greedy")), el("td", {}, mark(p.selected_mes, "mes")))));
}

export function renderTurnout(table, body, selected) {
  fill(table.tHead, el("tr", {}, ...["district", "ballots", "share", "turnout"].map((k) => el("th", { scope: "col" }, t(k)))));
  fill(table.tBodies[0], ...(body?.groups ?? []).map((g) => el("tr", { class: g.group_value === selected ? "selected" : null },
    el("th", { scope: "row" }, g.group_name ?? g.group_value),
    el("td", { class: "num" }, g.suppressed ? t("suppressed") : f.number(g.ballots)),
    el("td", { class: "num" }, g.suppressed ? "–" : f.percent(g.share_of_ballots)),
    el("td", { class: "num" }, g.suppressed ? "–" : f.decimal(g.ballots_per_1000)))));
}
