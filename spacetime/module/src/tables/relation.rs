use spacetimedb::{table, Identity, Timestamp};

use crate::types::RelationMetadata;

/// A directed relation between two existing entities; its endpoints are immutable.
#[table(
    name = relation,
    public,
    index(name = relation_by_from, btree(columns = [from_entity])),
    index(name = relation_by_to, btree(columns = [to_entity])),
    index(name = relation_by_type, btree(columns = [relation_type]))
)]
#[derive(Clone, Debug)]
pub struct Relation {
    #[primary_key]
    pub id: String,
    pub from_entity: String,
    pub to_entity: String,
    pub relation_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub owner: Identity,
    pub metadata: RelationMetadata,
}
