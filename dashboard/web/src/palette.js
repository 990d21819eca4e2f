// Colour-blind-safe palettes: viridis steps for measures and air-quality bands (they stay
// ordered for every common colour-vision deficiency and in greyscale), Okabe-Ito for lines.

export const SEQUENTIAL = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487"];
export const DENSITY = ["#fcfdbf", "#feb078", "#f1605d", "#b73779", "#721f81", "#2c115f"]; // magma
export const NO_DATA = "#d9d9d9";
export const BANDS = ["good", "fair", "moderate", "poor", "very poor", "extremely poor"];
export const BAND_COLOURS = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"];
export const LINES = { new: "#0072B2", closed: "#E69F00", sla: "#009E73", min: "#56B4E9" };

export const bandColour = (band) => BAND_COLOURS[BANDS.indexOf(band)] ?? NO_DATA;

/** Class breaks over the values present: `count` quantile classes (fewer when values repeat). */
export function breaks(values, count = SEQUENTIAL.length) {
  const sorted = values.filter((v) => v !== null && v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return [];
  const cuts = [];
  for (let i = 1; i < count; i += 1) cuts.push(sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / count))]);
  return [...new Set(cuts)].filter((cut) => cut > sorted[0]);
}

export function classOf(value, cuts) {
  if (value === null || value === undefined || Number.isNaN(value)) return -1;
  let index = 0;
  while (index < cuts.length && value >= cuts[index]) index += 1;
  return index;
}
