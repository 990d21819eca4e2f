"""Synthetic sensor stations and hourly observations for a city pack, with planted faults.

`generate_stations` and `generate_observations` (`synthetic.sensors.generator`) draw the data;
`write_long_csv`, `write_uci_csv` and `mqtt_messages` (`synthetic.sensors.formats`) deliver it
in the formats UrbanPulse reads: the long CSV, the UCI Beijing layout and MQTT JSON messages.
"""

from __future__ import annotations

from synthetic.sensors.formats import (
           mqtt_messages,
           write_long_csv,
           write_stations_csv,
           write_uci_csv,
)
from synthetic.sensors.generator import GeneratedSensors, generate_observations, generate_stations

__all__ = ["GeneratedSensors", "generate_observations", "generate_stations", "mqtt_messages",
           "write_long_csv", "write_stations_csv", "write_uci_csv"]
