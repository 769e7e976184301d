"""A loopback TCP proxy that adds a fixed delay to every HTTP request: S3 latency for a local moto server.

    python benches/delay_proxy.py --upstream 127.0.0.1:5000 --delay-ms 20   # prints "PORT\\n" when ready

Each client connection gets its own upstream connection. HTTP/1.1 clients (botocore) send one
request at a time on a connection and wait for its response, so the first bytes a client sends
after the upstream last spoke (or on a new connection) start a request: those wait ``delay``
before they are forwarded. Concurrent requests on separate connections wait concurrently, as
they would on a real network. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path


async def _pipe_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, bool], delay: float
) -> None:
    while data := await reader.read(1 << 16):
        if state["idle"]:  # a new request
            state["idle"] = False
            state["requests"] = True
            await asyncio.sleep(delay)
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


async def _pipe_upstream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, bool]
) -> None:
    while data := await reader.read(1 << 16):
        state["idle"] = True  # the response has started: the client's next bytes are a new request
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


async def serve(upstream: tuple[str, int], delay: float, port: int = 0) -> asyncio.Server:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*upstream)
        except OSError:
            client_w.close()
            return
        state = {"idle": True, "requests": False}
        try:
            await asyncio.gather(
                _pipe_client(client_r, up_w, state, delay), _pipe_upstream(up_r, client_w, state)
            )
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (client_w, up_w):
                with contextlib.suppress(Exception):
                    w.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


class DelayProxy:
    """The proxy in a child process (so its work never takes this process's GIL); ``url`` to use."""

    def __init__(self, upstream: str, delay_ms: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--upstream",
                upstream,
                "--delay-ms",
                str(delay_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # asyncio's notes on connections cut at exit
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"delay proxy did not start ({line!r})")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> DelayProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MotoServer:
    """moto's S3 server in a child process on a free loopback port; ``url`` to use."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto server exited") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the server (loopback)")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")

    async def run() -> None:
        server = await serve((host, int(port)), args.delay_ms / 1000.0, args.port)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "delay-proxy"
    sys.exit(main())
