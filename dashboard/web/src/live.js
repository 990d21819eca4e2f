// Live: change events from /api/v1/stream reload the figures they touch, and a status line says
// whether the feed is live and how far behind the stream is (from /health).
import { getJSON } from "./api.js";
import * as f from "./i18n.js";

const { t } = f;
const FIRST_DELAY_MS = 100; // a change is shown this soon after it arrives ...
const BUSY_GAP_MS = 400; // ... and while they keep coming, each kind is loaded once per this gap
const HEALTH_EVERY_MS = 5000;
const SAFETY_RELOAD_MS = 60000; // a request's published (scrubbed) text follows its figures without an event
const BEHIND_SECONDS = 30;

export class LiveFeed {
  constructor(loaders, node) {
    this.loaders = loaders;
    this.node = node;
    this.text = node.querySelector("#live-text");
    this.connected = false;
    this.everConnected = false;
    this.health = null;
    this.updated = null;
    this.changes = 0;
    this.pending = new Set();
    this.timer = null;
    this.running = false;
  }

  connect() {
    const source = new EventSource("/api/v1/stream");
    source.addEventListener("open", () => {
      // the figures were loaded before the stream opened: a change committed in between is caught
      // by loading them once more (a reconnect resumes with Last-Event-ID and misses nothing)
      if (!this.everConnected) this.schedule("requests");
      this.connected = true;
      this.everConnected = true;
      this.render();
    });
    source.addEventListener("change", (event) => {
      this.changes += 1;
      let kind = "requests";
      try {
        kind = JSON.parse(event.data).kind ?? "requests";
      } catch {
        /* a change we cannot read still means the figures moved */
      }
      this.schedule(kind);
    });
    source.addEventListener("error", () => {
      this.connected = source.readyState === EventSource.OPEN;
      this.render();
      if (source.readyState === EventSource.CLOSED) setTimeout(() => this.connect(), HEALTH_EVERY_MS);
    });
  }

  watchHealth() {
    this.pollHealth();
    setInterval(() => this.pollHealth(), HEALTH_EVERY_MS);
    setInterval(() => this.schedule("requests"), SAFETY_RELOAD_MS);
  }

  /** Changes arrive up to hundreds a second: each kind is loaded at most once per flush. */
  schedule(kind) {
    this.pending.add(this.loaders[kind] ? kind : "requests");
    if (!this.timer && !this.running) this.timer = setTimeout(() => this.flush(), FIRST_DELAY_MS);
  }

  async flush() {
    this.timer = null;
    this.running = true;
    const kinds = [...this.pending];
    this.pending.clear();
    await Promise.all(kinds.map((kind) => this.loaders[kind]()));
    this.updated = new Date();
    this.render();
    this.running = false;
    if (this.pending.size) this.timer = setTimeout(() => this.flush(), BUSY_GAP_MS);
  }

  async pollHealth() {
    try {
      this.health = await getJSON("/health");
    } catch {
      this.health = null;
    }
    this.render();
  }

  render() {
    const health = this.health;
    const behind = health?.behind_seconds ?? 0;
    const waiting = Object.values(health?.lag_segments ?? {}).reduce((a, b) => a + b, 0);
    let kind;
    let message;
    if (!this.connected) {
      kind = "lost";
      message = this.everConnected ? t("live_lost") : t("live_connecting");
    } else if (health && (health.status === "lagging" || health.status === "not_following" || behind > BEHIND_SECONDS)) {
      kind = "behind";
      message = t("live_behind", { behind: f.duration(behind) })
        + (waiting ? ` · ${t("live_waiting_segments", { count: f.number(waiting) })}` : "");
    } else {
      kind = "ok";
      message = t("live_ok");
    }
    if (this.updated) message += ` · ${t("live_updated", { time: f.time(this.updated) })}`;
    this.node.dataset.state = kind;
    this.node.dataset.updatedAt = this.updated ? String(this.updated.getTime()) : "";
    this.node.dataset.changes = String(this.changes); // change events received (read by the benchmark)
    this.text.textContent = message;
  }
}
