"""The API reference page, rendered on the server from the OpenAPI document (no CDN scripts)."""

from __future__ import annotations

from html import escape


def docs_html(openapi: dict) -> str:
    sections = []
    for path, methods in openapi.get("paths", {}).items():
        for method, operation in methods.items():
            parameters = "".join(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
                f"<td>{escape(p.get('description', '') or p.get('schema', {}).get('description', ''))}</td></tr>"
                for p in operation.get("parameters", [])
            )
            table = (f"<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>{parameters}</table>"
                     if parameters else "")
            sections.append(
                f"<section><h2><code>{method.upper()} {escape(path)}</code></h2>"
                f"<p>{escape(operation.get('description') or operation.get('summary', ''))}</p>{table}"
                f"<p><a href=\"{escape(path)}\">try it</a></p></section>"
            )
    info = openapi.get("info", {})
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(info.get('title', 'API'))}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
        "</style></head><body>"
        f"<h1>{escape(info.get('title', 'API'))}</h1><p>{escape(info.get('description', ''))}</p>"
        "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>"
        + "".join(sections) + "</body></html>"
    )
