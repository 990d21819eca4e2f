"""Synthetic citizen requests with the answer key to grade the pipeline against."""
