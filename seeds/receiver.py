#!/usr/bin/env python3
"""A demo receiver for pitwall's webhooks (SPEC §12), standard library only.

    python3 seeds/receiver.py [--port 9000] [--secret "demo secret: change me"]

Prints each message that arrives, checks its Standard Webhooks signature when a secret is
given (a bad one is answered 401, so pitwall retries), and drops repeats of a webhook-id
(pitwall delivers at least once). Ctrl-C stops it.
"""

import argparse
import base64
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen = set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--secret", default="demo secret: change me")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            stamp = self.headers.get("webhook-timestamp", "")
            if args.secret:
                signed = f"{msg_id}.{stamp}.".encode() + body
                want = base64.b64encode(
                    hmac.new(args.secret.encode(), signed, hashlib.sha256).digest()
                ).decode()
                given = [s.split(",", 1)[-1] for s in self.headers.get("webhook-signature", "").split()]
                if not any(hmac.compare_digest(want, g) for g in given):
                    print(f"✗ {self.path} {msg_id}: bad signature, refused", flush=True)
                    return self.answer(401)
            if msg_id in seen:
                return self.answer(200)
            seen.add(msg_id)
            row = json.loads(body)
            print(f"✉ {self.path} [{row['kind']}] to {row['recipient']}: {row['subject']}", flush=True)
            print(f"    {row['body']}", flush=True)
            self.answer(200)

        def answer(self, status):
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    print(f"listening on http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
