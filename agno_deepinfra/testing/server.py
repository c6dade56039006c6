"""The HTTP/1.1 server: asyncio streams plus h11, with full control of the socket for fault injection."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from http import HTTPStatus

import h11

from agno_deepinfra._shared.url_logs import is_loopback
from agno_deepinfra.testing.app import App
from agno_deepinfra.testing.control import host_allowed
from agno_deepinfra.testing.errors import detail_error
from agno_deepinfra.testing.outcome import Drop, Hang, Outcome, Respond, Stream, json_response

READ_SIZE = 65536
# The largest request body served (above the 25 MB audio uploads and usual Batch API files).
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


class _TooLarge(Exception):
    """A request body over the limit: answered 413, and the connection closed unread."""


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class EmulatorServer:
    """Serves an `App` on one event loop; `start` and `close` must run on that loop."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_delay: float = 0.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allowed_hosts: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = allowed_hosts
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.peak_connections = 0

    @property
    def open_connections(self) -> int:
        """Connections open right now."""
        return len(self._tasks)

    async def start(self) -> int:
        """Listen and return the bound port."""
        # The /_emulator/ control routes would let anyone who can reach the port script the emulator.
        self.app.control.enabled = is_loopback(self.host)
        self._server = await asyncio.start_server(self._connection, self.host, self.port, backlog=2048)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def close(self) -> None:
        """Stop listening and cut every open connection (Python < 3.13 servers keep them otherwise)."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            self.peak_connections = max(self.peak_connections, len(self._tasks))
        conn = h11.Connection(h11.SERVER)
        try:
            await self._serve(conn, reader, writer)
        except h11.RemoteProtocolError:
            self._send_bad_request(conn, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except h11.LocalProtocolError:
            pass  # a scripted response HTTP cannot carry (e.g. a body on a 204): the connection just closes
        except asyncio.CancelledError:
            # Only `close()` cancels these leaf tasks; ending quietly keeps asyncio's stream
            # callback from logging the cancellation as an error.
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests on one keep-alive connection until either side closes it."""
        while True:
            try:
                request = await self._read_request(conn, reader, writer)
            except _TooLarge:
                message = f"request body over the emulator's limit of {self.max_body_bytes:,} bytes (max_body_bytes)"
                closing = json_response(413, detail_error(message), {"connection": "close"})
                await self._execute(Outcome(closing), conn, reader, writer)
                await _discard(reader)  # closing on unread bytes would reset the connection before the 413 is read
                return
            if request is None:
                return
            if not host_allowed(request.headers.get("host"), self.host, self.allowed_hosts):
                message = "the Host header does not name this emulator (loopback names, its address, allowed_hosts)"
                outcome = Outcome(json_response(421, detail_error(message), {"connection": "close"}))
                await self._execute(outcome, conn, reader, writer)
                return
            try:
                outcome = self.app.handle(request.method, request.target, request.headers, request.body)
            except Exception as error:  # an emulator bug must surface as a readable 500, not as a network fault
                outcome = Outcome(json_response(500, detail_error(f"DeepInfra emulator bug: {error!r}")))
            try:
                keep_open = await self._execute(outcome, conn, reader, writer)
            finally:
                self.app.release(outcome)
            if not keep_open:
                return
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return  # the client asked to close (or HTTP/1.0)
            conn.start_next_cycle()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Request | None:
        request: h11.Request | None = None
        body: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:  # curl does this for larger bodies
                    writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                conn.receive_data(await reader.read(READ_SIZE))
            elif isinstance(event, h11.Request):
                request = event
                declared = dict(request.headers).get(b"content-length", b"0")
                if declared.isdigit() and int(declared) > self.max_body_bytes:
                    raise _TooLarge
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_body_bytes:  # chunked bodies declare no length
                    raise _TooLarge
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in request.headers}
                target = request.target.decode("latin-1")
                return _Request(request.method.decode("ascii"), target, headers, b"".join(body))
            elif isinstance(event, (h11.ConnectionClosed, h11.PAUSED)):
                return None

    async def _execute(
        self, outcome: Outcome, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Carry out an outcome; False when the connection must not be reused."""
        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        action = outcome.action
        if isinstance(action, Respond):
            head = [(b"content-type", action.content_type), (b"content-length", str(len(action.body)).encode())]
            response = h11.Response(
                status_code=action.status, headers=head + list(action.headers), reason=_reason(action.status)
            )
            writer.write(conn.send(response) + conn.send(h11.Data(data=action.body)) + conn.send(h11.EndOfMessage()))
            await writer.drain()
            return True
        if isinstance(action, Stream):
            return await self._stream(action, conn, writer)
        if isinstance(action, Drop):
            writer.transport.abort()  # no response byte at all
            return False
        if isinstance(action, Hang):
            await _wait_for_eof(reader)
        return False

    async def _stream(self, action: Stream, conn: h11.Connection, writer: asyncio.StreamWriter) -> bool:
        """Write each SSE event and drain it, so clients see chunks as they are produced."""
        writer.write(conn.send(h11.Response(status_code=200, headers=SSE_HEADERS, reason=b"OK")))
        # h11 frames HTTP/1.1 bodies as chunked; framing the events here is equivalent and skips
        # h11's per-event bookkeeping (streams are the hot path of benchmarks).
        chunked = conn.their_http_version == b"1.1"
        for event in action.events:
            writer.write(b"%x\r\n%b\r\n" % (len(event), event) if chunked else conn.send(h11.Data(data=event)))
            await writer.drain()
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        if action.abort:
            await writer.drain()
            writer.transport.abort()
            return False
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return True

    @staticmethod
    def _send_bad_request(conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = b'{"detail":"Bad Request"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        with contextlib.suppress(h11.LocalProtocolError):
            writer.write(conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
            writer.write(conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))


def _reason(status: int) -> bytes:
    return _REASONS.get(status, b"")


async def _discard(reader: asyncio.StreamReader, limit: int = 1 << 20, seconds: float = 1.0) -> None:
    """Read and drop what the client still sends, up to `limit` bytes or `seconds`, whichever comes first."""

    async def drain() -> None:
        left = limit
        while left > 0 and (data := await reader.read(READ_SIZE)):
            left -= len(data)

    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(drain(), seconds)


async def _wait_for_eof(reader: asyncio.StreamReader) -> None:
    """Hold the connection until the client closes it (or the server is cancelled)."""
    while await reader.read(READ_SIZE):
        pass
