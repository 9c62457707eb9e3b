#!/usr/bin/env python3
"""A demo receiver for pitwall's webhooks.

    python3 seeds/receiver.py [--port 9000] [--secret whsec_...]

Prints each message that arrives, verifies its Standard Webhooks signature when a secret is
given (a bad or stale one is answered 401, so pitwall retries), and drops repeats of a
webhook-id (pitwall delivers at least once). Ctrl-C stops it.

It verifies with the `standardwebhooks` package when it is installed (pip install
standardwebhooks), else with the standard's algorithm written out below: the HMAC-SHA256 of
"id.timestamp.body", keyed by the base64-decoded part of the secret after "whsec_", and a
timestamp within five minutes of now.
"""

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks import Webhook
except ImportError:
    Webhook = None

# The demo config's secret (seeds/pitwall.toml).
DEMO_SECRET = "whsec_lQE0m+jSFb5JhgFYtl8As7CitRfQSOtW6e2slwQ1phI="
TOLERANCE_SECONDS = 5 * 60

seen = set()
# Requests are handled on threads of their own (pitwall sends several at once): one at a time
# past the signature check, so repeats are told apart and each message prints whole.
lock = threading.Lock()


def verify(secret, headers, body):
    """True when the message carries a valid signature made with `secret` within 5 minutes."""
    if Webhook is not None:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return True
        except Exception:
            return False
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    want = "v1," + base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    given = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(want, g) for g in given)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--secret", default=DEMO_SECRET, help="whsec_... (empty: do not verify)")
    args = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            if args.secret and not verify(args.secret, self.headers, body):
                print(f"✗ {self.path} {msg_id}: bad or stale signature, refused", flush=True)
                return self.answer(401)
            row = json.loads(body)
            with lock:
                if msg_id not in seen:
                    seen.add(msg_id)
                    lines = [f"✉ {self.path} [{row['kind']}] to {row['recipient']}: {row['subject']}",
                             f"    {row['body']}"]
                    if row.get("expires_at"):
                        lines.append(f"    (offer open until {row['expires_at']})")
                    print("\n".join(lines), flush=True)
            self.answer(200)

        def answer(self, status):
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    how = "standardwebhooks" if Webhook else "the standard's algorithm"
    print(f"listening on http://127.0.0.1:{args.port}/, verifying with {how} (Ctrl-C stops)", flush=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
