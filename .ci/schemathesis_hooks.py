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
import unicodedata

import schemathesis
from hypothesis import strategies as st

VALID_KEY = re.compile(r"^[!-~]{1,255}$")

# A caller-chosen id (the document's format "pitwall-id", stated there in words): 1 to 64
# characters, none of them control, format, surrogate, private-use or unassigned, nor a line or
# paragraph separator; at least one visible (not white space, a mark or a separator, nor a blank
# filler); no white space at either end. Python's Unicode may be older than the server's: a
# character it calls unassigned is simply never drawn.
HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
BLANK_FILLERS = "\u115f\u1160\u3164\uffa0\u2800"


def _visible(c):
    category = unicodedata.category(c)
    return not (c.isspace() or category[0] in "MZ" or c in BLANK_FILLERS)


def _an_id(text):
    return not text[0].isspace() and not text[-1].isspace() and any(map(_visible, text))


schemathesis.openapi.format(
    "pitwall-id",
    st.text(st.characters(exclude_categories=HIDDEN), min_size=1, max_size=64).filter(_an_id),
)


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        key = headers[name]
        if not isinstance(key, str) or not VALID_KEY.match(key):
            continue
        # In the body's own key order: the server compares the bytes sent, and two bodies with the
        # same members in another order are different bodies to it.
        body = json.dumps(case.body, default=str).encode()
        headers[name] = f"{key[:180]}-{hashlib.sha256(body).hexdigest()}"
