//! Column and argument types. JSON-valued fields (`properties`, `value`, `patch`, `data`,
//! `metadata`, `snapshot`) are canonical JSON text: SATS 1.2.0 cannot store the recursive
//! `Value` type, so the module parses and re-encodes them with `inner_universe_rules::json`.

use spacetimedb::{ConnectionId, Identity, SpacetimeType, Timestamp};

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EntityMetadata {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// A canonical JSON object.
    pub properties: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct RelationMetadata {
    pub description: Option<String>,
    /// In `0.0..=1.0`; the upstream default is 1.0.
    pub strength: f32,
    pub bidirectional: bool,
    pub tags: Vec<String>,
    /// A canonical JSON object.
    pub properties: String,
}

/// One change to a JSON document; paths are RFC 6901 JSON Pointers.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub enum DeltaOperation {
    Set(SetOperation),
    Delete(DeleteOperation),
    Insert(InsertOperation),
    Remove(RemoveOperation),
    Patch(PatchOperation),
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct SetOperation {
    pub path: String,
    pub value: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct DeleteOperation {
    pub path: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct InsertOperation {
    pub path: String,
    /// `None` appends.
    pub index: Option<u32>,
    pub value: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct RemoveOperation {
    pub path: String,
    pub index: u32,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct PatchOperation {
    pub path: String,
    /// A canonical JSON object merged (shallowly) into the object at `path`.
    pub patch: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct DeltaMetadata {
    pub description: String,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub parent_delta_id: Option<String>,
}

/// A role an admin grants (`grant_role`).
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// Everything, including roles and admin-only config.
    Admin,
    /// Every reducer that changes data, within the ownership rules.
    Writer,
}

/// What a client publishes: the id and the time of occurrence come from the client so the
/// event replays exactly as it was published.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EventInput {
    pub event_id: String,
    pub event_type: String,
    pub source: Option<String>,
    pub occurred_at: Timestamp,
    /// Any canonical JSON value.
    pub data: String,
    /// A canonical JSON object.
    pub metadata: String,
}

/// The payload of an `event_log` row: what the reducer that wrote it did.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub enum EventData {
    EntityCreated(EntityCreated),
    EntityUpdated(EntityUpdated),
    EntityDeleted(EntityDeleted),
    RelationCreated(RelationCreated),
    RelationUpdated(RelationUpdated),
    RelationDeleted(RelationDeleted),
    StateVersionCommitted(StateVersionCommitted),
    DeltaRecorded(DeltaRecorded),
    /// No longer written (connections leave no permanent row); kept so older logs still read.
    ClientConnected(ClientSession),
    /// No longer written, as `ClientConnected`.
    ClientDisconnected(ClientSession),
    SystemInitialized(SystemInitialized),
    ConfigUpdated(ConfigUpdated),
    /// Published by a client; canonical JSON.
    Custom(String),
    /// A tombstone: an admin redacted an event, a version or a delta, or removed a config key.
    /// The redaction's own log row carries it, and so does a redacted event's row in place of
    /// its data. Last, so the earlier variants keep their tags.
    Redacted(Redacted),
}

impl EventData {
    /// The `event_type` of a module event: its variant's name in SCREAMING_SNAKE_CASE, named
    /// here once for every variant. `None` for `Custom`, whose type the client names.
    pub fn system_event_type(&self) -> Option<&'static str> {
        Some(match self {
            EventData::EntityCreated(_) => "ENTITY_CREATED",
            EventData::EntityUpdated(_) => "ENTITY_UPDATED",
            EventData::EntityDeleted(_) => "ENTITY_DELETED",
            EventData::RelationCreated(_) => "RELATION_CREATED",
            EventData::RelationUpdated(_) => "RELATION_UPDATED",
            EventData::RelationDeleted(_) => "RELATION_DELETED",
            EventData::StateVersionCommitted(_) => "STATE_VERSION_COMMITTED",
            EventData::DeltaRecorded(_) => "DELTA_RECORDED",
            EventData::ClientConnected(_) => "CLIENT_CONNECTED",
            EventData::ClientDisconnected(_) => "CLIENT_DISCONNECTED",
            EventData::SystemInitialized(_) => "SYSTEM_INITIALIZED",
            EventData::ConfigUpdated(_) => "CONFIG_UPDATED",
            EventData::Redacted(tombstone) => tombstone.kind.event_type(),
            EventData::Custom(_) => return None,
        })
    }
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EntityCreated {
    pub entity_id: String,
    pub entity_type: String,
    pub metadata: EntityMetadata,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EntityUpdated {
    pub entity_id: String,
    pub changed_fields: Vec<String>,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EntityDeleted {
    pub entity_id: String,
    pub entity_type: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct RelationCreated {
    pub relation_id: String,
    pub from_entity: String,
    pub to_entity: String,
    pub relation_type: String,
    pub metadata: RelationMetadata,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct RelationUpdated {
    pub relation_id: String,
    pub changed_fields: Vec<String>,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct RelationDeleted {
    pub relation_id: String,
    pub from_entity: String,
    pub to_entity: String,
    pub relation_type: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct StateVersionCommitted {
    pub version_id: String,
    pub timeline: String,
    pub parent_version_id: Option<String>,
    pub description: String,
    pub data_hash: String,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct DeltaRecorded {
    pub delta_id: String,
    pub stream: String,
    pub state_version_id: String,
    pub operations_count: u32,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct ClientSession {
    pub identity: Identity,
    pub connection_id: Option<ConnectionId>,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct SystemInitialized {
    pub module_version: String,
    pub admin: Identity,
}

#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct ConfigUpdated {
    pub key: String,
    pub value: String,
}

/// What an admin redacted.
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq)]
pub enum RedactedKind {
    Event,
    StateVersion,
    Delta,
    ConfigKey,
}

impl RedactedKind {
    /// The `event_type` of its tombstones.
    pub fn event_type(self) -> &'static str {
        match self {
            RedactedKind::Event => "EVENT_REDACTED",
            RedactedKind::StateVersion => "VERSION_REDACTED",
            RedactedKind::Delta => "DELTA_REDACTED",
            RedactedKind::ConfigKey => "CONFIG_KEY_REMOVED",
        }
    }

    /// The row's name in messages.
    pub fn describe(self) -> &'static str {
        match self {
            RedactedKind::Event => "event",
            RedactedKind::StateVersion => "state version",
            RedactedKind::Delta => "delta",
            RedactedKind::ConfigKey => "config key",
        }
    }
}

/// A tombstone: what was redacted, why, by whom, and the SHA-256 (lowercase hex) of the
/// canonical JSON it held (an event's data, a version's state, i.e. its `data_hash`, a
/// delta's operations, a config value), so a kept copy can be matched to it.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct Redacted {
    pub kind: RedactedKind,
    pub target_id: String,
    pub reason: String,
    pub redacted_by: Identity,
    pub content_hash: String,
}

/// One stored event for `es_insert_events` (the `eventsourcing` library's `StoredEvent`).
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EsEventInput {
    pub originator_id: String,
    pub originator_version: u64,
    pub topic: String,
    pub state: Vec<u8>,
}

/// A tracking record for `es_insert_events`: `application_name`'s notification
/// `notification_id` was processed, recorded in the tracking store `store`.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct EsTrackingInput {
    pub store: String,
    pub application_name: String,
    pub notification_id: u64,
}
