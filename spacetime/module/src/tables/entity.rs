use spacetimedb::{table, Identity, Timestamp};

use crate::types::EntityMetadata;

/// A NERV entity. `owner` (its creator) and admins may update or delete it.
#[table(
    name = entity,
    public,
    index(name = entity_by_type, btree(columns = [entity_type])),
    index(name = entity_by_created_at, btree(columns = [created_at]))
)]
#[derive(Clone, Debug)]
pub struct Entity {
    #[primary_key]
    pub id: String,
    pub entity_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub owner: Identity,
    pub metadata: EntityMetadata,
}
