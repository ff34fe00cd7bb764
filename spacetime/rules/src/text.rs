//! Ids, type names, free text and tags.

use crate::error::{RuleError, RuleResult};
use crate::limits::{MAX_ID_LEN, MAX_NAME_LEN, MAX_TAGS, MAX_TEXT_LEN};

/// Ids are client-made (reducers cannot return values), so they must be safe to log, to put in
/// SQL literals and in file names: 1..=128 of `[A-Za-z0-9._:-]`.
pub fn validate_id(field: &str, id: &str) -> RuleResult {
    if id.is_empty() {
        return Err(RuleError::invalid(format!("{field} must not be empty")));
    }
    if id.len() > MAX_ID_LEN {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_ID_LEN}",
            id.len()
        )));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(RuleError::invalid(format!(
            "{field} {id:?} contains {bad:?}; ids may use letters, digits, '.', '_', ':' and '-'"
        )));
    }
    Ok(())
}

/// Type names (`ENTITY_CREATED`, `agent`, `depends_on`, `my.app/Event`): non-empty, no spaces
/// or control characters, at most 128 bytes.
pub fn validate_name(field: &str, name: &str) -> RuleResult {
    if name.trim().is_empty() {
        return Err(RuleError::invalid(format!("{field} must not be empty")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-' | '/')))
    {
        return Err(RuleError::invalid(format!(
            "{field} {name:?} contains {bad:?}; use letters, digits, '.', '_', ':', '-' and '/'"
        )));
    }
    Ok(())
}

/// Free text (descriptions, names, sources): bounded, no NUL.
pub fn validate_text(field: &str, text: &str) -> RuleResult {
    if text.len() > MAX_TEXT_LEN {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_TEXT_LEN}",
            text.len()
        )));
    }
    if text.contains('\0') {
        return Err(RuleError::invalid(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
}

/// Optional free text: the same rules when present.
pub fn validate_optional_text(field: &str, text: Option<&str>) -> RuleResult {
    text.map_or(Ok(()), |t| validate_text(field, t))
}

/// Tags: at most 64, each non-blank, at most 128 bytes, no control characters, no repeats.
pub fn validate_tags(field: &str, tags: &[String]) -> RuleResult {
    if tags.len() > MAX_TAGS {
        return Err(RuleError::invalid(format!(
            "{field} has {} tags; the limit is {MAX_TAGS}",
            tags.len()
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        let tag_field = format!("{field}[{i}]");
        if tag.trim().is_empty() || tag.len() > MAX_NAME_LEN || tag.chars().any(char::is_control) {
            return Err(RuleError::invalid(format!(
                "{tag_field} {tag:?} must be non-blank text of at most {MAX_NAME_LEN} bytes \
                 without control characters"
            )));
        }
        if tags[..i].contains(tag) {
            return Err(RuleError::invalid(format!(
                "{field} repeats the tag {tag:?}"
            )));
        }
    }
    Ok(())
}

fn is_lower_hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `data_hash` values: 64 lowercase hex digits (SHA-256).
pub fn validate_sha256_hex(field: &str, hash: &str) -> RuleResult {
    if is_lower_hex(hash, 64) {
        Ok(())
    } else {
        Err(RuleError::invalid(format!(
            "{field} {hash:?} is not a SHA-256 digest in lowercase hex (64 characters 0-9a-f)"
        )))
    }
}

/// Checkpoint markers: 32 lowercase hex digits (128 random bits), so that the marker's bytes
/// are unique in the commit log where the controller looks for them.
pub fn validate_marker(field: &str, marker: &str) -> RuleResult {
    if is_lower_hex(marker, 32) {
        Ok(())
    } else {
        Err(RuleError::invalid(format!(
            "{field} {marker:?} is not 32 lowercase hex digits (128 random bits)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn ids_accept_uuids_and_prefixed_ids() {
        assert!(validate_id("entity_id", "3f2b1c9e-0d4a-4c55-9a61-2f3e4d5c6b7a").is_ok());
        assert!(validate_id("event_id", "sys:42").is_ok());
        assert!(validate_id("version_id", "v1.2_a").is_ok());
    }

    #[test]
    fn ids_reject_empty_long_and_unsafe() {
        let empty = validate_id("entity_id", "").unwrap_err();
        assert_eq!(empty.code, Code::InvalidArgument);
        assert_eq!(empty.message, "entity_id must not be empty");
        let long = validate_id("entity_id", &"a".repeat(129)).unwrap_err();
        assert!(long.message.contains("limit is 128"), "{long}");
        let quote = validate_id("entity_id", "a'b").unwrap_err();
        assert!(quote.message.contains("'\\''"), "{quote}");
        assert!(validate_id("entity_id", "a b").is_err());
        assert!(validate_id("entity_id", "é").is_err());
    }

    #[test]
    fn names_reject_blank_and_spaces() {
        assert_eq!(
            validate_name("entity_type", "  ").unwrap_err().message,
            "entity_type must not be empty"
        );
        assert!(validate_name("event_type", "ENTITY CREATED").is_err());
        assert!(validate_name("event_type", "ENTITY_CREATED").is_ok());
        assert!(validate_name("event_type", "atlas.agent/STEP_DONE").is_ok());
    }

    #[test]
    fn text_is_bounded_and_nul_free() {
        assert!(validate_text("description", &"x".repeat(4096)).is_ok());
        assert!(validate_text("description", &"x".repeat(4097)).is_err());
        assert!(validate_text("description", "a\0b").is_err());
        assert!(validate_optional_text("source", None).is_ok());
    }

    #[test]
    fn tags_are_names_without_repeats() {
        let ok = vec!["a".to_string(), "b".to_string()];
        assert!(validate_tags("tags", &ok).is_ok());
        let dup = vec!["a".to_string(), "a".to_string()];
        assert_eq!(
            validate_tags("tags", &dup).unwrap_err().message,
            "tags repeats the tag \"a\""
        );
        assert!(validate_tags("tags", &["high priority".to_string()]).is_ok());
        let blank = vec![" ".to_string()];
        assert!(validate_tags("tags", &blank)
            .unwrap_err()
            .message
            .starts_with("tags[0]"));
        assert!(validate_tags("tags", &["a\nb".to_string()]).is_err());
        let many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
        assert!(validate_tags("tags", &many).is_err());
    }

    #[test]
    fn hashes_are_lowercase_sha256_hex() {
        assert!(validate_sha256_hex("data_hash", &"ab".repeat(32)).is_ok());
        assert!(validate_sha256_hex("data_hash", &"AB".repeat(32)).is_err());
        assert!(validate_sha256_hex("data_hash", "abc").is_err());
    }

    #[test]
    fn markers_are_128_bits_of_lowercase_hex() {
        assert!(validate_marker("marker", &"0f".repeat(16)).is_ok());
        assert!(validate_marker("marker", &"0F".repeat(16)).is_err());
        assert!(validate_marker("marker", &"0f".repeat(15)).is_err());
        let long = validate_marker("marker", &"0f".repeat(32)).unwrap_err();
        assert_eq!(long.code, Code::InvalidArgument);
        assert!(long.message.starts_with("marker "), "{long}");
    }
}
