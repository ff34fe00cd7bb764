use inner_universe_rules::{text, Code, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use super::{already_exists, not_found};
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::entity::{entity, Entity};
use crate::tables::relation::relation;
use crate::types::{EntityCreated, EntityDeleted, EntityMetadata, EntityUpdated, EventData};
use crate::{access, checks};

#[reducer]
pub fn create_entity(
    ctx: &ReducerContext,
    entity_id: String,
    entity_type: String,
    metadata: EntityMetadata,
) -> RuleResult {
    let metadata = validated(&entity_id, &entity_type, metadata)?;
    access::require_role(ctx, "create_entity")?;
    if let Some(existing) = ctx.db.entity().id().find(&entity_id) {
        return if existing.entity_type == entity_type && existing.metadata == metadata {
            Ok(())
        } else {
            Err(already_exists("entity", &entity_id))
        };
    }
    store::insert(
        ctx.db.entity(),
        Entity {
            id: entity_id.clone(),
            entity_type: entity_type.clone(),
            created_at: ctx.timestamp,
            updated_at: ctx.timestamp,
            owner: ctx.sender,
            metadata: metadata.clone(),
        },
        &format!("entity {entity_id:?}"),
    )?;
    journal::record(
        ctx,
        Entry::system(
            Some(entity_id.clone()),
            EventData::EntityCreated(EntityCreated {
                entity_id,
                entity_type,
                metadata,
            }),
        ),
    )?;
    Ok(())
}

/// Replaces the type and metadata; records which of them changed. No change, no event.
#[reducer]
pub fn update_entity(
    ctx: &ReducerContext,
    entity_id: String,
    entity_type: String,
    metadata: EntityMetadata,
) -> RuleResult {
    let metadata = validated(&entity_id, &entity_type, metadata)?;
    access::require_role(ctx, "update_entity")?;
    let existing = owned(ctx, &entity_id)?;
    let changed_fields = checks::changed_fields(&[
        ("entity_type", existing.entity_type != entity_type),
        ("metadata.name", existing.metadata.name != metadata.name),
        (
            "metadata.description",
            existing.metadata.description != metadata.description,
        ),
        ("metadata.tags", existing.metadata.tags != metadata.tags),
        (
            "metadata.properties",
            existing.metadata.properties != metadata.properties,
        ),
    ]);
    if changed_fields.is_empty() {
        return Ok(());
    }
    ctx.db.entity().id().update(Entity {
        entity_type,
        metadata,
        updated_at: ctx.timestamp,
        ..existing
    });
    journal::record(
        ctx,
        Entry::system(
            Some(entity_id.clone()),
            EventData::EntityUpdated(EntityUpdated {
                entity_id,
                changed_fields,
            }),
        ),
    )?;
    Ok(())
}

/// Refuses while relations still reference the entity: delete those first.
#[reducer]
pub fn delete_entity(ctx: &ReducerContext, entity_id: String) -> RuleResult {
    text::validate_id("entity_id", &entity_id)?;
    access::require_role(ctx, "delete_entity")?;
    let existing = owned(ctx, &entity_id)?;
    let relations = ctx.db.relation();
    let referencing: Vec<String> = relations
        .relation_by_from()
        .filter(&entity_id)
        .chain(relations.relation_by_to().filter(&entity_id))
        .map(|r| r.id)
        .collect();
    if let Some(first) = referencing.first() {
        return Err(RuleError::new(
            Code::InUse,
            format!(
                "entity {entity_id:?} is still referenced by {} relation(s), e.g. {first:?}; \
                 delete them first",
                referencing.len()
            ),
        ));
    }
    ctx.db.entity().id().delete(&entity_id);
    journal::record(
        ctx,
        Entry::system(
            Some(entity_id.clone()),
            EventData::EntityDeleted(EntityDeleted {
                entity_id,
                entity_type: existing.entity_type,
            }),
        ),
    )?;
    Ok(())
}

fn validated(
    entity_id: &str,
    entity_type: &str,
    metadata: EntityMetadata,
) -> RuleResult<EntityMetadata> {
    text::validate_id("entity_id", entity_id)?;
    text::validate_name("entity_type", entity_type)?;
    checks::entity_metadata(metadata)
}

/// The entity, if it exists and the caller may change it.
fn owned(ctx: &ReducerContext, entity_id: &str) -> RuleResult<Entity> {
    let existing = ctx
        .db
        .entity()
        .id()
        .find(entity_id.to_string())
        .ok_or_else(|| not_found("entity", entity_id))?;
    access::require_owner(ctx, existing.owner, &format!("entity {entity_id:?}"))?;
    Ok(existing)
}
