// Time-series charts (uPlot): daily new vs closed, daily SLA share, a station's hourly means.
import uPlot from "uplot";
import { LINES } from "./palette.js";

const HEIGHT = 220;

/** A chart in `node` that keeps to the node's width; labels and formats are read when it is
 * (re)built, so a language switch calls `reset()` and shows the data again. */
export class Chart {
  constructor(node, series, { percent = false } = {}) {
    this.node = node;
    this.series = series;
    this.percent = percent;
    this.plot = null;
    this.observer = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.observer.observe(node);
  }

  size() {
    return { width: Math.max(200, this.node.clientWidth), height: HEIGHT };
  }

  /** `x`: seconds since the epoch; `ys`: one array per series (null for a gap); `formats`: {x, y}. */
  show(x, ys, formats) {
    const data = [x, ...ys];
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const shown = (format) => (_, v) => (v === null || v === undefined ? "–" : format(v));
    this.plot = new uPlot({
      ...this.size(),
      series: [
        { value: shown(formats.x) },
        ...this.series.map((s) => ({ label: s.label(), stroke: s.colour, width: 2, dash: s.dash, value: shown(formats.y) })),
      ],
      axes: [
        { values: (_, ticks) => ticks.map(formats.x), space: 70 },
        { values: (_, ticks) => ticks.map(formats.y), size: 64 },
      ],
      scales: this.percent ? { y: { range: [0, 1] } } : {},
    }, data, this.node);
  }

  reset() {
    this.plot?.destroy();
    this.plot = null;
  }
}

export const newClosedSeries = (t) => [
  { label: () => t("new"), colour: LINES.new },
  { label: () => t("closed"), colour: LINES.closed, dash: [6, 4] },
];
export const slaSeries = (t) => [{ label: () => t("share_closed_within_sla"), colour: LINES.sla }];
export const hourlySeries = (t) => [{ label: () => t("hourly"), colour: LINES.new }];
