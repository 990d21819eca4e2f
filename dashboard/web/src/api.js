// The feed's API, same origin only: every figure on the page comes from one of these calls.

export const FILTERS = ["date_from", "date_to", "district", "category", "department"];

export class ApiError extends Error {}

/** GET `path` with `params` (empty ones left out) as JSON; an ApiError says what the server said. */
export async function getJSON(path, params = {}, { signal } = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, value);
  }
  const url = query.size ? `${path}?${query}` : path;
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, signal, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(`${path}: ${error.message}`);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok && !(body && path === "/health")) {
    throw new ApiError(body?.detail ? String(body.detail) : `${path}: HTTP ${response.status}`);
  }
  return body;
}

/** The filters of `state` as query parameters. */
export function filterParams(state, { without = [] } = {}) {
  const params = {};
  for (const name of FILTERS) if (!without.includes(name) && state[name]) params[name] = state[name];
  return params;
}
