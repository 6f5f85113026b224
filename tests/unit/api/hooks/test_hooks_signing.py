"""The signature a receiver checks: made by `sign`, checked by `verify`, and a
request sent again later, tampered with, or signed with another secret refused."""

from __future__ import annotations

import pytest

from api.hooks.signing import TOLERANCE, BadSignature, sign, verify

SECRET = "s3cret-of-sixteen+"
BODY = b'{"event_type":"instance.pause.end","message_id":"m-1"}'
AT = 1_790_000_000


def test_a_signed_body_verifies_and_gives_its_timestamp() -> None:
    assert verify(SECRET, sign(SECRET, AT, BODY), BODY, now=AT + 1) == AT


@pytest.mark.parametrize(("secret", "header", "body", "now"), [
    ("another-secret-entirely", sign(SECRET, AT, BODY), BODY, AT),
    (SECRET, sign(SECRET, AT, BODY), BODY.replace(b"pause", b"pwned"), AT),
    (SECRET, sign(SECRET, AT, BODY), BODY, AT + TOLERANCE + 1),
    (SECRET, sign(SECRET, AT, BODY), BODY, AT - TOLERANCE - 1),
    (SECRET, sign(SECRET, AT, BODY).replace(f"t={AT}", f"t={AT + 600}"), BODY, AT + 600),
    (SECRET, "v1=00", BODY, AT),
    (SECRET, f"t={AT}", BODY, AT),
    (SECRET, f"t=soon,v1={'0' * 64}", BODY, AT),
    (SECRET, "", BODY, AT),
], ids=["other-secret", "tampered-body", "replayed-later", "from-the-future",
        "timestamp-moved", "no-timestamp", "no-signature", "bad-timestamp", "empty"])
def test_what_is_not_this_request_now_is_refused(secret: str, header: str, body: bytes,
                                                 now: int) -> None:
    with pytest.raises(BadSignature):
        verify(secret, header, body, now=now)


def test_any_of_several_signatures_may_verify_during_a_secret_rollover() -> None:
    old = sign("the-old-secret-0000", AT, BODY).split(",")[1]
    header = f"{sign(SECRET, AT, BODY)},{old}"
    assert verify("the-old-secret-0000", header, BODY, now=AT) == AT
    assert verify(SECRET, header, BODY, now=AT) == AT
