"""Participation sources: Pabulib files, CONSUL exports, survey answers -> frames of text."""
