"""Client CPU per replayed row, without a server: `event_log` rows as a one-off query sends them
(SATS-JSON keyed by field name, sums as ``[tag, payload]``, data `{"n": n, "payload": "x" * 64}`
as `compare.py` writes it; in BSATN the same rows' bytes), decoded by the client
(`JsonCodec.decode_row`, `BsatnCodec.decode_row`), reduced to what replay keeps of a row
(`translate.log_entry`, on the client's thread; replay itself decodes each row's column values
alone, `decode_columns`, and keeps them with `translate.log_entry_reader`) and turned into NERV
events (`translate.event_from_entry`, as the runtime takes them). Last, those events replayed
into an EventBus as a start does (``max_history = 1000``, one subscriber of their type, as in
`compare.py`'s replay on start): once built as replay builds them, and once built beforehand,
which is what the NERV core alone costs a row. Measures CPU time (``time.process_time``, best
of three), which a loaded machine stretches far less than wall time.

    .venv/bin/python benchmarks/replay_decoding.py [--rows 20000] [--codec json bsatn]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from nerv_inner_universe.client import BsatnCodec, JsonCodec, bsatn
from nerv_inner_universe.client.codec import Codec
from nerv_inner_universe.client.protocol import RawValue
from nerv_inner_universe.client.schema import ModuleSchema
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import translate

SCHEMA = Path(__file__).parent.parent / "tests/unit/client/data/inner_universe_schema_v9.json"
"""The module schema as the server reports it (recorded for the client's unit tests)."""
MICROS = 1_764_400_000_000_000
SENDER = "0x" + "c2" * 32
CUSTOM_TAG = 12
"""`EventData::Custom`'s tag in the schema."""
EVENT_TYPE = "bench.event"
REPLAY_HISTORY = 1000
"""The EventBus's ``max_history`` in a replay, the runtime's default (``[nerv] max_history``)."""


def row(n: int) -> str:
    """`event_log` row ``n`` as one JSON text, as a one-off query answer carries it."""
    data = json.dumps({"n": n, "payload": "x" * 64}, separators=(",", ":"), sort_keys=True)
    return json.dumps(
        {
            "event_id": f"bench-{n}",
            "seq": n + 1,
            "event_type": EVENT_TYPE,
            "source": [1, []],  # Option: none
            "timestamp": {"__timestamp_micros_since_unix_epoch__": MICROS + n},
            "occurred_at": {"__timestamp_micros_since_unix_epoch__": MICROS + n},
            "sender": {"__identity__": SENDER},
            "data": [CUSTOM_TAG, data],
            "metadata": "{}",
        }
    )


def least_cpu_seconds(prepare: Callable[[], Callable[[], object]]) -> float:
    """The least CPU time (``time.process_time``) of three passes of what ``prepare()`` returns;
    ``prepare`` itself runs before each pass's clock starts."""
    least = float("inf")
    for _ in range(3):
        timed = prepare()
        started = time.process_time()
        timed()
        least = min(least, time.process_time() - started)
    return least


def best_rate(rows: Sequence[RawValue], work: Callable[[RawValue], object]) -> float:
    """Rows per CPU second of ``work`` on each row, the best of three passes."""

    def each() -> None:
        for text in rows:
            work(text)

    return len(rows) / least_cpu_seconds(lambda: each)


def replay_rate(events: Callable[[], Iterable[Event]], rows: int) -> float:
    """Events per CPU second of `EventBus.replay` over ``events()`` (made before the clock
    starts; a generator's work is timed with the replay), into a bus as a start makes it, with
    one subscriber counting, the best of three passes, each on a fresh bus. AssertionError
    when a pass did not deliver every event."""

    def replay() -> Callable[[], None]:
        delivered = 0

        def count(_event: Event) -> None:
            nonlocal delivered
            delivered += 1

        def run() -> None:
            bus.replay(taken)
            assert delivered == rows, f"{delivered} of {rows} events delivered"

        bus = EventBus(max_history=REPLAY_HISTORY)
        bus.subscribe(EVENT_TYPE, count)
        taken = events()
        return run

    return rows / least_cpu_seconds(replay)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--codec", nargs="+", choices=("json", "bsatn"), default=["json", "bsatn"])
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    schema = ModuleSchema.from_json(json.loads(SCHEMA.read_text()))
    table = schema.table("event_log")
    texts = [row(n) for n in range(args.rows)]
    json_codec = JsonCodec(schema)
    values = [json_codec.decode_row(table, text) for text in texts]
    context = TypeContext(schema.typespace, schema.type_names)
    entry_of = translate.log_entry_reader(table.column_names)
    for name in args.codec:
        codec = json_codec if name == "json" else BsatnCodec(schema)
        rows: list[RawValue] = (
            list(texts)
            if name == "json"
            else [bsatn.encode(table.type_ref, v, context) for v in values]
        )
        assert [codec.decode_row(table, raw) for raw in rows[:100]] == values[:100]

        def decoded(raw: RawValue, codec: Codec = codec) -> object:
            return codec.decode_row(table, raw)

        def columns(raw: RawValue, codec: Codec = codec) -> translate.LogEntry:
            return entry_of(codec.decode_columns(table, raw))  # what replay keeps of a row

        assert [columns(raw) for raw in rows[:100]] == [
            translate.log_entry(value) for value in values[:100]
        ]
        rates = {
            "decode_row": best_rate(rows, decoded),
            "decode_row + log_entry": best_rate(rows, lambda r: translate.log_entry(decoded(r))),
            "decode_row + log_entry + event_from_entry": best_rate(
                rows,
                lambda r: translate.event_from_entry(
                    translate.log_entry(decoded(r)), replayed=True
                ),
            ),
            "decode_columns + log_entry_reader (replay's path)": best_rate(rows, columns),
            "decode_columns + log_entry_reader + event_from_entry": best_rate(
                rows, lambda r: translate.event_from_entry(columns(r), replayed=True)
            ),
        }

        def replayed(
            rows: list[RawValue] = rows, columns: Callable[[RawValue], translate.LogEntry] = columns
        ) -> Iterator[Event]:
            """The events replay builds from ``rows``, one by one as the bus takes them."""
            for raw in rows:
                event = translate.event_from_entry(columns(raw), replayed=True)
                if event is not None:
                    yield event

        what = "decode_columns + log_entry_reader + event_from_entry + EventBus.replay"
        rates[what] = replay_rate(replayed, len(rows))
        for what, rate in rates.items():
            print(f"{name}: {what}: {rate:,.0f} rows per CPU second ({1e6 / rate:.2f} µs a row)")
    built = [translate.event_from_entry(translate.log_entry(v), replayed=True) for v in values]
    events = [event for event in built if event is not None]
    rate = replay_rate(lambda: iter(events), len(events))
    print(
        f"EventBus.replay of events built beforehand (the NERV core alone): {rate:,.0f} rows "
        f"per CPU second ({1e6 / rate:.2f} µs a row)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
