// The UrbanPulse dashboard: one page over the feed's API, filters in the URL, live from /api/v1/stream.
import "leaflet/dist/leaflet.css";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { filterParams, getJSON } from "./api.js";
import { Chart, hourlySeries, newClosedSeries, slaSeries } from "./charts.js";
import { el, fill, panelError } from "./dom.js";
import * as f from "./i18n.js";
import { LiveFeed } from "./live.js";
import { CityMap } from "./map.js";
import * as other from "./other_panels.js";
import * as rp from "./requests_panels.js";
import { readState, writeState } from "./state.js";

const { t } = f;
const config = JSON.parse(document.getElementById("urbanpulse-config").textContent);
const $ = (selector) => document.querySelector(selector);
const panels = { kpis: $("#kpis"), map: $("#map-panel"), trends: $("#trends"), overdue: $("#overdue"),
  sensors: $("#sensors"), participation: $("#participation") };
const data = { districts: [], figures: [], summary: null, trends: null, overdue: null, density: null, stations: [],
  alerts: [], hourly: null, elections: [], projects: null, turnout: null };
const generation = { requests: 0, sensors: 0, participation: 0, hourly: 0 };
let state = readState();
let picked = null;

f.setLanguage(state.lang ?? config.language, config.timezone);
const charts = {
  days: new Chart($("#chart-days"), newClosedSeries(t)),
  sla: new Chart($("#chart-sla"), slaSeries(t), { percent: true }),
  hourly: new Chart($("#chart-hourly"), hourlySeries(t)),
};
const cityMap = new CityMap($("#map"), {
  tileUrl: config.tile_url,
  onDistrict: (id) => setFilters({ district: state.district === id ? "" : id }),
  onStation: (id) => chooseStation(id),
});

const categoryLabel = (code) => (code ? config.categories?.[code]?.[f.currentLanguage()] ?? code : null);
const districtName = (id) => (id ? data.districts.find((d) => d.district_id === id)?.district_name ?? id : null);
const stationName = (id) => data.stations.find((s) => s.station_id === id)?.station_name ?? id;

// ------------------------------------------------------------------ loading
async function guarded(kind, panelList, load) {
  const mine = ++generation[kind];
  try {
    const result = await load();
    if (mine !== generation[kind]) return false;
    for (const panel of panelList) panelError(panel, null);
    return result ?? true;
  } catch (error) {
    if (mine === generation[kind]) for (const panel of panelList) panelError(panel, t("error", { detail: error.message }));
    return false;
  }
}

function loadRequests() {
  const filters = filterParams(state);
  return guarded("requests", [panels.kpis, panels.map, panels.trends, panels.overdue], async () => {
    const [summary, figures, trends, overdue, density] = await Promise.all([
      getJSON("/api/v1/requests/summary", filters),
      getJSON("/api/v1/districts/figures", filterParams(state, { without: ["district"] })),
      getJSON("/api/v1/requests/trends", filters),
      getJSON("/api/v1/requests", { ...filters, status: "open", overdue: "true", sort: state.sort, limit: 100 }),
      state.density === "1" ? getJSON("/api/v1/requests/density", { ...filters, resolution: state.resolution }) : null,
    ]);
    return () => Object.assign(data, { summary, figures: figures.features ?? [], trends, overdue, density });
  }).then((apply) => {
    if (typeof apply !== "function") return;
    apply();
    renderRequests();
    if (!performance.getEntriesByName("urbanpulse-meaningful").length) {
      performance.mark("urbanpulse-meaningful"); // KPI tiles and district map drawn with the API's figures
    }
  });
}

function loadSensors() {
  return guarded("sensors", [panels.sensors], async () => {
    const [stations, alerts] = await Promise.all([getJSON("/api/v1/sensors/stations"), getJSON("/api/v1/sensors/alerts")]);
    return () => Object.assign(data, { stations: stations.stations ?? [], alerts: alerts.alerts ?? [] });
  }).then((apply) => {
    if (typeof apply !== "function") return;
    apply();
    renderSensors();
    renderMap();
    loadHourly();
  });
}

function loadHourly() {
  const station = data.stations.find((s) => s.station_id === state.station) ?? visibleStations()[0];
  const parameter = other.renderParameters($("#parameter"), station, state.parameter ?? "pm25");
  if (!station || !parameter) {
    data.hourly = null;
    charts.hourly.reset();
    return Promise.resolve();
  }
  $("#hourly-title").textContent = `${t("hourly")}: ${station.station_name ?? station.station_id}, ${parameter}`;
  return guarded("hourly", [panels.sensors], () => getJSON(
    `/api/v1/sensors/${encodeURIComponent(station.station_id)}/hourly`, { parameter, hours: 48 })).then((hourly) => {
    if (!hourly || hourly === true) return;
    data.hourly = hourly;
    other.renderHourly(charts.hourly, hourly);
  });
}

function loadParticipation() {
  return guarded("participation", [panels.participation], async () => {
    const { elections = [] } = await getJSON("/api/v1/participation/elections");
    const chosen = elections.find((e) => e.election_id === state.election) ?? elections.find((e) => e.status === "open") ?? elections[0];
    if (!chosen) return () => Object.assign(data, { elections, projects: null, turnout: null, election: null });
    const id = encodeURIComponent(chosen.election_id);
    const [projects, turnout] = await Promise.all([getJSON(`/api/v1/participation/${id}/projects`),
      getJSON(`/api/v1/participation/${id}/turnout`, { group: "district" })]);
    return () => Object.assign(data, { elections, projects, turnout, election: chosen.election_id });
  }).then((apply) => {
    if (typeof apply !== "function") return;
    apply();
    renderParticipation();
    if (state.measure === "turnout") renderMap();
  });
}

const live = new LiveFeed({ requests: loadRequests, sensors: loadSensors, participation: loadParticipation }, $("#live"));

// ------------------------------------------------------------------ rendering
function renderRequests() {
  rp.renderKpis(panels.kpis, data.summary, (id) => setFilters({ district: id }));
  renderMap();
  rp.renderTrends(panels.trends, data.trends, charts, categoryLabel);
  rp.renderOverdue(panels.overdue, data.overdue, state.sort, {
    onSort: (sort) => { state.sort = sort; writeState(state, { push: false }); loadRequests(); },
    onPick: pickRequest, categoryLabel, picked,
  });
}

function renderMap() {
  const values = rp.districtValues(state.measure, data.figures, visibleStations(true), data.turnout);
  const label = (feature, value) => `${feature.properties.name ?? feature.properties.district_id}: ${t(state.measure)} `
    + `${rp.measureValue(state.measure, value)}`;
  const cuts = cityMap.showDistricts(data.figures, values, state.district, label);
  const densityCuts = cityMap.showDensity(Number(state.resolution), data.density?.cells ?? [], state.density === "1");
  cityMap.showStations(visibleStations(true), state.stations === "1",
    (s, band) => `${s.station_name ?? s.station_id}: ${other.bandLabel(band)}`);
  const hasValues = [...values.values()].some((v) => v !== null && v !== undefined);
  rp.renderLegend($("#legend"), state.measure, cuts, state.density === "1" ? densityCuts : null, hasValues);
  rp.renderDistrictTable($("#districts"), data.figures, state.measure, values, state.district,
    (id) => setFilters({ district: state.district === id ? "" : id }));
}

function visibleStations(all = false) {
  if (all || !state.district) return data.stations;
  return data.stations.filter((s) => s.district_id === state.district);
}

function renderSensors() {
  other.renderStations(panels.sensors, visibleStations(), state.station, chooseStation, districtName);
  other.renderAlerts($("#alerts"), data.alerts.filter((a) => !state.district
    || data.stations.find((s) => s.station_id === a.station_id)?.district_id === state.district), stationName);
}

function renderParticipation() {
  other.renderElections(panels.participation, data.elections, data.election, (id) => {
    state.election = id;
    writeState(state, { push: false });
    loadParticipation();
  });
  other.renderProjects($("#projects"), data.projects);
  other.renderTurnout($("#turnout"), data.turnout, state.district);
}

function renderAll() {
  translateControls();
  resetCharts();
  renderRequests();
  renderSensors();
  renderParticipation();
  if (data.hourly) other.renderHourly(charts.hourly, data.hourly);
  live.render();
}

function pickRequest(row) {
  picked = row.service_request_id;
  const shown = cityMap.pick(row, [String(row.service_request_id), row.description ?? "", row.address ?? ""]);
  for (const tr of panels.overdue.querySelectorAll("tbody tr")) tr.classList.toggle("selected", tr.dataset.request === String(picked));
  if (shown) $("#map").scrollIntoView({ block: "nearest" });
}

function chooseStation(id) {
  state.station = id;
  writeState(state, { push: false });
  renderSensors();
  loadHourly();
}

// ------------------------------------------------------------------ filters and controls
const form = $("#filters");

function options(select, entries, chosen) {
  fill(select, el("option", { value: "" }, t("all")),
    ...entries.map(([value, label]) => el("option", { value, selected: value === chosen }, label)));
  select.value = chosen ?? "";
}

function translateControls() {
  f.translatePage();
  options(form.elements.district, data.districts.map((d) => [d.district_id, d.district_name ?? d.district_id]), state.district);
  options(form.elements.category, Object.keys(config.categories ?? {}).map((c) => [c, categoryLabel(c)]), state.category);
  options(form.elements.department, (config.departments ?? []).map((d) => [d, d]), state.department);
  fill($("#measure"), ...rp.MEASURES.map((m) => el("option", { value: m, selected: m === state.measure }, t(m))));
  form.elements.date_from.value = state.date_from ?? "";
  form.elements.date_to.value = state.date_to ?? "";
  $("#density-on").checked = state.density === "1";
  $("#stations-on").checked = state.stations === "1";
  $("#resolution").value = state.resolution;
  $("#city-name").textContent = config.city;
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === f.currentLanguage()));
  }
  live.render();
}

function resetCharts() {
  for (const chart of Object.values(charts)) chart.reset();
}

function setFilters(changes) {
  Object.assign(state, changes);
  writeState(state);
  translateControls();
  loadRequests();
  renderSensors();
  renderParticipation();
  loadHourly();
}

form.addEventListener("change", (event) => {
  const { name, value } = event.target;
  if (["date_from", "date_to", "district", "category", "department"].includes(name)) setFilters({ [name]: value });
});
form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("reset", (event) => {
  event.preventDefault();
  setFilters({ date_from: "", date_to: "", district: "", category: "", department: "" });
});
$("#measure").addEventListener("change", (event) => {
  state.measure = event.target.value;
  writeState(state);
  renderMap();
});
$("#density-on").addEventListener("change", (event) => {
  state.density = event.target.checked ? "1" : "0";
  writeState(state);
  if (state.density === "1") loadRequests();
  else renderMap();
});
$("#resolution").addEventListener("change", (event) => {
  state.resolution = event.target.value;
  writeState(state);
  loadRequests();
});
$("#stations-on").addEventListener("change", (event) => {
  state.stations = event.target.checked ? "1" : "0";
  writeState(state);
  renderMap();
});
$("#parameter").addEventListener("change", (event) => {
  state.parameter = event.target.value;
  writeState(state, { push: false });
  loadHourly();
});
for (const button of document.querySelectorAll("[data-lang]")) {
  button.addEventListener("click", () => {
    state.lang = button.dataset.lang;
    writeState(state, { push: false });
    f.setLanguage(state.lang, config.timezone);
    renderAll();
  });
}
window.addEventListener("popstate", () => {
  state = readState();
  f.setLanguage(state.lang ?? config.language, config.timezone);
  renderAll();
  refreshEverything();
});

// ------------------------------------------------------------------ start
async function refreshEverything() {
  await Promise.all([loadRequests(), loadSensors(), loadParticipation()]);
  live.updated = new Date();
  live.render();
}

async function loadDistricts() {
  try {
    data.districts = (await getJSON("/api/v1/districts")).districts ?? [];
  } catch (error) {
    panelError(panels.map, t("error", { detail: error.message }));
  }
  translateControls();
}

async function start() {
  translateControls();
  if (config.tile_attribution) {
    const line = $("#tile-attribution");
    line.textContent = config.tile_attribution;
    line.hidden = false;
  }
  // the tiles and the map first (a browser opens 6 connections to a server, one is the stream)
  await Promise.all([loadRequests(), loadDistricts()]);
  live.connect();
  await Promise.all([loadSensors(), loadParticipation()]);
  live.updated = new Date();
  live.render();
  live.watchHealth();
  document.body.dataset.ready = "true";
  performance.mark("urbanpulse-ready");  // tiles, map, charts and tables drawn with the API's figures
}

start();
