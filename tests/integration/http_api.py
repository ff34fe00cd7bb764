"""The raw HTTP API, used by tests that check the module's wire behaviour directly."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs
import httpx

from nerv_inner_universe.controller import ServerProcess

# HTTP reducer calls run `client_connected` / `client_disconnected` around every call, as
# transactions of their own; those rows are not part of what a reducer changed.
LIFECYCLE_EVENTS = ("CLIENT_CONNECTED", "CLIENT_DISCONNECTED")
TABLES = (
    "entity",
    "relation",
    "state_version",
    "timeline",
    "event_log",
    "delta_record",
    "delta_checkpoint",
    "delta_refresh_counter",
    "config",
    "es_store",
    "es_stored_event",
    "es_tracking",
    "admin",
    "writer",
    "write_usage",
    "stream_owner",
    "stream_delegate",
    "log_page",
)


@attrs.frozen
class Database:
    base_url: str
    name: str
    token: str
    server: ServerProcess

    def _client(self, token: str | None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/v1/database/{self.name}",
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )

    def call(self, reducer: str, *args: Any, token: str | None = None) -> httpx.Response:
        with self._client(token) as http:
            # json.dumps, not httpx's json=: hostile NaN and infinities must reach the server
            # (as the non-standard tokens, which it refuses) instead of failing here.
            body = json.dumps(list(args))
            return http.post(
                f"/call/{reducer}", content=body, headers={"Content-Type": "application/json"}
            )

    def ok(self, reducer: str, *args: Any, token: str | None = None) -> None:
        response = self.call(reducer, *args, token=token)
        assert response.status_code == 200, (
            f"{reducer} failed: {response.status_code} {response.text}"
        )

    def fails(self, reducer: str, *args: Any, token: str | None = None) -> str:
        """Calls a reducer that must be refused; returns its error text."""
        response = self.call(reducer, *args, token=token)
        assert response.status_code == 530, (
            f"{reducer} answered {response.status_code}: {response.text}"
        )
        return response.text

    def sql(self, query: str) -> list[dict[str, Any]]:
        """Rows as dicts by column name (values as the server's JSON gives them)."""
        with self._client(None) as http:
            response = http.post("/sql", content=query)
        assert response.status_code == 200, f"{query!r}: {response.status_code} {response.text}"
        result = response.json()[0]
        names = [element["name"]["some"] for element in result["schema"]["elements"]]
        return [dict(zip(names, row, strict=True)) for row in result["rows"]]

    def snapshot(self) -> dict[str, list[str]]:
        """Every table's rows, sorted, lifecycle events left out: equal before and after a
        refused call means the call changed nothing."""
        state: dict[str, list[str]] = {}
        for table in TABLES:
            rows = self.sql(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            if table == "event_log":
                rows = [r for r in rows if r["event_type"] not in LIFECYCLE_EVENTS]
            state[table] = sorted(json.dumps(r, sort_keys=True) for r in rows)
        return state

    def new_identity(self) -> str:
        """A fresh identity's token; the identity has no role."""
        return self.mint_identity()[1]

    def mint_identity(self) -> tuple[str, str]:
        """A fresh identity (hex) and its token, from the server's ``POST /v1/identity``."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            minted = http.post("/v1/identity").raise_for_status().json()
        return str(minted["identity"]), str(minted["token"])

    def new_writer(self) -> str:
        """A fresh identity's token, granted the writer role by the admin (the publisher)."""
        return self.mint_writer()[1]

    def mint_writer(self) -> tuple[str, str]:
        """A fresh identity (hex) and its token, granted the writer role by the admin."""
        identity, token = self.mint_identity()
        self.ok("grant_role", identity_arg(identity), {"Writer": []})
        return identity, token


def identity_arg(identity: str) -> dict[str, str]:
    """An ``Identity`` reducer argument (SATS JSON) from its hex."""
    return {"__identity__": identity if identity.startswith("0x") else f"0x{identity}"}


def some(value: Any) -> dict[str, Any]:
    return {"some": value}


NONE: dict[str, Any] = {"none": []}


def ts(micros: int) -> dict[str, int]:
    return {"__timestamp_micros_since_unix_epoch__": micros}


T0 = ts(1_700_000_000_000_000)
"""A fixed time of occurrence for versions and deltas."""


def sha(canonical: str) -> str:
    """The ``data_hash`` of a state given as canonical JSON text."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def set_op(path: str, value: str) -> dict[str, Any]:
    """A ``Set`` delta operation (``value`` is JSON text)."""
    return {"Set": {"path": path, "value": value}}


def entity_metadata(
    name: str | None = None, tags: list[str] | None = None, properties: str = "{}"
) -> dict[str, Any]:
    return {
        "name": some(name) if name is not None else NONE,
        "description": NONE,
        "tags": tags or [],
        "properties": properties,
    }


def relation_metadata(strength: float = 1.0, properties: str = "{}") -> dict[str, Any]:
    return {
        "description": NONE,
        "strength": strength,
        "bidirectional": False,
        "tags": [],
        "properties": properties,
    }


def delta_metadata(description: str = "", tags: list[str] | None = None) -> dict[str, Any]:
    return {"description": description, "author": NONE, "tags": tags or [], "parent_delta_id": NONE}


def event_input(
    event_id: str, event_type: str = "AGENT_STEP", data: str = "{}", metadata: str = "{}"
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "source": NONE,
        "occurred_at": ts(1_700_000_000_000_000),
        "data": data,
        "metadata": metadata,
    }
