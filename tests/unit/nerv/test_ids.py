"""`ids.new_id`: canonical uuid4 strings, unique, not shared with a forked child."""

from __future__ import annotations

import os
import uuid

from nerv_inner_universe.nerv import ids


def test_ids_are_canonical_uuid4() -> None:
    made = [ids.new_id() for _ in range(3 * ids.BLOCK + 5)]  # several blocks
    for made_id in made:
        parsed = uuid.UUID(made_id)
        assert str(parsed) == made_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert len(set(made)) == len(made)


def test_variant_digit_takes_every_allowed_value() -> None:
    digits = {ids.new_id()[19] for _ in range(4 * ids.BLOCK)}
    assert digits == set("89ab")


def test_a_forked_child_does_not_reuse_the_parents_block() -> None:
    ids.new_id()  # the parent holds a block now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, ids.new_id().encode())
        os._exit(0)
    os.close(write)
    childs = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(child, 0)
    assert uuid.UUID(childs).version == 4
    assert childs != ids.new_id()
