//! Request fields: what a caller sent (SOAP child elements, query parameters or a JSON
//! object), checked against the service's declared fields and turned into typed values.
//!
//! A request is refused as a whole when any field is missing, unknown, too long or of the
//! wrong type, and the refusal names the field; nothing reaches a back end unchecked.

use indexmap::IndexMap;

use crate::AdapterError;
use crate::mapping::{Field, FieldType};

/// A checked field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A decimal number, as its canonical text (`-12.50`).
    Decimal(String),
    /// `true` / `false`.
    Boolean(bool),
    /// A calendar date, `YYYY-MM-DD`.
    Date(String),
}

impl Value {
    /// The value as text (URL templates, SOAP elements).
    pub fn text(&self) -> String {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) => s.clone(),
            Value::Integer(i) => i.to_string(),
            Value::Boolean(b) => b.to_string(),
        }
    }

    /// The value as JSON (request bodies): numbers and booleans keep their type.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Value::Integer(i) => (*i).into(),
            Value::Boolean(b) => (*b).into(),
            Value::Decimal(d) => d.parse::<serde_json::Number>().map_or_else(|_| d.clone().into(), Into::into),
            Value::Text(s) | Value::Date(s) => s.clone().into(),
        }
    }
}

/// The checked fields of one request, by name; optional fields not sent are absent.
pub type Values = IndexMap<String, Value>;

/// Checks raw `(name, text)` pairs against `fields`.
pub fn check<'a>(
    fields: &[Field],
    raw: impl IntoIterator<Item = (&'a str, std::borrow::Cow<'a, str>)>,
) -> Result<Values, AdapterError> {
    let mut values = Values::with_capacity(fields.len());
    for (name, text) in raw {
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            let expected: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let expected = if expected.is_empty() { "none".to_owned() } else { expected.join(", ") };
            return Err(AdapterError::field(name, format!("is not a field of this service (fields: {expected})")));
        };
        if values.contains_key(name) {
            return Err(AdapterError::field(name, "is given twice"));
        }
        values.insert(field.name.clone(), typed(field, &text)?);
    }
    for f in fields {
        if f.required && !values.contains_key(&f.name) {
            return Err(AdapterError::field(&f.name, "is required"));
        }
    }
    Ok(values)
}

/// Checks a JSON object's members: strings, numbers and booleans are read as their text.
pub fn check_json(
    fields: &[Field],
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<Values, AdapterError> {
    let mut raw = Vec::with_capacity(object.len());
    for (name, value) in object {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(AdapterError::field(name, "must be a string, a number or a boolean")),
        };
        raw.push((name.as_str(), std::borrow::Cow::Owned(text)));
    }
    check(fields, raw)
}

/// One field's value, checked against its type and length.
pub fn typed(field: &Field, text: &str) -> Result<Value, AdapterError> {
    let text = text.trim();
    let bad = |what: &str| AdapterError::field(&field.name, format!("\"{}\" is not {what}", shorten(text)));
    if text.chars().count() > field.max_length {
        return Err(AdapterError::field(&field.name, format!("is longer than {} characters", field.max_length)));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(AdapterError::field(&field.name, "contains control characters"));
    }
    Ok(match field.kind {
        FieldType::String => Value::Text(text.to_owned()),
        FieldType::Integer => Value::Integer(text.parse().map_err(|_| bad("a whole number"))?),
        FieldType::Decimal => Value::Decimal(decimal(text).ok_or_else(|| bad("a decimal number like 12.50"))?),
        FieldType::Boolean => Value::Boolean(match text {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("true or false")),
        }),
        FieldType::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(text, &format).map_err(|_| bad("a date YYYY-MM-DD"))?;
            Value::Date(text.to_owned())
        }
    })
}

/// `-?digits(.digits)?`, without a leading `+` or exponent (which a back end may read
/// differently).
fn decimal(text: &str) -> Option<String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = !whole.is_empty()
        && all_digits(whole)
        && all_digits(fraction)
        && !(digits.contains('.') && fraction.is_empty());
    ok.then(|| text.to_owned())
}

/// A value quoted in an error, cut so a long input does not flood the message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use proptest::prelude::*;

    fn field(name: &str, kind: FieldType, required: bool) -> Field {
        Field { name: name.into(), kind, required, max_length: 20 }
    }

    fn fields() -> Vec<Field> {
        vec![
            field("fin", FieldType::String, true),
            field("year", FieldType::Integer, false),
            field("amount", FieldType::Decimal, false),
            field("active", FieldType::Boolean, false),
            field("from", FieldType::Date, false),
        ]
    }

    fn check_pairs(pairs: &[(&'static str, &'static str)]) -> Result<Values, AdapterError> {
        check(&fields(), pairs.iter().map(|(n, v)| (*n, Cow::Borrowed(*v))))
    }

    #[test]
    fn every_refusal_names_the_field() {
        let cases = [
            (vec![], "field 'fin': is required"),
            (vec![("fin", "X"), ("year", "20x5")], "field 'year': \"20x5\" is not a whole number"),
            (vec![("fin", "X"), ("amount", "1e5")], "field 'amount'"),
            (vec![("fin", "X"), ("amount", "1.")], "field 'amount'"),
            (vec![("fin", "X"), ("active", "yes")], "field 'active': \"yes\" is not true or false"),
            (vec![("fin", "X"), ("from", "2025-02-30")], "field 'from': \"2025-02-30\" is not a date"),
            (
                vec![("fin", "X"), ("colour", "red")],
                "field 'colour': is not a field of this service (fields: fin, year",
            ),
            (vec![("fin", "X"), ("fin", "Y")], "field 'fin': is given twice"),
            (vec![("fin", "0123456789012345678901")], "field 'fin': is longer than 20 characters"),
            (vec![("fin", "a\u{0}b")], "control characters"),
        ];
        for (pairs, want) in cases {
            let got = check_pairs(&pairs).unwrap_err().to_string();
            assert!(got.contains(want), "{pairs:?}: wanted {want:?}, got {got:?}");
        }
    }

    #[test]
    fn json_members_keep_their_meaning() {
        let object = serde_json::json!({"fin": "5ZX7K2P", "year": 2025, "amount": 12.5, "active": true, "from": null});
        let values = check_json(&fields(), object.as_object().unwrap()).unwrap();
        assert_eq!(values["year"], Value::Integer(2025));
        assert_eq!(values["amount"].json(), serde_json::json!(12.5));
        assert!(!values.contains_key("from"));
        let nested = serde_json::json!({"fin": {"x": 1}});
        assert!(check_json(&fields(), nested.as_object().unwrap()).unwrap_err().to_string().contains("field 'fin'"));
    }

    proptest! {
        /// Whatever a caller sends, checking either accepts it or names a field — it never panics.
        #[test]
        fn any_input_is_accepted_or_refused_by_name(name in "[a-z]{1,8}", text in "\\PC{0,30}") {
            match check(&fields(), [("fin", Cow::Borrowed("X")), (name.as_str(), Cow::Borrowed(text.as_str()))]) {
                Ok(values) => prop_assert!(values.contains_key("fin")),
                Err(AdapterError::Field { field, .. }) => prop_assert!(field == name || field == "fin"),
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }

        /// A value of the declared type comes back as the same text, for every type.
        #[test]
        fn well_typed_values_round_trip(i in any::<i64>(), whole in 0u32..1_000_000, cents in 0u32..100,
                                        b in any::<bool>(), y in 1900i32..2100, m in 1u8..13, d in 1u8..29) {
            let dec = format!("{whole}.{cents:02}");
            let date = format!("{y:04}-{m:02}-{d:02}");
            let cases = [(FieldType::Integer, i.to_string()), (FieldType::Decimal, dec), (FieldType::Boolean, b.to_string()),
                         (FieldType::Date, date)];
            for (kind, text) in cases {
                let v = typed(&field("f", kind, true), &text).unwrap();
                prop_assert_eq!(v.text(), text);
            }
        }

        /// Integers keep their JSON type; text never turns into a number.
        #[test]
        fn json_values_keep_types(i in any::<i64>(), s in "[0-9]{1,5}") {
            prop_assert_eq!(typed(&field("f", FieldType::Integer, true), &i.to_string()).unwrap().json(), serde_json::json!(i));
            prop_assert_eq!(typed(&field("f", FieldType::String, true), &s).unwrap().json(), serde_json::json!(s));
        }
    }
}
