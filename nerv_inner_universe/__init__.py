"""Inner Universe: SpacetimeDB persistence for NERV.

Layers, each depending only on the ones before it:

- ``nerv_inner_universe.delta``: JSON state, delta operations, canonical JSON and hashes (pure).
- ``nerv_inner_universe.nerv``: the NERV core (EventBus, TemporalStore, StateProjector) and its
  pluggy hook specifications. Knows nothing of SpacetimeDB.
- ``nerv_inner_universe.client``: a SpacetimeDB 1.x client (HTTP and WebSocket); knows nothing
  of NERV.
- ``nerv_inner_universe.toolchain``: builds the server, the wasm std and the module.
- ``nerv_inner_universe.controller``: owns the server process (deployment and server mode).
- ``nerv_inner_universe.plugin``: the hook implementations joining the NERV core to the client.
"""

__version__ = "0.1.0"
