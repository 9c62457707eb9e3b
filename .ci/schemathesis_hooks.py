"""schemathesis hooks for pitwall's API (loaded by .ci/schemathesis.sh).

An Idempotency-Key names one request: the same key with another body is refused (422), as the
IETF Idempotency-Key draft says. schemathesis draws header values without knowing that, so two
different generated bodies may share a key. Like a real client, each distinct body gets a key of
its own here: a valid key is suffixed with the body's digest. Invalid keys are left as drawn, so
their refusal is still tested, and a repeated body keeps its key, so replays still happen.
"""

import hashlib
import json
import re

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        key = headers[name]
        if not isinstance(key, str) or not VALID_KEY.match(key):
            continue
        body = json.dumps(case.body, sort_keys=True, default=str).encode()
        headers[name] = f"{key[:180]}-{hashlib.sha256(body).hexdigest()}"
