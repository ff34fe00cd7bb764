//! Applying delta operations to a JSON state, with the semantics of the Python delta layer
//! (`nerv_inner_universe/delta/applying.py`), so that the module can rebuild a version's state
//! and check it against its `data_hash`.
//!
//! Paths are RFC 6901 JSON Pointers (already validated by [`crate::pointer`]). `Set` creates
//! or replaces an object member, replaces an existing list item, or appends at `-`; `Delete`
//! removes an existing member or item; `Insert` and `Remove` work on the list at the path;
//! `Patch` merges an object's members (shallowly) into the object at the path. Every step must
//! exist; a mismatch is `integrity_error` naming the operation.

use crate::error::{Code, RuleError, RuleResult};
use crate::json::{Members, Value};
use crate::limits::MAX_JSON_DEPTH;

/// One delta operation, its JSON values parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    Set {
        path: String,
        value: Value,
    },
    Delete {
        path: String,
    },
    Insert {
        path: String,
        index: Option<u32>,
        value: Value,
    },
    Remove {
        path: String,
        index: u32,
    },
    Patch {
        path: String,
        members: Members,
    },
}

impl Operation {
    /// The JSON Pointer the operation works at.
    pub fn path(&self) -> &str {
        match self {
            Operation::Set { path, .. }
            | Operation::Delete { path }
            | Operation::Insert { path, .. }
            | Operation::Remove { path, .. }
            | Operation::Patch { path, .. } => path,
        }
    }
}

/// `state` after `ops`, in order. `what` names the operations in errors (`version "v2"`).
pub fn apply(mut state: Value, ops: &[Operation], what: &str) -> RuleResult<Value> {
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut state, op).map_err(|msg| {
            RuleError::new(
                Code::IntegrityError,
                format!("{what} operation {i} at {:?}: {msg}", op.path()),
            )
        })?;
    }
    if depth(&state) > MAX_JSON_DEPTH {
        return Err(RuleError::new(
            Code::IntegrityError,
            format!("{what}: the resulting state nests deeper than {MAX_JSON_DEPTH} levels"),
        ));
    }
    Ok(state)
}

type Step<T = ()> = Result<T, String>;

fn apply_one(doc: &mut Value, op: &Operation) -> Step {
    match op {
        Operation::Set { path, value } if path.is_empty() => {
            *doc = value.clone();
        }
        Operation::Set { path, value } => {
            let (parent, token) = parent_of(doc, path)?;
            match parent {
                Value::Object(members) => members.insert(token, value.clone()),
                Value::Array(items) if token == "-" => items.push(value.clone()),
                Value::Array(items) => {
                    let at = item_index(items, &token)?;
                    items[at] = value.clone();
                }
                _ => unreachable!("parent_of returns containers"),
            }
        }
        Operation::Delete { path } => {
            let (parent, token) = parent_of(doc, path)?;
            match parent {
                Value::Object(members) => {
                    members
                        .remove(&token)
                        .ok_or_else(|| format!("no key {token:?}"))?;
                }
                Value::Array(items) => {
                    let at = item_index(items, &token)?;
                    items.remove(at);
                }
                _ => unreachable!("parent_of returns containers"),
            }
        }
        Operation::Insert { path, index, value } => {
            let items = list_at(doc, path)?;
            let at = match index {
                None => items.len(),
                Some(i) if (*i as usize) <= items.len() => *i as usize,
                Some(i) => {
                    return Err(format!(
                        "index {i} is out of range for inserting into {} items",
                        items.len()
                    ))
                }
            };
            items.insert(at, value.clone());
        }
        Operation::Remove { path, index } => {
            let items = list_at(doc, path)?;
            if *index as usize >= items.len() {
                return Err(format!(
                    "index {index} is out of range for {} items",
                    items.len()
                ));
            }
            items.remove(*index as usize);
        }
        Operation::Patch { path, members } => {
            let target = resolve(doc, &tokens(path))?;
            let Value::Object(target) = target else {
                return Err(format!("the target is {}, not an object", target.kind()));
            };
            // `dict.update`: an existing key keeps its place, a new one goes last.
            for (key, value) in members.iter() {
                target.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// The unescaped tokens of a valid pointer (`""` has none).
fn tokens(path: &str) -> Vec<String> {
    path.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn resolve<'a>(doc: &'a mut Value, tokens: &[String]) -> Step<&'a mut Value> {
    let mut node = doc;
    for token in tokens {
        node = match node {
            Value::Object(members) => members
                .get_mut(token)
                .ok_or_else(|| format!("no key {token:?}"))?,
            Value::Array(items) => {
                let at = item_index(items, token)?;
                &mut items[at]
            }
            other => return Err(format!("{} has no member {token:?}", other.kind())),
        };
    }
    Ok(node)
}

fn parent_of<'a>(doc: &'a mut Value, path: &str) -> Step<(&'a mut Value, String)> {
    let mut all = tokens(path);
    let last = all.pop().expect("a non-empty pointer has a token");
    let parent = resolve(doc, &all)?;
    if matches!(parent, Value::Object(_) | Value::Array(_)) {
        Ok((parent, last))
    } else {
        Err(format!(
            "the parent is {}, not an object or a list",
            parent.kind()
        ))
    }
}

fn list_at<'a>(doc: &'a mut Value, path: &str) -> Step<&'a mut Vec<Value>> {
    match resolve(doc, &tokens(path))? {
        Value::Array(items) => Ok(items),
        other => Err(format!("the target is {}, not a list", other.kind())),
    }
}

/// An existing item's index: ASCII decimal without sign or leading zeros (`-` is the end, never
/// an item).
fn item_index(items: &[Value], token: &str) -> Step<usize> {
    let decimal = token == "0"
        || (!token.is_empty()
            && !token.starts_with('0')
            && token.bytes().all(|b| b.is_ascii_digit()));
    if !decimal {
        return Err(format!("{token:?} is not a list index"));
    }
    token
        .parse::<usize>()
        .ok()
        .filter(|i| *i < items.len())
        .ok_or_else(|| format!("index {token} is out of range for {} items", items.len()))
}

/// Container nesting, counted as the parser counts it (a scalar is 0, `[]` is 1).
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((node, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match node {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        stack.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, to_canonical};

    fn v(text: &str) -> Value {
        parse("test", text).unwrap()
    }

    fn set(path: &str, value: &str) -> Operation {
        Operation::Set {
            path: path.into(),
            value: v(value),
        }
    }

    fn run(state: &str, ops: &[Operation]) -> RuleResult<String> {
        apply(v(state), ops, "version \"v\"").map(|s| to_canonical(&s))
    }

    #[test]
    fn set_creates_replaces_and_appends() {
        assert_eq!(run("{}", &[set("", "[1]")]).unwrap(), "[1]");
        assert_eq!(run("{}", &[set("/a", "1")]).unwrap(), "{\"a\":1}");
        assert_eq!(run("{\"a\":1}", &[set("/a", "2")]).unwrap(), "{\"a\":2}");
        assert_eq!(run("[1,2]", &[set("/1", "3")]).unwrap(), "[1,3]");
        assert_eq!(run("[1]", &[set("/-", "2")]).unwrap(), "[1,2]");
        assert_eq!(run("{}", &[set("/a~1b~0", "1")]).unwrap(), "{\"a/b~\":1}");
    }

    #[test]
    fn delete_insert_remove_patch() {
        let ops = [
            Operation::Delete { path: "/a".into() },
            Operation::Insert {
                path: "/l".into(),
                index: Some(0),
                value: v("0"),
            },
            Operation::Insert {
                path: "/l".into(),
                index: None,
                value: v("9"),
            },
            Operation::Remove {
                path: "/l".into(),
                index: 1,
            },
            Operation::Patch {
                path: "".into(),
                members: [("b".into(), v("2")), ("c".into(), v("null"))]
                    .into_iter()
                    .collect(),
            },
        ];
        assert_eq!(
            run("{\"a\":1,\"b\":1,\"l\":[1]}", &ops).unwrap(),
            "{\"b\":2,\"c\":null,\"l\":[0,9]}"
        );
    }

    #[test]
    fn mismatches_are_integrity_errors_naming_the_operation() {
        let cases = [
            ("{}", set("/a/b", "1")),
            ("[]", set("/0", "1")),
            ("[1]", set("/01", "1")),
            ("[1]", set("/²", "1")),
            ("1", set("/a", "1")),
            ("{}", Operation::Delete { path: "/x".into() }),
            ("[1]", Operation::Delete { path: "/-".into() }),
            (
                "[]",
                Operation::Insert {
                    path: "".into(),
                    index: Some(1),
                    value: v("1"),
                },
            ),
            (
                "[]",
                Operation::Remove {
                    path: "".into(),
                    index: 0,
                },
            ),
            (
                "[]",
                Operation::Patch {
                    path: "".into(),
                    members: Members::new(),
                },
            ),
            (
                "{}",
                Operation::Insert {
                    path: "".into(),
                    index: None,
                    value: v("1"),
                },
            ),
        ];
        for (state, op) in cases {
            let err = run(state, std::slice::from_ref(&op)).unwrap_err();
            assert_eq!(err.code, Code::IntegrityError, "{op:?}");
            assert!(
                err.message.starts_with("version \"v\" operation 0 at"),
                "{err}"
            );
        }
        let second = run("{}", &[set("/a", "1"), set("/a/b", "2")]).unwrap_err();
        assert_eq!(
            second.message,
            "version \"v\" operation 1 at \"/a/b\": the parent is integer, not an object or a list"
        );
    }

    #[test]
    fn keys_keep_python_dict_order_through_set_patch_and_delete() {
        let ordered = |state: &str, ops: &[Operation]| {
            crate::json::to_ordered(&apply(v(state), ops, "delta").unwrap())
        };
        let many: Vec<(String, Value)> = ["z", "b", "y", "x", "w", "v", "u", "t", "s"]
            .iter()
            .map(|k| (k.to_string(), v("0")))
            .collect();
        let patch = |members: Vec<(String, Value)>| Operation::Patch {
            path: "".into(),
            members: members.into_iter().collect(),
        };
        assert_eq!(
            ordered(
                "{\"b\":1,\"a\":2}",
                &[
                    set("/c", "3"),
                    set("/b", "4"),
                    set("/n", "{\"q\":1,\"p\":2}")
                ]
            ),
            "{\"b\":4,\"a\":2,\"c\":3,\"n\":{\"q\":1,\"p\":2}}"
        );
        assert_eq!(
            ordered(
                "{\"b\":1,\"a\":2}",
                &[Operation::Delete { path: "/b".into() }, set("/b", "5")]
            ),
            "{\"a\":2,\"b\":5}"
        );
        assert_eq!(
            ordered("{\"a\":1,\"b\":2}", &[patch(many.clone())]),
            "{\"a\":1,\"b\":0,\"z\":0,\"y\":0,\"x\":0,\"w\":0,\"v\":0,\"u\":0,\"t\":0,\"s\":0}"
        );
        assert_eq!(
            ordered("{\"a\":1,\"b\":2}", &[patch(many[..2].to_vec())]),
            "{\"a\":1,\"b\":0,\"z\":0}"
        );
    }

    #[test]
    fn results_nest_at_most_the_parser_limit() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(run("{}", &[set("", &deep)]).is_ok());
        let err = run("{}", &[set("/a", &deep)]).unwrap_err();
        assert!(err.message.contains("nests deeper"), "{err}");
        assert_eq!(depth(&v("1")), 0);
        assert_eq!(depth(&v("{\"a\":[[]]}")), 3);
    }
}
