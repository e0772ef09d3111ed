"""The browser helper at `/client/realtime.js` and the Socket.IO client beside it.

Served always (not only with the demo page): production frontends import
them from the gateway, so both carry CORS headers for `CORS_ORIGINS` (a
module script from another origin is fetched in CORS mode) and revalidate
on every load (`no-cache` + ETag: a deploy is seen at once, an unchanged
file costs a 304).
`socket.io.esm.min.js` is the official ESM build of socket.io-client 4.8.4
(`dist/socket.io.esm.min.js` of the npm package, unmodified).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

CLIENT = Path(__file__).resolve().parent / "static" / "client"
FILES = ("realtime.js", "socket.io.esm.min.js")


def cors_headers(origins: list[str], origin: str | None) -> dict[str, str]:
    """`Access-Control-Allow-Origin` for an allowed origin (or `*`), and `Vary` when it depends on it."""
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "*"}
    headers = {"Vary": "Origin"}
    if origin and origin in origins:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def file_handler(path: Path, origins: list[str]):
    async def serve(request: web.Request) -> web.FileResponse:
        headers = {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache",
                   "X-Content-Type-Options": "nosniff", **cors_headers(origins, request.headers.get("Origin"))}
        return web.FileResponse(path, headers=headers)

    return serve


def setup_client_files(app: web.Application, cors_origins: list[str]) -> None:
    for name in FILES:
        app.router.add_get(f"/client/{name}", file_handler(CLIENT / name, cors_origins))
