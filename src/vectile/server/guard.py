"""The outermost middleware: request body limits and security headers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectile.server.safety import security_headers

__all__ = ["Guard"]


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


# A refused body is read and thrown away, up to this many bytes, before the 413 goes out: a
# server that closes a connection with unread data makes the kernel reset it, and clients that
# send the whole body before reading (httpx, browsers) then never see the answer. Bigger bodies
# are cut off; clients that send "Expect: 100-continue" (curl) get the 413 before sending any.
_DRAIN_BYTES = 16 << 20


class Guard:
    """Outermost middleware: request body limits and security headers.

    ``limit(method, path)`` is the largest body a route takes. A body whose
    ``Content-Length`` is over it is refused with 413 without being stored; a body without one
    (chunked) is counted as it streams in and refused as soon as it passes the limit. Every
    response gets :func:`~vectile.server.safety.security_headers` unless it sets its own value.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        hint = " or send it to POST /v1/jobs" if scope["path"] == "/v1/vectorize" else ""
        message = f"the upload is larger than this server's limit of {_size(limit)}; send a smaller file{hint}"
        headers = Headers(scope=scope)
        expects_continue = headers.get("expect", "").lower() == "100-continue"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in security_headers().items()
                    if k.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def drain(seen: int) -> None:
            more = True
            while more and not expects_continue and seen <= limit + _DRAIN_BYTES:
                incoming = await receive()
                seen += len(incoming.get("body", b""))
                more = incoming["type"] == "http.request" and incoming.get("more_body", False)

        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            status, detail = (413, message) if length.isdigit() else (400, "bad Content-Length header")
            if status == 413:
                await drain(0)
            response = JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})
            await response(scope, receive, send_with_headers)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > limit:
                    if incoming.get("more_body", False):
                        await drain(received)
                    raise HTTPException(413, message)  # answered by the route's exception handling
            return incoming

        await self.app(scope, counted_receive, send_with_headers)
