"""`quiet_secrets`: tokens leave log records of other libraries as ``<redacted>``."""

from __future__ import annotations

import logging

import pytest

from nerv_inner_universe.client.quiet_secrets import LOGGERS, protect, redact

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"> Authorization: Bearer {JWT}", "> Authorization: Bearer <redacted>"),
        (
            f"[(b'spacetime-identity-token', b'{JWT}'), (b'x', b'y')]",
            "[(b'spacetime-identity-token', b'<redacted>'), (b'x', b'y')]",
        ),
        (f"""< TEXT '{{"IdentityToken":{{"token":"{JWT[:30]}...' [9 bytes]""", None),
        ("plain registered-token-1 text", "plain <redacted> text"),
        ("event=ok seq=3", "event=ok seq=3"),
    ],
)
def test_tokens_are_redacted_by_value_and_by_shape(text: str, shown: str | None) -> None:
    protect("registered-token-1")
    redacted = redact(text)
    if shown is not None:
        assert redacted == shown
    assert JWT[:20] not in redacted
    assert "registered-token-1" not in redacted


def test_the_filter_rewrites_records_of_every_named_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    protect(None)
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).debug("> %s: %s", "Authorization", f"Bearer {JWT}")
    assert [record.getMessage() for record in caplog.records] == [
        "> Authorization: Bearer <redacted>"
    ] * len(LOGGERS)
