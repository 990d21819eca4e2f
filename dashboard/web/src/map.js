// The map: the city pack's district polygons (no tile server needed), an H3 density layer on a
// canvas, sensor stations as points by air-quality band, and the request picked in a table.
import L from "leaflet";
import { cellToBoundary } from "h3-js";
import { el } from "./dom.js";
import { NO_DATA, DENSITY, bandColour, breaks, classOf, SEQUENTIAL } from "./palette.js";

export class CityMap {
  constructor(node, { tileUrl, onDistrict, onStation }) {
    this.map = L.map(node, { attributionControl: false, zoomSnap: 0.25, preferCanvas: false, keyboard: true });
    this.map.setView([55.75, 37.62], 10);
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(this.map);
    for (const [pane, z] of [["density", 420], ["stations", 450], ["picked", 460]]) {
      this.map.createPane(pane).style.zIndex = String(z);
    }
    this.map.getPane("density").style.pointerEvents = "none";
    this.densityRenderer = L.canvas({ pane: "density", padding: 0.2 });
    this.districtLayers = new Map();
    this.cells = new Map();
    this.stationLayers = new Map();
    this.districts = L.featureGroup().addTo(this.map);
    this.density = L.featureGroup().addTo(this.map);
    this.stations = L.featureGroup().addTo(this.map);
    this.onDistrict = onDistrict;
    this.onStation = onStation;
    this.fitted = false;
    this.resolution = null;
  }

  /** Draw (once) and colour the districts: `values` by district id, `label(feature)` for readers. */
  showDistricts(features, values, selected, label) {
    const cuts = breaks([...values.values()]);
    for (const feature of features) {
      const id = feature.properties.district_id;
      let layer = this.districtLayers.get(id);
      if (!layer) {
        layer = L.geoJSON(feature, { style: { className: "district", weight: 1 } }).getLayers()[0];
        layer.on("click", () => this.onDistrict(id));
        layer.addTo(this.districts);
        const path = layer.getElement();
        path.setAttribute("tabindex", "0");
        path.setAttribute("role", "button");
        path.dataset.district = id;
        path.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            this.onDistrict(id);
          }
        });
        this.districtLayers.set(id, layer);
      }
      const value = values.get(id);
      const step = classOf(value, cuts);
      const isSelected = id === selected;
      layer.setStyle({
        fillColor: step < 0 ? NO_DATA : SEQUENTIAL[step], fillOpacity: 0.6,
        color: isSelected ? "#000000" : "#4d4d4d", weight: isSelected ? 4 : 1, dashArray: step < 0 ? "4 3" : null,
      });
      const text = label(feature, value);
      const path = layer.getElement();
      path.setAttribute("aria-label", text);
      path.setAttribute("aria-pressed", String(isSelected));
      path.dataset.value = value ?? "";
      if (layer.getTooltip()) layer.setTooltipContent(el("span", {}, text));
      else layer.bindTooltip(el("span", {}, text), { sticky: true });
      if (isSelected && this.selected !== id) layer.bringToFront();
    }
    this.selected = selected;
    if (!this.fitted && this.districtLayers.size) {
      this.map.fitBounds(this.districts.getBounds(), { padding: [8, 8] });
      this.fitted = true;
    }
    return cuts;
  }

  /** H3 cells coloured by count, on a canvas (thousands of cells stay cheap); only changes are drawn. */
  showDensity(resolution, cells, visible) {
    if (!visible) {
      this.density.clearLayers();
      this.cells.clear();
      return [];
    }
    if (resolution !== this.resolution) {
      this.density.clearLayers();
      this.cells.clear();
      this.resolution = resolution;
    }
    const cuts = breaks(cells.map((c) => c.count), DENSITY.length);
    const present = new Set();
    for (const { h3, count } of cells) {
      present.add(h3);
      const colour = DENSITY[classOf(count, cuts)];
      let cell = this.cells.get(h3);
      if (!cell) {
        let ring;
        try {
          ring = cellToBoundary(h3);
        } catch {
          continue; // not an H3 cell id: nothing to draw
        }
        cell = { layer: L.polygon(ring, { renderer: this.densityRenderer, interactive: false, weight: 0.5,
          color: "#ffffff", fillOpacity: 0.75, fillColor: colour }).addTo(this.density), colour };
        this.cells.set(h3, cell);
      } else if (cell.colour !== colour) {
        cell.layer.setStyle({ fillColor: colour });
        cell.colour = colour;
      }
    }
    for (const [h3, cell] of this.cells) {
      if (!present.has(h3)) {
        this.density.removeLayer(cell.layer);
        this.cells.delete(h3);
      }
    }
    return cuts;
  }

  /** Stations as points coloured by the EEA band of their latest pm2.5 (else pm10). */
  showStations(stations, visible, label) {
    // drawn again only when something shown changed (figures reload many times a second when busy)
    const key = JSON.stringify([visible, stations.map((s) => [s.station_id, s.lat, s.long, label(s, s.latest?.pm25?.band
      ?? s.latest?.pm10?.band ?? null)])]);
    if (key === this.stationsKey) return;
    this.stationsKey = key;
    this.stations.clearLayers();
    this.stationLayers.clear();
    if (!visible) return;
    for (const station of stations) {
      if (station.lat === null || station.long === null || station.lat === undefined) continue;
      const band = station.latest?.pm25?.band ?? station.latest?.pm10?.band ?? null;
      const marker = L.circleMarker([station.lat, station.long], {
        pane: "stations", radius: 8, weight: 2, color: "#000000", fillOpacity: 1, fillColor: bandColour(band),
        className: "station",
      }).addTo(this.stations);
      marker.bindTooltip(el("span", {}, label(station, band)));
      marker.on("click", () => this.onStation(station.station_id));
      const node = marker.getElement();
      node.dataset.station = station.station_id;
      node.setAttribute("aria-label", label(station, band));
      this.stationLayers.set(station.station_id, marker);
    }
  }

  /** Mark one request (from the overdue table) and bring it into view. */
  pick(request, text) {
    if (this.picked) this.picked.remove();
    if (request.lat === null || request.lat === undefined) return false;
    this.picked = L.circleMarker([request.lat, request.long], {
      pane: "picked", radius: 10, weight: 3, color: "#000000", fillColor: "#ffffff", fillOpacity: 0.9, className: "picked",
    }).addTo(this.map);
    this.picked.bindPopup(el("div", {}, ...text.map((line) => el("p", {}, line)))).openPopup();
    this.map.panTo([request.lat, request.long]);
    return true;
  }

  invalidate() {
    this.map.invalidateSize();
  }
}
