"""Shared plumbing: the workspace, atomic files, the frame coder, the landing log and the live store.

Imports only `schemas`; models, pipelines, flows and the dashboard build on it."""
