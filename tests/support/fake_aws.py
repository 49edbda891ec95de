#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_aws.py: a scripted loopback HTTP server playing IMDS, the container endpoint, STS and
the SSO portal for dsqlauth's tests. Python standard library only.

Usage: fake_aws.py --scenario FILE --log FILE [--ipv6] [--lifetime SECONDS]

Binds 127.0.0.1 (or ::1) on an ephemeral port, prints the port on stdout, then serves until
stdin closes, SIGTERM, or the lifetime (default 600 s) ends. Every request is appended to the log
as one JSON line: {"method", "path" (with query), "headers" (lower-case names), "body"}.

The scenario is JSON: {"routes": [ROUTE, ...]}. A ROUTE matches on "method", "path" (the path
without its query) and optionally "body_contains"; its "responses" are served in order and the
last one repeats. A RESPONSE has:
  status (200), body (string) or json (any JSON value, serialised), headers ({name: value}),
  delay_ms (sleep before answering), truncate (announce 100 more bytes than sent, then close),
  oversize (a body of that many 'x' bytes), close (drop the connection without answering),
  expires_in (seconds: "{{EXPIRATION}}" in the body becomes now+N as ISO-8601 UTC and
  "{{EXPIRATION_MS}}" the same instant in epoch milliseconds).
A request that matches no route gets 404 "no route".

Fault modes switchable while the server runs: the scenario's optional "modes" maps a name to a
list of ROUTEs; the file "mode" next to the scenario file names the active one (re-read on every
request; write it atomically). The active mode's routes are tried before "routes". Further
options: a ROUTE with "cycle": true serves its responses round-robin instead of repeating the
last; a RESPONSE with "reset": true drops the connection with a TCP RST instead of answering,
"require_header": NAME answers 401 to a request without that header (IMDSv1 turned off),
"trickle_ms": N sends the body one byte every N ms.
"""
import argparse
import datetime
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes:
    def __init__(self, scenario, mode_file):
        self.lock = threading.Lock()
        self.routes = scenario.get("routes", [])
        self.modes = scenario.get("modes", {})
        self.mode_file = mode_file
        self.served = {}

    def active_mode(self):
        try:
            with open(self.mode_file) as f:
                return f.read().strip()
        except OSError:
            return ""

    def pick(self, method, path, body):
        bare = path.split("?", 1)[0]
        mode = self.active_mode() if self.modes else ""
        tables = [(mode, self.modes.get(mode, [])), ("", self.routes)]
        with self.lock:
            for name, routes in tables:
                for i, r in enumerate(routes):
                    if r.get("method", "GET") != method or r.get("path") != bare:
                        continue
                    if "body_contains" in r and r["body_contains"] not in body:
                        continue
                    responses = r.get("responses") or [{}]
                    n = self.served.get((name, i), 0)
                    self.served[(name, i)] = n + 1
                    if r.get("cycle"):
                        return responses[n % len(responses)]
                    return responses[min(n, len(responses) - 1)]
        return {"status": 404, "body": "no route"}


def render(resp):
    if "oversize" in resp:
        return b"x" * int(resp["oversize"])
    if "json" in resp:
        text = json.dumps(resp["json"])
    else:
        text = resp.get("body", "")
    if "expires_in" in resp:
        when = time.time() + float(resp["expires_in"])
        iso = datetime.datetime.fromtimestamp(int(when), datetime.timezone.utc)
        text = text.replace("{{EXPIRATION}}", iso.strftime("%Y-%m-%dT%H:%M:%SZ"))
        text = text.replace("{{EXPIRATION_MS}}", str(int(when) * 1000))
    return text.encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-aws/1"

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with self.server.log_lock:
            self.server.log.write(json.dumps(record) + "\n")
            self.server.log.flush()
        resp = self.server.routes.pick(self.command, self.path, body)
        if resp.get("require_header") and resp["require_header"] not in record["headers"]:
            resp = {"status": 401, "body": ""}
        if resp.get("delay_ms"):
            time.sleep(resp["delay_ms"] / 1000.0)
        if resp.get("reset"):
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        if resp.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = render(resp)
        try:
            self.send_response(int(resp.get("status", 200)))
            for k, v in resp.get("headers", {}).items():
                self.send_header(k, v)
            extra = 100 if resp.get("truncate") else 0
            self.send_header("Content-Length", str(len(data) + extra))
            self.end_headers()
            if resp.get("trickle_ms"):
                self.wfile.flush()
                for i in range(len(data)):
                    time.sleep(resp["trickle_ms"] / 1000.0)
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if resp.get("truncate"):
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = handle_any

    def finish(self):  # a reset connection has nothing left to flush
        try:
            super().finish()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--lifetime", type=float, default=600.0)
    args = ap.parse_args()
    with open(args.scenario) as f:
        scenario = json.load(f)
    srv = (Server6 if args.ipv6 else Server)(("::1" if args.ipv6 else "127.0.0.1", 0), Handler)
    mode_file = os.path.join(os.path.dirname(os.path.abspath(args.scenario)), "mode")
    srv.routes = Routes(scenario, mode_file)
    srv.log = open(args.log, "a")
    srv.log_lock = threading.Lock()

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Timer(args.lifetime, stop).start()

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
