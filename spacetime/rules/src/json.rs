//! The recursive JSON `Value`, a strict parser and the canonical encoding.
//!
//! SATS 1.2.0 cannot store recursive types in tables, so JSON values travel and are stored as
//! canonical text. The canonical form is RFC 8785 (JCS) with two deviations that keep the
//! upstream `Value` model's `Integer(i64)` / `Float(f64)` distinction exact:
//!
//! 1. integers are written as exact decimal `i64` (JCS would refuse those beyond 2^53);
//! 2. a float whose JCS form has no `.` or exponent gets `.0` appended (`1.0` stays `1.0`,
//!    `-0.0` becomes `0.0`), so it reads back as a float.
//!
//! Everything else is JCS: object members sorted by UTF-16 code units, no whitespace, strings
//! escaped as ECMAScript's `JSON.stringify` does, floats formatted as ECMAScript's
//! `Number.prototype.toString`. The Python package implements the same encoding.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::error::{RuleError, RuleResult};
use crate::limits::{MAX_JSON_BYTES, MAX_JSON_DEPTH};
pub use crate::members::Members;

/// A JSON value with integers and floats kept apart, as in the upstream type notes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    /// Members in input order; keys are unique (the parser refuses duplicates).
    Object(Members),
}

impl Value {
    /// The JSON type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Integer(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Parses `text` strictly: one JSON value, no duplicate keys, no NaN or infinities, integers
/// within i64, at most `MAX_JSON_DEPTH` levels and `MAX_JSON_BYTES` bytes.
pub fn parse(field: &str, text: &str) -> RuleResult<Value> {
    if text.len() > MAX_JSON_BYTES {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes of JSON; the limit is {MAX_JSON_BYTES}",
            text.len()
        )));
    }
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
    };
    let value = parser
        .skip_ws()
        .and_then(|()| parser.value())
        .and_then(|v| parser.skip_ws().map(|()| v))
        .map_err(|msg| RuleError::invalid(format!("{field} is not valid JSON: {msg}")))?;
    if parser.pos != parser.bytes.len() {
        return Err(RuleError::invalid(format!(
            "{field} is not valid JSON: unexpected text after the value at byte {}",
            parser.pos
        )));
    }
    Ok(value)
}

/// Parses and re-encodes `text` canonically.
pub fn canonicalize(field: &str, text: &str) -> RuleResult<String> {
    parse(field, text).map(|v| to_canonical(&v))
}

/// Like [`canonicalize`], but the value must be a JSON object (properties, metadata, patches).
pub fn canonicalize_object(field: &str, text: &str) -> RuleResult<String> {
    let value = parse(field, text)?;
    if !matches!(value, Value::Object(_)) {
        return Err(RuleError::invalid(format!(
            "{field} must be a JSON object, not {}",
            value.kind()
        )));
    }
    Ok(to_canonical(&value))
}

/// The canonical text of a value (see the module docs).
pub fn to_canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, true);
    out
}

/// The canonical text of a value except that each object's members keep their order in
/// `value` (their insertion order, as a Python dict keeps it), so that parsing it back gives
/// the same order; its [`data_hash`] is that of the value.
pub fn to_ordered(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, false);
    out
}

/// `data_hash`: lowercase hex SHA-256 of the canonical text's UTF-8 bytes.
pub fn data_hash(value: &Value) -> String {
    let digest = Sha256::digest(to_canonical(value).as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

fn write_value(out: &mut String, value: &Value, sort: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, sort);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            if sort {
                sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            }
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item, sort);
            }
            out.push('}');
        }
    }
}

/// ECMAScript `JSON.stringify` string escaping: only `"`, `\` and control characters.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match escape_of(c) {
            Some(Escape::Short(short)) => out.push_str(short),
            Some(Escape::Unicode) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            None => out.push(c),
        }
    }
    out.push('"');
}

/// The bytes of `s` written as a JSON string (quotes and escapes included), as the canonical
/// and ordered texts write it.
pub fn escaped_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match escape_of(c) {
            Some(Escape::Short(short)) => short.len(),
            Some(Escape::Unicode) => UNICODE_ESCAPE_LEN,
            None => c.len_utf8(),
        })
        .sum::<usize>()
}

/// How a character is escaped in a JSON string.
enum Escape {
    /// A two-character escape (`\n`).
    Short(&'static str),
    /// `\u` and four lowercase hex digits.
    Unicode,
}

/// The length of an [`Escape::Unicode`].
const UNICODE_ESCAPE_LEN: usize = 6;

/// ECMAScript `JSON.stringify`'s escape of `c`, or `None` for a character written as is.
fn escape_of(c: char) -> Option<Escape> {
    match c {
        '"' => Some(Escape::Short("\\\"")),
        '\\' => Some(Escape::Short("\\\\")),
        '\u{08}' => Some(Escape::Short("\\b")),
        '\u{0C}' => Some(Escape::Short("\\f")),
        '\n' => Some(Escape::Short("\\n")),
        '\r' => Some(Escape::Short("\\r")),
        '\t' => Some(Escape::Short("\\t")),
        c if (c as u32) < 0x20 => Some(Escape::Unicode),
        _ => None,
    }
}

/// ECMAScript `Number.prototype.toString` for a finite float, plus the `.0` rule.
fn format_float(f: f64) -> String {
    let es = ecmascript_number(f);
    if es.contains(['.', 'e']) {
        es
    } else {
        es + ".0"
    }
}

fn ecmascript_number(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let (digits, exp) = shortest_digits(f.abs());
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

/// The fewest significant digits that read back as `f` (positive, finite), and the decimal
/// exponent of the first digit. Rust's `{:e}` finds them, but when two such digit strings are
/// equally close to `f` it takes the upper one; ECMAScript (and Python) take the even one.
fn shortest_digits(f: f64) -> (String, i32) {
    let (digits, exp) = split_scientific(&format!("{f:e}"));
    let k = digits.len();
    if digits.as_bytes()[k - 1] % 2 == 0 {
        return (digits, exp);
    }
    // A tie means the exact expansion continues with "5" and zeros after k digits; the even
    // neighbour is then the truncation (its last digit is one below the odd one Rust chose).
    // So a tie needs an exact expansion of at most 18 significant digits, which only floats
    // of small binary exponent have, and those have at most 59 digits: `TIE_PLACES` hold it.
    if !tie_possible(f) {
        return (digits, exp);
    }
    let (exact, exact_exp) = split_scientific(&format!("{f:.TIE_PLACES$e}"));
    let rest = &exact.as_bytes()[k.min(exact.len())..];
    let is_tie =
        exact_exp == exp && rest.first() == Some(&b'5') && rest[1..].iter().all(|d| *d == b'0');
    if is_tie {
        let lower = exact[..k].trim_end_matches('0');
        let candidate = format!("{}.{}e{exp}", &lower[..1], &lower[1..]);
        if !lower.is_empty() && candidate.parse::<f64>() == Ok(f) {
            return (lower.to_string(), exp);
        }
    }
    (digits, exp)
}

/// Places after the first digit that write exactly any float `tie_possible` lets through.
const TIE_PLACES: usize = 64;

/// Whether `f` (positive, finite) could be a tie between two shortest digit strings: false
/// when its exact decimal expansion has more than 18 significant digits. With `f = m * 2^e`
/// and `m` odd: for `e < 0` the expansion is `m * 5^-e` over a power of ten, an odd number
/// of at least `0.69 * -e` digits, so `e < -30` rules a tie out; for `e >= 0` it is the
/// integer `m * 2^e`, of at least `0.30 * e` digits, whose trailing zeros are at most the
/// factors of 5 in `m < 2^53` (22), so `e > 140` rules it out. The rest have at most
/// 16 + 21 digits (`e >= -30`) or 16 + 43 (`e <= 140`), within [`TIE_PLACES`] + 1.
/// Without this test every float with an odd last digit cost an exact 800-place expansion
/// (so a 1 MiB list of `1e-300` ran out of energy).
fn tie_possible(f: f64) -> bool {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if mantissa == 0 {
        return false;
    }
    let exponent = exponent + mantissa.trailing_zeros() as i32;
    (-30..=140).contains(&exponent)
}

/// `"1.2345e-7"` into `("12345", -7)`.
fn split_scientific(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    (digits, exp)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

type ParseResult<T> = Result<T, String>;

impl Parser<'_> {
    fn skip_ws(&mut self) -> ParseResult<()> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect_literal(&mut self, literal: &str, value: Value) -> ParseResult<Value> {
        if self.text[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(format!("unexpected character at byte {}", self.pos))
        }
    }

    fn value(&mut self) -> ParseResult<Value> {
        match self.peek() {
            None => Err("unexpected end of input".to_string()),
            Some(b'n') => self.expect_literal("null", Value::Null),
            Some(b't') => self.expect_literal("true", Value::Bool(true)),
            Some(b'f') => self.expect_literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => self.nested(Self::array),
            Some(b'{') => self.nested(Self::object),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(format!("unexpected character at byte {}", self.pos)),
        }
    }

    fn nested(&mut self, parse: fn(&mut Self) -> ParseResult<Value>) -> ParseResult<Value> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(format!("nesting deeper than {MAX_JSON_DEPTH} levels"));
        }
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn array(&mut self) -> ParseResult<Value> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws()?;
            items.push(self.value()?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(format!("expected ',' or ']' at byte {}", self.pos)),
            }
        }
    }

    fn object(&mut self) -> ParseResult<Value> {
        self.pos += 1; // '{'
        let mut members = Members::new();
        self.skip_ws()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws()?;
            if self.peek() != Some(b'"') {
                return Err(format!("expected a string key at byte {}", self.pos));
            }
            let key = self.string()?;
            if members.contains_key(&key) {
                return Err(format!("duplicate key {key:?}"));
            }
            self.skip_ws()?;
            if self.peek() != Some(b':') {
                return Err(format!("expected ':' at byte {}", self.pos));
            }
            self.pos += 1;
            self.skip_ws()?;
            let value = self.value()?;
            members.push_new(key, value);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.pos)),
            }
        }
    }

    fn string(&mut self) -> ParseResult<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                None => return Err("unterminated string".to_string()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => {
                    return Err(format!(
                        "unescaped control character in a string at byte {}",
                        self.pos
                    ))
                }
            }
        }
    }

    fn escape(&mut self) -> ParseResult<char> {
        let c = self.peek().ok_or("unterminated escape")?;
        self.pos += 1;
        Ok(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{08}',
            b'f' => '\u{0C}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                match high {
                    0xD800..=0xDBFF => {
                        if !self.text[self.pos..].starts_with("\\u") {
                            return Err("lone high surrogate in \\u escape".to_string());
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err("invalid low surrogate in \\u escape".to_string());
                        }
                        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(code).ok_or("invalid surrogate pair")?
                    }
                    0xDC00..=0xDFFF => return Err("lone low surrogate in \\u escape".to_string()),
                    _ => char::from_u32(high).ok_or("invalid \\u escape")?,
                }
            }
            _ => return Err(format!("invalid escape at byte {}", self.pos - 1)),
        })
    }

    fn hex4(&mut self) -> ParseResult<u32> {
        let hex = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or("truncated \\u escape")?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| "invalid \\u escape".to_string())?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("invalid \\u escape".to_string());
        }
        self.pos += 4;
        Ok(code)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> ParseResult<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_digits = self.digits();
        if int_digits == 0 {
            return Err(format!("expected a digit at byte {}", self.pos));
        }
        if int_digits > 1 && self.bytes[int_start] == b'0' {
            return Err(format!("leading zero in a number at byte {int_start}"));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            is_float = true;
            if self.digits() == 0 {
                return Err(format!("expected a digit after '.' at byte {}", self.pos));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            is_float = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(format!("expected an exponent digit at byte {}", self.pos));
            }
        }
        let literal = &self.text[start..self.pos];
        if is_float {
            let f: f64 = literal
                .parse()
                .map_err(|_| format!("invalid number {literal}"))?;
            if !f.is_finite() {
                return Err(format!("number {literal} is out of the float range"));
            }
            Ok(Value::Float(f))
        } else {
            literal
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("integer {literal} is outside the signed 64-bit range"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonicalize("v", text).unwrap()
    }

    fn err(text: &str) -> String {
        canonicalize("v", text).unwrap_err().to_string()
    }

    #[test]
    fn ordered_text_keeps_member_order_and_hashes_as_the_canonical() {
        let value = parse("v", r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":2}}"#).unwrap();
        assert_eq!(
            to_ordered(&value),
            r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":2}}"#
        );
        assert_eq!(
            to_canonical(&value),
            r#"{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}"#
        );
        let again = parse("v", &to_ordered(&value)).unwrap();
        assert_eq!(again, value);
        assert_eq!(data_hash(&again), data_hash(&value));
    }

    #[test]
    fn objects_sort_by_utf16_and_drop_whitespace() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [true, null] }"#),
            r#"{"a":[true,null],"b":1}"#
        );
        // U+1F600 (surrogates D83D..) sorts before U+FB01 in UTF-16, after it in UTF-8.
        assert_eq!(
            canon("{\"\u{fb01}\":1,\"\u{1f600}\":2}"),
            "{\"\u{1f600}\":2,\"\u{fb01}\":1}"
        );
    }

    #[test]
    fn integers_and_floats_stay_apart() {
        assert_eq!(canon("1"), "1");
        assert_eq!(canon("1.0"), "1.0");
        assert_eq!(canon("-0.0"), "0.0");
        assert_eq!(canon("1e2"), "100.0");
        assert_eq!(canon("9223372036854775807"), "9223372036854775807");
        assert_eq!(canon("-9223372036854775808"), "-9223372036854775808");
        assert!(err("9223372036854775808").contains("outside the signed 64-bit range"));
    }

    /// `shortest_digits` as it was before `tie_possible`: the exact expansion every time.
    fn shortest_digits_always_exact(f: f64) -> (String, i32) {
        let (digits, exp) = split_scientific(&format!("{f:e}"));
        let k = digits.len();
        if digits.as_bytes()[k - 1] % 2 == 0 {
            return (digits, exp);
        }
        let (exact, exact_exp) = split_scientific(&format!("{f:.800e}"));
        let rest = &exact.as_bytes()[k.min(exact.len())..];
        if exact_exp == exp && rest.first() == Some(&b'5') && rest[1..].iter().all(|d| *d == b'0') {
            let lower = exact[..k].trim_end_matches('0');
            let candidate = format!("{}.{}e{exp}", &lower[..1], &lower[1..]);
            if !lower.is_empty() && candidate.parse::<f64>() == Ok(f) {
                return (lower.to_string(), exp);
            }
        }
        (digits, exp)
    }

    #[test]
    fn shortest_digits_skip_the_exact_expansion_only_where_no_tie_can_be() {
        let mut floats = vec![0.1, 1e-300, 5e-324, 1e300, 2.5, 0.125];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let any = f64::from_bits(state >> 1); // positive: the sign bit cleared
            if any.is_finite() && any > 0.0 {
                floats.push(any);
            }
            // Around the edges of `tie_possible`: m * 2^e for small odd m and e near -30/140.
            let m = (state % 4096) | 1;
            let e = (state >> 20) % 200;
            floats.push(m as f64 * 2f64.powi(e as i32 - 45));
            // Quarters above 2^49 (17 significant digits, exact): where the ties are.
            let whole = (1u64 << 49) + (state >> 20) % (1u64 << 49);
            floats.push(whole as f64 + 0.25 + 0.5 * (state % 2) as f64);
        }
        let mut ties = 0;
        for f in floats {
            let digits = shortest_digits(f);
            assert_eq!(digits, shortest_digits_always_exact(f), "{f:e}");
            ties += usize::from(digits != split_scientific(&format!("{f:e}")));
        }
        assert!(
            ties > 100,
            "only {ties} ties: the test no longer reaches them"
        );
    }

    #[test]
    fn floats_follow_ecmascript() {
        assert_eq!(canon("0.1"), "0.1");
        assert_eq!(canon("1e21"), "1e+21");
        assert_eq!(canon("1e20"), "100000000000000000000.0");
        assert_eq!(canon("1e-7"), "1e-7");
        assert_eq!(canon("0.000001"), "0.000001");
        assert_eq!(canon("123.456e30"), "1.23456e+32");
        assert_eq!(canon("-1.5"), "-1.5");
        assert_eq!(canon("5e-324"), "5e-324");
        assert_eq!(canon("1.7976931348623157e308"), "1.7976931348623157e+308");
        // A tie between two shortest digit strings goes to the even one, as in ECMAScript.
        assert_eq!(canon("841399224796172.25"), "841399224796172.2");
        assert_eq!(canon("0.3"), "0.3");
        assert!(err("1e400").contains("out of the float range"));
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        assert_eq!(canon(r#""a\u0041\/\u00e9""#), "\"aA/\u{e9}\"");
        assert_eq!(canon(r#""\u001f\n\"\\""#), r#""\u001f\n\"\\""#);
        assert_eq!(canon(r#""\ud83d\ude00""#), "\"\u{1f600}\"");
        assert!(err(r#""\ud83d""#).contains("lone high surrogate"));
        assert!(err(r#""\ude00""#).contains("lone low surrogate"));
        assert!(err("\"a\nb\"").contains("unescaped control character"));
    }

    fn object_of(keys: &[String]) -> String {
        let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":0")).collect();
        format!("{{{}}}", members.join(","))
    }

    #[test]
    fn duplicate_keys_are_refused_in_objects_of_any_size() {
        for size in [2usize, 7, 8, 9, 10, 1000] {
            let keys: Vec<String> = (0..size).map(|i| format!("k{i}")).collect();
            assert!(parse("v", &object_of(&keys)).is_ok(), "{size} unique keys");
            for (first, second) in [(0, size - 1), (size - 2, size - 1), (0, 1)] {
                let mut with_dup = keys.clone();
                with_dup[second] = keys[first].clone();
                let msg = err(&object_of(&with_dup));
                assert!(
                    msg.contains(&format!("duplicate key \"{}\"", keys[first])),
                    "{size} keys, {first} and {second}: {msg}"
                );
            }
        }
        // Nested objects keep their own keys: the same key in two members' objects is fine.
        let nested = format!("{{\"a\":{},\"b\":{}}}", object_of(&["x".into(); 1]), {
            object_of(&(0..20).map(|i| format!("x{i}")).collect::<Vec<_>>())
        });
        assert!(parse("v", &nested).is_ok());
    }

    #[test]
    fn malformed_json_is_named() {
        assert!(err("").contains("unexpected end of input"));
        assert!(err("{\"a\":1,\"a\":2}").contains("duplicate key \"a\""));
        assert!(err("NaN").contains("unexpected character"));
        assert!(err("[1,]").contains("unexpected character"));
        assert!(err("01").contains("leading zero"));
        assert!(err("1 2").contains("unexpected text after the value"));
        assert!(err("{'a':1}").contains("expected a string key"));
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert!(err(&deep).contains("nesting deeper than 128"));
        let ok_deep = "[".repeat(128) + &"]".repeat(128);
        assert!(canonicalize("v", &ok_deep).is_ok());
    }

    #[test]
    fn objects_are_required_where_asked() {
        assert_eq!(canonicalize_object("properties", "{}").unwrap(), "{}");
        assert_eq!(
            canonicalize_object("properties", "[1]")
                .unwrap_err()
                .to_string(),
            "invalid_argument: properties must be a JSON object, not array"
        );
    }

    #[test]
    fn hash_is_sha256_of_canonical_text() {
        let v = parse("v", r#"{"b":1,"a":2}"#).unwrap();
        // sha256 of `{"a":2,"b":1}`
        assert_eq!(
            data_hash(&v),
            "d3626ac30a87e6f7a6428233b3c68299976865fa5508e4267c5415c76af7a772"
        );
    }
}
