// The view lives in the URL (filters, measure, layers, language), so a link shares it and a
// reload restores it.
import { FILTERS } from "./api.js";

const VIEW = [...FILTERS, "measure", "resolution", "density", "stations", "lang", "election", "station", "parameter", "sort"];
const DEFAULTS = { measure: "per_1000_residents", resolution: "8", density: "0", stations: "1", sort: "-hours_overdue" };

export function readState(location = window.location) {
  const query = new URLSearchParams(location.search);
  const state = { ...DEFAULTS };
  for (const name of VIEW) if (query.get(name)) state[name] = query.get(name);
  return state;
}

/** The URL of `state`: only what differs from the defaults. */
export function urlOf(state) {
  const query = new URLSearchParams();
  for (const name of VIEW) {
    const value = state[name];
    if (value !== undefined && value !== null && value !== "" && value !== DEFAULTS[name]) query.set(name, value);
  }
  const search = query.toString();
  return `${window.location.pathname}${search ? `?${search}` : ""}`;
}

export function writeState(state, { push = true } = {}) {
  const url = urlOf(state);
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}
