"""schemathesis hooks for pitwall's API (loaded by .ci/schemathesis.sh).

An Idempotency-Key names one request: the same key with another body is refused (422), as the
IETF Idempotency-Key draft says. schemathesis draws header values without knowing that, so two
different generated bodies may share a key. Like a real client, each distinct body gets a key of
its own here: a valid key is suffixed with the body's digest. Invalid keys are left as drawn, so
their refusal is still tested, and a repeated body keeps its key, so replays still happen.

A weekly plan's shifts may not overlap one another, nor end when they start: rules between items
of a list, which no schema states. A body meant to be valid has such shifts dropped here, as a
client would fix a plan the server refused, so what schemathesis sends as valid is valid.
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


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def _minutes(text):
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _parse(shift):
    """A shift's day and its start and end in minutes, or None when it is not well formed (the
    body is then not a valid one, and is left for the server to refuse)."""
    try:
        return (
            DAYS.index(shift["day"].strip().lower()),
            _minutes(shift["start"]),
            _minutes(shift["end"]),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _week_span(day, start, end):
    # Minutes from Monday 00:00; an end before the start runs past midnight (and may pass the
    # week's end).
    length = end - start if end > start else MINUTES_PER_DAY - start + end
    begin = day * MINUTES_PER_DAY + start
    return begin, begin + length


def _overlap(one, other):
    # On the week as a circle: compare with the other shift moved a week either way too.
    (a, b), (c, d) = one, other
    return any(a < d + w and c + w < b for w in (0, MINUTES_PER_WEEK, -MINUTES_PER_WEEK))


def _plan_without_overlaps(shifts):
    parsed = [_parse(shift) for shift in shifts]
    if None in parsed:
        return shifts
    kept, spans = [], []
    for shift, (day, start, end) in zip(shifts, parsed):
        if start == end:
            continue
        span = _week_span(day, start, end)
        if any(_overlap(span, other) for other in spans):
            continue
        kept.append(shift)
        spans.append(span)
    return kept


def _meant_valid(case):
    generation = getattr(getattr(case, "meta", None), "generation", None)
    return generation is None or generation.mode == "positive"


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if _meant_valid(case) and isinstance(body, dict) and isinstance(body.get("shifts"), list):
        body["shifts"] = _plan_without_overlaps(body["shifts"])
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
