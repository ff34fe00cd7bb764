//! Validation of the module's own types, built from the host-tested rules. Each check returns
//! the value in canonical form, so stored JSON is always canonical.

use inner_universe_rules::limits::MAX_OPERATIONS;
use inner_universe_rules::patch::Operation;
use inner_universe_rules::{json, pointer, text, RuleError, RuleResult};

use crate::types::{
    DeleteOperation, DeltaMetadata, DeltaOperation, EntityMetadata, InsertOperation,
    PatchOperation, RelationMetadata, RemoveOperation, SetOperation,
};

pub fn entity_metadata(m: EntityMetadata) -> RuleResult<EntityMetadata> {
    text::validate_optional_text("metadata.name", m.name.as_deref())?;
    text::validate_optional_text("metadata.description", m.description.as_deref())?;
    text::validate_tags("metadata.tags", &m.tags)?;
    Ok(EntityMetadata {
        properties: json::canonicalize_object("metadata.properties", &m.properties)?,
        ..m
    })
}

pub fn relation_metadata(m: RelationMetadata) -> RuleResult<RelationMetadata> {
    text::validate_optional_text("metadata.description", m.description.as_deref())?;
    if !(0.0..=1.0).contains(&m.strength) {
        return Err(RuleError::invalid(format!(
            "metadata.strength is {}; it must be between 0.0 and 1.0",
            m.strength
        )));
    }
    text::validate_tags("metadata.tags", &m.tags)?;
    Ok(RelationMetadata {
        properties: json::canonicalize_object("metadata.properties", &m.properties)?,
        ..m
    })
}

pub fn delta_metadata(m: DeltaMetadata) -> RuleResult<DeltaMetadata> {
    text::validate_text("metadata.description", &m.description)?;
    text::validate_optional_text("metadata.author", m.author.as_deref())?;
    text::validate_tags("metadata.tags", &m.tags)?;
    if let Some(parent) = &m.parent_delta_id {
        text::validate_id("metadata.parent_delta_id", parent)?;
    }
    Ok(m)
}

pub fn operations(ops: Vec<DeltaOperation>) -> RuleResult<Vec<DeltaOperation>> {
    if ops.len() > MAX_OPERATIONS {
        return Err(RuleError::invalid(format!(
            "{} operations; the limit is {MAX_OPERATIONS} per call",
            ops.len()
        )));
    }
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| operation(&format!("operations[{i}]"), op))
        .collect()
}

fn operation(field: &str, op: DeltaOperation) -> RuleResult<DeltaOperation> {
    let path_field = format!("{field}.path");
    Ok(match op {
        DeltaOperation::Set(SetOperation { path, value }) => {
            pointer::validate_pointer(&path_field, &path)?;
            let value = json::canonicalize(&format!("{field}.value"), &value)?;
            DeltaOperation::Set(SetOperation { path, value })
        }
        DeltaOperation::Delete(DeleteOperation { path }) => {
            pointer::validate_pointer(&path_field, &path)?;
            if path.is_empty() {
                return Err(RuleError::invalid(format!(
                    "{path_field} is empty: Delete cannot remove the whole document (use Set)"
                )));
            }
            DeltaOperation::Delete(DeleteOperation { path })
        }
        DeltaOperation::Insert(InsertOperation { path, index, value }) => {
            pointer::validate_pointer(&path_field, &path)?;
            let value = json::canonicalize(&format!("{field}.value"), &value)?;
            DeltaOperation::Insert(InsertOperation { path, index, value })
        }
        DeltaOperation::Remove(RemoveOperation { path, index }) => {
            pointer::validate_pointer(&path_field, &path)?;
            DeltaOperation::Remove(RemoveOperation { path, index })
        }
        DeltaOperation::Patch(PatchOperation { path, patch }) => {
            pointer::validate_pointer(&path_field, &path)?;
            let patch = json::canonicalize_object(&format!("{field}.patch"), &patch)?;
            DeltaOperation::Patch(PatchOperation { path, patch })
        }
    })
}

/// Stored (canonical) operations with their JSON values parsed, for [`patch::apply`].
///
/// [`patch::apply`]: inner_universe_rules::patch::apply
pub fn parsed_operations(ops: &[DeltaOperation]) -> RuleResult<Vec<Operation>> {
    ops.iter()
        .map(|op| {
            Ok(match op {
                DeltaOperation::Set(SetOperation { path, value }) => Operation::Set {
                    path: path.clone(),
                    value: json::parse("value", value)?,
                },
                DeltaOperation::Delete(DeleteOperation { path }) => {
                    Operation::Delete { path: path.clone() }
                }
                DeltaOperation::Insert(InsertOperation { path, index, value }) => {
                    Operation::Insert {
                        path: path.clone(),
                        index: *index,
                        value: json::parse("value", value)?,
                    }
                }
                DeltaOperation::Remove(RemoveOperation { path, index }) => Operation::Remove {
                    path: path.clone(),
                    index: *index,
                },
                DeltaOperation::Patch(PatchOperation { path, patch }) => {
                    let json::Value::Object(members) = json::parse("patch", patch)? else {
                        return Err(RuleError::invalid("a patch must be a JSON object"));
                    };
                    Operation::Patch {
                        path: path.clone(),
                        members,
                    }
                }
            })
        })
        .collect()
}

/// Names of the fields that differ, for `*_UPDATED` events.
pub fn changed_fields(pairs: &[(&str, bool)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| (*name).to_string())
        .collect()
}
