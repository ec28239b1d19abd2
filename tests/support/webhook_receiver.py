"""A webhook receiver on 127.0.0.1 for tests: checks the HMAC like a real integrator would."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from backoffice.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature


@dataclass
class Received:
    event: str
    key: str
    body: dict
    signature_ok: bool


@dataclass
class Receiver:
    """``mode``: "ok" (204), "error" (500), "slow" (sleep ``delay`` then 204),
    "hang_first" (the first request waits ``delay`` seconds, then answers 204)."""

    secret: str
    mode: str = "ok"
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    processed_keys: list[str] = field(default_factory=list)
    first_request: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return True
            time.sleep(0.05)
        return False


def start_receiver(secret: str, **options) -> Receiver:
    receiver = Receiver(secret=secret, **options)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            ok = verify_signature(receiver.secret, raw, self.headers.get(SIGNATURE_HEADER, ""))
            key = self.headers.get(IDEMPOTENCY_HEADER, "")
            with lock:
                first = not receiver.requests
                receiver.requests.append(
                    Received(self.headers.get("X-Stockroom-Event", ""), key, json.loads(raw), ok)
                )
            receiver.first_request.set()
            if receiver.mode == "error":
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"boom")
                return
            if receiver.mode == "slow" or (receiver.mode == "hang_first" and first):
                time.sleep(receiver.delay)
            if not ok:
                self.send_response(401)
                self.end_headers()
                return
            with lock:
                # What an integrator does with the idempotency key: process once.
                if key not in receiver.processed_keys:
                    receiver.processed_keys.append(key)
            self.send_response(204)
            self.end_headers()

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver
