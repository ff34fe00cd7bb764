"""`PackedEvents`: events kept in a compact form while the writer retains them.

The writer keeps every acknowledged event for ``durability_window`` seconds, which at full pace
is a few hundred thousand events. As objects (an `EventInput`, its `Timestamp`, a `Write` and a
stamp each) one costs about 0.5 KiB besides its texts; packed, a batch of them costs its texts'
characters plus 28 bytes an event (five 4-byte lengths and the time), and one small header a batch.
Unpacking gives back equal `EventInput`s: the texts are kept as they are (any character, also
a lone surrogate), so a re-sent event is the one first sent.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence

import attrs

from nerv_inner_universe.client import Timestamp
from nerv_inner_universe.contract import EventInput

FIELDS = 5
"""Texts per event: the id, the type, the source, the data and the metadata."""

_NO_SOURCE = -1
"""The length that marks a missing source."""


@attrs.frozen
class PackedEvents:
    """Events, in order: their texts concatenated in one ``str``, their lengths (`FIELDS` an
    event, -1 for a missing source) and their times (microseconds) in arrays. Make one with
    `of`; `events` unpacks."""

    _texts: str
    _lengths: array.array[int]
    _times: array.array[int]

    @classmethod
    def of(cls, events: Sequence[EventInput]) -> PackedEvents:
        """``events`` packed (at least one)."""
        texts: list[str] = []
        lengths: list[int] = []
        for event in events:
            source = event.source
            texts += (event.event_id, event.event_type, source or "", event.data, event.metadata)
            lengths += (
                len(event.event_id),
                len(event.event_type),
                _NO_SOURCE if source is None else len(source),
                len(event.data),
                len(event.metadata),
            )
        times = array.array("q", [event.occurred_at.micros_since_epoch for event in events])
        return cls("".join(texts), array.array("i", lengths), times)

    def __len__(self) -> int:
        return len(self._times)

    @property
    def nbytes(self) -> int:
        """What this costs to keep, in bytes (the objects and their buffers)."""
        return (
            sys.getsizeof(self)
            + sys.getsizeof(self._texts)
            + sys.getsizeof(self._lengths)
            + sys.getsizeof(self._times)
        )

    def events(self) -> list[EventInput]:
        """The events, in order, equal to those packed."""
        texts, lengths = self._texts, self._lengths
        events: list[EventInput] = []
        position = 0

        def text(length: int) -> str:
            nonlocal position
            position += length
            return texts[position - length : position]

        for index, micros in enumerate(self._times):
            first = index * FIELDS
            event_id = text(lengths[first])
            event_type = text(lengths[first + 1])
            source_length = lengths[first + 2]
            source = None if source_length == _NO_SOURCE else text(source_length)
            events.append(
                EventInput(
                    event_id=event_id,
                    event_type=event_type,
                    source=source,
                    occurred_at=Timestamp(micros),
                    data=text(lengths[first + 3]),
                    metadata=text(lengths[first + 4]),
                )
            )
        return events
