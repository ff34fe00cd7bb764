use inner_universe_rules::{text, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use super::{already_exists, not_found};
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::entity::entity;
use crate::tables::relation::{relation, Relation};
use crate::types::{
    EventData, RelationCreated, RelationDeleted, RelationMetadata, RelationUpdated,
};
use crate::{access, checks};

#[reducer]
pub fn create_relation(
    ctx: &ReducerContext,
    relation_id: String,
    from_entity: String,
    to_entity: String,
    relation_type: String,
    metadata: RelationMetadata,
) -> RuleResult {
    text::validate_id("relation_id", &relation_id)?;
    text::validate_id("from_entity", &from_entity)?;
    text::validate_id("to_entity", &to_entity)?;
    text::validate_name("relation_type", &relation_type)?;
    let metadata = checks::relation_metadata(metadata)?;
    access::require_role(ctx, "create_relation")?;
    if let Some(existing) = ctx.db.relation().id().find(&relation_id) {
        let identical = existing.from_entity == from_entity
            && existing.to_entity == to_entity
            && existing.relation_type == relation_type
            && existing.metadata == metadata;
        return if identical {
            Ok(())
        } else {
            Err(already_exists("relation", &relation_id))
        };
    }
    for (field, id) in [("from_entity", &from_entity), ("to_entity", &to_entity)] {
        if ctx.db.entity().id().find(id).is_none() {
            return Err(not_found(&format!("{field}: entity"), id));
        }
    }
    store::insert(
        ctx.db.relation(),
        Relation {
            id: relation_id.clone(),
            from_entity: from_entity.clone(),
            to_entity: to_entity.clone(),
            relation_type: relation_type.clone(),
            created_at: ctx.timestamp,
            updated_at: ctx.timestamp,
            owner: ctx.sender,
            metadata: metadata.clone(),
        },
        &format!("relation {relation_id:?}"),
    )?;
    journal::record(
        ctx,
        Entry::system(
            Some(relation_id.clone()),
            EventData::RelationCreated(RelationCreated {
                relation_id,
                from_entity,
                to_entity,
                relation_type,
                metadata,
            }),
        ),
    )?;
    Ok(())
}

/// Replaces the type and metadata (endpoints are immutable: delete and recreate to move one).
#[reducer]
pub fn update_relation(
    ctx: &ReducerContext,
    relation_id: String,
    relation_type: String,
    metadata: RelationMetadata,
) -> RuleResult {
    text::validate_id("relation_id", &relation_id)?;
    text::validate_name("relation_type", &relation_type)?;
    let metadata = checks::relation_metadata(metadata)?;
    access::require_role(ctx, "update_relation")?;
    let existing = owned(ctx, &relation_id)?;
    let old = &existing.metadata;
    let changed_fields = checks::changed_fields(&[
        ("relation_type", existing.relation_type != relation_type),
        (
            "metadata.description",
            old.description != metadata.description,
        ),
        ("metadata.strength", old.strength != metadata.strength),
        (
            "metadata.bidirectional",
            old.bidirectional != metadata.bidirectional,
        ),
        ("metadata.tags", old.tags != metadata.tags),
        ("metadata.properties", old.properties != metadata.properties),
    ]);
    if changed_fields.is_empty() {
        return Ok(());
    }
    ctx.db.relation().id().update(Relation {
        relation_type,
        metadata,
        updated_at: ctx.timestamp,
        ..existing
    });
    journal::record(
        ctx,
        Entry::system(
            Some(relation_id.clone()),
            EventData::RelationUpdated(RelationUpdated {
                relation_id,
                changed_fields,
            }),
        ),
    )?;
    Ok(())
}

/// The relation's owner, an admin, or the owner of either endpoint may delete it: a relation
/// another identity points at your entity must not keep you from deleting the entity.
#[reducer]
pub fn delete_relation(ctx: &ReducerContext, relation_id: String) -> RuleResult {
    text::validate_id("relation_id", &relation_id)?;
    access::require_role(ctx, "delete_relation")?;
    let existing = ctx
        .db
        .relation()
        .id()
        .find(&relation_id)
        .ok_or_else(|| not_found("relation", &relation_id))?;
    let owns_endpoint = [&existing.from_entity, &existing.to_entity]
        .into_iter()
        .filter_map(|id| ctx.db.entity().id().find(id))
        .any(|endpoint| endpoint.owner == ctx.sender);
    if !owns_endpoint {
        access::require_owner(ctx, existing.owner, &format!("relation {relation_id:?}"))?;
    }
    ctx.db.relation().id().delete(&relation_id);
    journal::record(
        ctx,
        Entry::system(
            Some(relation_id.clone()),
            EventData::RelationDeleted(RelationDeleted {
                relation_id,
                from_entity: existing.from_entity,
                to_entity: existing.to_entity,
                relation_type: existing.relation_type,
            }),
        ),
    )?;
    Ok(())
}

/// The relation, if it exists and the caller may change it.
fn owned(ctx: &ReducerContext, relation_id: &str) -> RuleResult<Relation> {
    let existing = ctx
        .db
        .relation()
        .id()
        .find(relation_id.to_string())
        .ok_or_else(|| not_found("relation", relation_id))?;
    access::require_owner(ctx, existing.owner, &format!("relation {relation_id:?}"))?;
    Ok(existing)
}
