"""The landing log: where raw records wait, in order and unchanged, for the live and replay paths."""

from pipelines.landing.log import LandingLog, Segment, SegmentLog, parse_segment_ref, segment_ref

__all__ = ["LandingLog", "Segment", "SegmentLog", "parse_segment_ref", "segment_ref"]
