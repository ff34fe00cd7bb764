"""`new_id`: uuid4 text from pooled random bytes, the same kind as ``str(uuid.uuid4())``."""

from __future__ import annotations

import os
import uuid

import pytest

from nerv_inner_universe.nerv.ids import new_id, uuid4_text


@pytest.mark.parametrize("raw", [bytes(16), b"\xff" * 16, bytes(range(16)), os.urandom(16)])
def test_the_text_is_what_the_uuid_module_writes(raw: bytes) -> None:
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


def test_ids_are_random_version_4_uuids_and_differ() -> None:
    ids = [new_id() for _ in range(2000)]  # several refills of the pool
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the parent's pool holds bytes now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert uuid.UUID(from_child).version == 4
    assert from_child != new_id()
