//! `import_rows`: restores an export into a fresh database with every row exactly as it was
//! (ids, owners, senders, timestamps, `seq`), which no ordinary reducer can do because each of
//! them stamps its own time, owner and log entry. Admin-only; `Begin`, row batches, `Finish`.
//! The `eventsourcing` tables' `row_id` (an `auto_inc` key no reader uses) is the one value
//! renumbered: a row kept under its old `row_id` would collide with the table's sequence later.

use std::collections::HashMap;

use inner_universe_rules::stored_events::{
    head_matches_events, position_taken, validate_label, validate_state,
};
use inner_universe_rules::{config as config_rules, json, text, Code, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext, SpacetimeType, Table};

use crate::access;
use crate::changes;
use crate::checks;
use crate::reducers::stored_events::position_recorded;
use crate::store;
use crate::tables::admin::{admin, Admin};
use crate::tables::config::{config, Config};
use crate::tables::delta_record::{delta_record, DeltaRecord};
use crate::tables::entity::{entity, Entity};
use crate::tables::es_store::{es_store, EsStore};
use crate::tables::es_stored_event::{es_stored_event, EsStoredEvent};
use crate::tables::es_tracking::{es_tracking, EsTracking};
use crate::tables::event_log::{event_log, EventLog};
use crate::tables::import_progress;
use crate::tables::import_state::{import_state, ImportState};
use crate::tables::log_page::{clear_pages, record_page};
use crate::tables::log_sequence::{log_sequence, LogSequence};
use crate::tables::relation::{relation, Relation};
use crate::tables::state_version::{state_version, StateVersion};
use crate::tables::stream_delegate::{stream_delegate, StreamDelegate};
use crate::tables::stream_owner::{stream_owner, StreamOwner};
use crate::tables::timeline::{timeline, Timeline};
use crate::tables::writer::{writer, Writer};
use crate::types::EventData;

#[derive(SpacetimeType)]
pub enum ImportBatch {
    /// Opens the import: the database must hold no data yet (only what `init` wrote).
    Begin,
    Config(Vec<Config>),
    Admin(Vec<Admin>),
    Entity(Vec<Entity>),
    Relation(Vec<Relation>),
    StateVersion(Vec<StateVersion>),
    Timeline(Vec<Timeline>),
    DeltaRecord(Vec<DeltaRecord>),
    EventLog(Vec<EventLog>),
    Writer(Vec<Writer>),
    StreamOwner(Vec<StreamOwner>),
    StreamDelegate(Vec<StreamDelegate>),
    /// `eventsourcing` stored events; `row_id` is renumbered (the table's own sequence).
    EsStoredEvent(Vec<EsStoredEvent>),
    /// `eventsourcing` store heads.
    EsStore(Vec<EsStore>),
    /// `eventsourcing` tracking records; `row_id` is renumbered.
    EsTracking(Vec<EsTracking>),
    /// Checks references, the gap-free log and every `eventsourcing` store's notification
    /// ids against its head, sets the next `seq` to the given value (the
    /// exported `log_sequence.next_seq`), closes the import.
    Finish(u64),
}

#[reducer]
pub fn import_rows(ctx: &ReducerContext, batch: ImportBatch) -> RuleResult {
    access::require_admin_importing(ctx, "import_rows")?;
    changes::record(ctx)?;
    match batch {
        ImportBatch::Begin => {
            begin(ctx)?;
            import_progress::touch(ctx)
        }
        ImportBatch::Finish(next_seq) => {
            require_open(ctx)?;
            finish(ctx, next_seq)?;
            import_progress::clear(ctx);
            Ok(())
        }
        rows => {
            require_open(ctx)?;
            insert(ctx, rows)?;
            import_progress::touch(ctx)
        }
    }
}

fn require_open(ctx: &ReducerContext) -> RuleResult {
    let state =
        ctx.db.import_state().id().find(0).ok_or_else(|| {
            RuleError::invalid("no import is open; send ImportBatch::Begin first")
        })?;
    if state.started_by != ctx.sender {
        return Err(RuleError::new(
            Code::PermissionDenied,
            format!("the open import belongs to {}", state.started_by),
        ));
    }
    Ok(())
}

fn begin(ctx: &ReducerContext) -> RuleResult {
    if let Some(open) = ctx.db.import_state().id().find(0) {
        return Err(RuleError::new(
            Code::ImportOpen,
            format!(
                "an import opened by {} at {} is open already (one that was refused or cut \
                 short stays open): import into a fresh data dir, or wipe this one \
                 (`inner-universe deploy --wipe`) and import again",
                open.started_by, open.started_at
            ),
        ));
    }
    let has_data = ctx.db.entity().count() > 0
        || ctx.db.relation().count() > 0
        || ctx.db.state_version().count() > 0
        || ctx.db.delta_record().count() > 0
        || ctx.db.es_stored_event().count() > 0
        || ctx.db.es_tracking().count() > 0;
    let published = ctx
        .db
        .event_log()
        .iter()
        .any(|row| matches!(row.data, EventData::Custom(_)));
    if has_data || published {
        return Err(RuleError::new(
            Code::InUse,
            "import needs a fresh database: this one already holds entities, relations, \
             versions, deltas, published events or eventsourcing stores",
        ));
    }
    // What `init` wrote, and roles and grants given since, are replaced by the imported rows.
    for row in ctx.db.event_log().iter() {
        ctx.db.event_log().event_id().delete(&row.event_id);
    }
    clear_pages(ctx);
    for row in ctx.db.config().iter() {
        ctx.db.config().key().delete(&row.key);
    }
    for row in ctx.db.timeline().iter() {
        ctx.db.timeline().name().delete(&row.name);
    }
    for row in ctx.db.writer().iter() {
        ctx.db.writer().identity().delete(row.identity);
    }
    for row in ctx.db.stream_delegate().iter() {
        ctx.db.stream_delegate().id().delete(&row.id);
    }
    ctx.db.log_sequence().id().delete(0);
    store::insert(
        ctx.db.import_state(),
        ImportState {
            id: 0,
            started_by: ctx.sender,
            started_at: ctx.timestamp,
        },
        "the import state",
    )?;
    log::info!("import opened by {}", ctx.sender);
    Ok(())
}

/// Stored JSON must already be canonical: an export holds only what the module stored.
fn canonical(field: &str, text: &str) -> RuleResult {
    if json::canonicalize(field, text)? == text {
        Ok(())
    } else {
        Err(RuleError::invalid(format!("{field} is not canonical JSON")))
    }
}

/// How an exported row is checked and named on import; [`insert_all`] is the one path every
/// table's rows take.
trait Imported {
    const TABLE: &'static str;
    /// The primary key, as the error for a row imported twice names it.
    fn key(&self) -> String;
    /// Refuses a row the module could not have stored (non-canonical JSON, a wrong hash, an id
    /// or name its writing reducer refuses). Rules that came after the first module (times
    /// within years 1 to 9999, the settings' types and ranges, reserved id namespaces, anchor
    /// timelines going with their delta streams) are not applied: an export from an older
    /// module holds rows stored before them, which the readers take.
    fn check(&self) -> RuleResult {
        Ok(())
    }
}

impl Imported for Config {
    const TABLE: &'static str = "config";
    fn key(&self) -> String {
        self.key.clone()
    }
    /// `update_config`'s checks of the key (a row under a key it refuses could never be
    /// changed) and the description. Not the settings' types and ranges, which came later: an
    /// admin overwrites such a value with `update_config`.
    fn check(&self) -> RuleResult {
        config_rules::validate_key(&self.key)?;
        canonical("config.value", &self.value)?;
        text::validate_optional_text("config.description", self.description.as_deref())
    }
}

impl Imported for Admin {
    const TABLE: &'static str = "admin";
    fn key(&self) -> String {
        self.identity.to_string()
    }
}

impl Imported for Entity {
    const TABLE: &'static str = "entity";
    fn key(&self) -> String {
        self.id.clone()
    }
    /// `create_entity`'s checks.
    fn check(&self) -> RuleResult {
        text::validate_id("entity.id", &self.id)?;
        text::validate_name("entity.entity_type", &self.entity_type)?;
        if checks::entity_metadata(self.metadata.clone())? != self.metadata {
            return Err(RuleError::invalid(format!(
                "entity {:?}: metadata.properties is not canonical JSON",
                self.id
            )));
        }
        Ok(())
    }
}

impl Imported for Relation {
    const TABLE: &'static str = "relation";
    fn key(&self) -> String {
        self.id.clone()
    }
    /// `create_relation`'s checks.
    fn check(&self) -> RuleResult {
        text::validate_id("relation.id", &self.id)?;
        text::validate_id("relation.from_entity", &self.from_entity)?;
        text::validate_id("relation.to_entity", &self.to_entity)?;
        text::validate_name("relation.relation_type", &self.relation_type)?;
        if checks::relation_metadata(self.metadata.clone())? != self.metadata {
            return Err(RuleError::invalid(format!(
                "relation {:?}: metadata is not canonical",
                self.id
            )));
        }
        Ok(())
    }
}

impl Imported for StateVersion {
    const TABLE: &'static str = "state_version";
    fn key(&self) -> String {
        self.version_id.clone()
    }
    /// `commit_state_version`'s checks, and a snapshot that matches its hash.
    fn check(&self) -> RuleResult {
        text::validate_id("state_version.version_id", &self.version_id)?;
        text::validate_name("state_version.timeline", &self.timeline)?;
        if let Some(parent) = &self.parent_version_id {
            text::validate_id("state_version.parent_version_id", parent)?;
        }
        text::validate_text("state_version.description", &self.description)?;
        text::validate_sha256_hex("state_version.data_hash", &self.data_hash)?;
        if checks::operations(self.operations.clone())? != self.operations {
            return Err(RuleError::invalid(format!(
                "state version {:?}: operations are not canonical",
                self.version_id
            )));
        }
        if let Some(snapshot) = &self.snapshot {
            canonical("state_version.snapshot", snapshot)?;
            let actual = json::data_hash(&json::parse("snapshot", snapshot)?);
            if actual != self.data_hash {
                return Err(RuleError::new(
                    Code::IntegrityError,
                    format!("state version {:?}: snapshot hash differs", self.version_id),
                ));
            }
        }
        Ok(())
    }
}

impl Imported for Timeline {
    const TABLE: &'static str = "timeline";
    fn key(&self) -> String {
        self.name.clone()
    }
    /// The names `commit_state_version` checks.
    fn check(&self) -> RuleResult {
        text::validate_name("timeline.name", &self.name)?;
        text::validate_id("timeline.head_version_id", &self.head_version_id)
    }
}

impl Imported for DeltaRecord {
    const TABLE: &'static str = "delta_record";
    fn key(&self) -> String {
        self.delta_id.clone()
    }
    /// `record_delta`'s checks.
    fn check(&self) -> RuleResult {
        text::validate_id("delta_record.delta_id", &self.delta_id)?;
        text::validate_name("delta_record.stream", &self.stream)?;
        text::validate_id("delta_record.state_version_id", &self.state_version_id)?;
        checks::delta_metadata(self.metadata.clone())?;
        if checks::operations(self.operations.clone())? != self.operations {
            return Err(RuleError::invalid(format!(
                "delta {:?}: operations are not canonical",
                self.delta_id
            )));
        }
        Ok(())
    }
}

impl Imported for Writer {
    const TABLE: &'static str = "writer";
    fn key(&self) -> String {
        self.identity.to_string()
    }
}

impl Imported for StreamOwner {
    const TABLE: &'static str = "stream_owner";
    fn key(&self) -> String {
        self.key.clone()
    }
    /// A key that names a stream (a `timeline:stream.<s>` row of an older module too).
    fn check(&self) -> RuleResult {
        access::Stream::named_by(&self.key).map(|_| ())
    }
}

impl Imported for StreamDelegate {
    const TABLE: &'static str = "stream_delegate";
    fn key(&self) -> String {
        self.id.clone()
    }
    fn check(&self) -> RuleResult {
        if self.id == access::delegation_id(self.owner, self.delegate) {
            Ok(())
        } else {
            Err(RuleError::invalid(format!(
                "stream_delegate {:?} does not name its owner and delegate",
                self.id
            )))
        }
    }
}

impl Imported for EventLog {
    const TABLE: &'static str = "event_log";
    fn key(&self) -> String {
        self.event_id.clone()
    }
    /// `publish_event`'s checks of id, type, source and metadata (a row a replay could not
    /// read would make every start fail).
    fn check(&self) -> RuleResult {
        text::validate_id("event_log.event_id", &self.event_id)?;
        text::validate_name("event_log.event_type", &self.event_type)?;
        text::validate_optional_text("event_log.source", self.source.as_deref())?;
        if json::canonicalize_object("event_log.metadata", &self.metadata)? != self.metadata {
            return Err(RuleError::invalid(format!(
                "event {:?}: metadata is not canonical JSON",
                self.event_id
            )));
        }
        if let EventData::Custom(data) = &self.data {
            canonical("event_log.data", data)?;
        }
        Ok(())
    }
}

impl Imported for EsStore {
    const TABLE: &'static str = "es_store";
    fn key(&self) -> String {
        self.name.clone()
    }
    fn check(&self) -> RuleResult {
        text::validate_name("es_store.name", &self.name)
    }
}

/// Inserts stored events as `es_insert_events` keeps them: valid labels and state, a
/// position (store, originator id, version) and a notification id (store, id >= 1) taken
/// once. The head agreeing with the events is checked by `Finish`.
fn insert_stored_events(ctx: &ReducerContext, rows: Vec<EsStoredEvent>) -> RuleResult {
    let table = ctx.db.es_stored_event();
    for row in rows {
        text::validate_name("es_stored_event.store", &row.store)?;
        validate_label("es_stored_event.originator_id", &row.originator_id)?;
        validate_label("es_stored_event.topic", &row.topic)?;
        validate_state("es_stored_event.state", &row.state)?;
        if row.notification_id == 0 {
            return Err(RuleError::invalid(format!(
                "es_stored_event ({:?}, version {}) in store {:?} has notification id 0; \
                 ids start at 1",
                row.originator_id, row.originator_version, row.store
            )));
        }
        if position_recorded(ctx, &row.store, &row.originator_id, row.originator_version) {
            return Err(position_taken(
                &row.originator_id,
                row.originator_version,
                &format!("imported twice in store {:?}", row.store),
            ));
        }
        let notification = (row.store.as_str(), row.notification_id);
        if table
            .es_stored_event_by_notification()
            .filter(notification)
            .next()
            .is_some()
        {
            return Err(RuleError::new(
                Code::IntegrityError,
                format!(
                    "notification id {} of store {:?} is imported twice",
                    row.notification_id, row.store
                ),
            ));
        }
        store::insert(
            ctx.db.es_stored_event(),
            EsStoredEvent { row_id: 0, ..row },
            "stored event",
        )?;
    }
    Ok(())
}

/// Inserts tracking records: one per (store, application name).
fn insert_tracking(ctx: &ReducerContext, rows: Vec<EsTracking>) -> RuleResult {
    let table = ctx.db.es_tracking();
    for row in rows {
        text::validate_name("es_tracking.store", &row.store)?;
        validate_label("es_tracking.application_name", &row.application_name)?;
        let key = (row.store.as_str(), row.application_name.as_str());
        if table
            .es_tracking_by_application()
            .filter(key)
            .next()
            .is_some()
        {
            return Err(RuleError::new(
                Code::AlreadyExists,
                format!(
                    "es_tracking row of {:?} in store {:?} is imported twice",
                    row.application_name, row.store
                ),
            ));
        }
        store::insert(
            ctx.db.es_tracking(),
            EsTracking { row_id: 0, ..row },
            "tracking record",
        )?;
    }
    Ok(())
}

/// Every store's events agree with its head: each event's store has a head, and the head
/// counts the store's events (ids unique and at least 1 on insert, so they are 1..=head).
fn check_es_stores(ctx: &ReducerContext) -> RuleResult {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for row in ctx.db.es_stored_event().iter() {
        let Some(head) = ctx.db.es_store().name().find(&row.store) else {
            return Err(RuleError::new(
                Code::IntegrityError,
                format!("store {:?} has events but no es_store head", row.store),
            ));
        };
        if row.notification_id > head.max_notification_id {
            return Err(RuleError::new(
                Code::IntegrityError,
                format!(
                    "store {:?} has notification id {} past its head {}",
                    row.store, row.notification_id, head.max_notification_id
                ),
            ));
        }
        *counts.entry(row.store).or_default() += 1;
    }
    for head in ctx.db.es_store().iter() {
        let events = counts.get(&head.name).copied().unwrap_or(0);
        head_matches_events(&head.name, head.max_notification_id, events)?;
    }
    Ok(())
}

/// Checks and inserts every row; a row whose key is already there is refused, the same row
/// twice too: inserting a row identical to a stored one is no failure but a no-op, so the
/// table's count tells whether the row was added.
fn insert_all<T: Table>(table: &T, rows: Vec<T::Row>) -> RuleResult
where
    T::Row: Imported,
{
    for row in rows {
        row.check()?;
        let key = row.key();
        let before = table.count();
        let added = table.try_insert(row).is_ok() && table.count() == before + 1;
        if !added {
            return Err(RuleError::new(
                Code::AlreadyExists,
                format!("{} row {key:?} is imported twice", T::Row::TABLE),
            ));
        }
    }
    Ok(())
}

fn insert(ctx: &ReducerContext, batch: ImportBatch) -> RuleResult {
    match batch {
        ImportBatch::Config(rows) => insert_all(ctx.db.config(), rows),
        // The importer is an admin already (`Begin` keeps it): only the others are added.
        ImportBatch::Admin(rows) => {
            let admins = ctx.db.admin();
            let new = rows
                .into_iter()
                .filter(|row| admins.identity().find(row.identity).is_none())
                .collect();
            insert_all(ctx.db.admin(), new)
        }
        ImportBatch::Entity(rows) => insert_all(ctx.db.entity(), rows),
        ImportBatch::Relation(rows) => insert_all(ctx.db.relation(), rows),
        ImportBatch::StateVersion(rows) => insert_all(ctx.db.state_version(), rows),
        ImportBatch::Timeline(rows) => insert_all(ctx.db.timeline(), rows),
        ImportBatch::DeltaRecord(rows) => insert_all(ctx.db.delta_record(), rows),
        ImportBatch::EventLog(rows) => {
            let seqs: Vec<u64> = rows.iter().map(|row| row.seq).collect();
            insert_all(ctx.db.event_log(), rows)?;
            seqs.into_iter().try_for_each(|seq| record_page(ctx, seq))
        }
        ImportBatch::Writer(rows) => insert_all(ctx.db.writer(), rows),
        ImportBatch::StreamOwner(rows) => insert_all(ctx.db.stream_owner(), rows),
        ImportBatch::StreamDelegate(rows) => insert_all(ctx.db.stream_delegate(), rows),
        ImportBatch::EsStoredEvent(rows) => insert_stored_events(ctx, rows),
        ImportBatch::EsStore(rows) => insert_all(ctx.db.es_store(), rows),
        ImportBatch::EsTracking(rows) => insert_tracking(ctx, rows),
        ImportBatch::Begin | ImportBatch::Finish(_) => unreachable!("handled by import_rows"),
    }
}

fn finish(ctx: &ReducerContext, next_seq: u64) -> RuleResult {
    let broken = |what: String| Err(RuleError::new(Code::IntegrityError, what));
    for row in ctx.db.relation().iter() {
        for endpoint in [&row.from_entity, &row.to_entity] {
            if ctx.db.entity().id().find(endpoint).is_none() {
                return broken(format!(
                    "relation {:?} names missing entity {endpoint:?}",
                    row.id
                ));
            }
        }
    }
    for row in ctx.db.state_version().iter() {
        if let Some(parent) = &row.parent_version_id {
            let Some(parent_row) = ctx.db.state_version().version_id().find(parent) else {
                return broken(format!(
                    "state version {:?} names missing parent {parent:?}",
                    row.version_id
                ));
            };
            // A parent is committed first, so its log seq is lower: versions form no cycle.
            if parent_row.seq >= row.seq {
                return broken(format!(
                    "state version {:?} (seq {}) names parent {parent:?} committed after it \
                     (seq {})",
                    row.version_id, row.seq, parent_row.seq
                ));
            }
        }
    }
    for row in ctx.db.delta_record().iter() {
        if ctx
            .db
            .state_version()
            .version_id()
            .find(&row.state_version_id)
            .is_none()
        {
            return broken(format!("delta {:?} names a missing version", row.delta_id));
        }
    }
    for row in ctx.db.timeline().iter() {
        let Some(head) = ctx
            .db
            .state_version()
            .version_id()
            .find(&row.head_version_id)
        else {
            return broken(format!("timeline {:?} has a missing head", row.name));
        };
        // A commit makes its version the head of its own timeline, and a redaction moves the
        // head only to a parent on the same timeline.
        if head.timeline != row.name {
            return broken(format!(
                "timeline {:?} has head {:?}, a version of timeline {:?}",
                row.name, head.version_id, head.timeline
            ));
        }
    }
    check_es_stores(ctx)?;
    let count = ctx.db.event_log().count();
    if next_seq != count + 1 {
        return broken(format!(
            "{count} event_log rows imported, so next_seq must be {}, not {next_seq}",
            count + 1
        ));
    }
    for seq in 1..=count {
        if ctx.db.event_log().seq().find(seq).is_none() {
            return broken(format!(
                "event_log has no row with seq {seq}: the log has a gap"
            ));
        }
    }
    store::insert(
        ctx.db.log_sequence(),
        LogSequence { id: 0, next_seq },
        "the log sequence",
    )?;
    ctx.db.import_state().id().delete(0);
    log::info!("import finished: {count} log rows, next seq {next_seq}");
    Ok(())
}
