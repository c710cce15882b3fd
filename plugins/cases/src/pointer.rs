//! JSON Pointer expectations: `{"/card/box": 2, "/note": {"$exists": false}}`.

use serde_json::{Map, Value};

/// JSON equality where numbers compare by value, so an expected `1` matches `1.0`
/// (JavaScript and Python write numbers differently).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Check every pointer of `expected` against `document`; one message per miss.
pub(crate) fn check_pointers(
    document: &Value,
    expected: &Map<String, Value>,
    what: &str,
) -> Vec<String> {
    let mut misses = Vec::new();
    for (pointer, want) in expected {
        let found = document.pointer(pointer);
        let special = want
            .as_object()
            .filter(|o| !o.is_empty() && o.keys().all(|k| k == "$exists" || k == "$type"));
        if let Some(special) = special {
            if let Some(exists) = special.get("$exists").and_then(Value::as_bool)
                && found.is_some() != exists
            {
                misses.push(match found {
                    Some(v) => format!("{what} `{pointer}` should not exist, found {}", short(v)),
                    None => format!("{what} `{pointer}` is missing"),
                });
            }
            if let Some(kind) = special.get("$type").and_then(Value::as_str) {
                match found {
                    Some(v) if type_name(v) == kind => {}
                    Some(v) => misses.push(format!(
                        "{what} `{pointer}` is a {}, not a {kind}",
                        type_name(v)
                    )),
                    None => {
                        misses.push(format!("{what} `{pointer}` is missing (expected a {kind})"))
                    }
                }
            }
            continue;
        }
        match found {
            Some(v) if json_eq(v, want) => {}
            Some(v) => misses.push(format!(
                "{what} `{pointer}` is {}, expected {}",
                short(v),
                short(want)
            )),
            None => misses.push(format!(
                "{what} `{pointer}` is missing (expected {})",
                short(want)
            )),
        }
    }
    misses
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2.5]}), &json!({"a": [1.0, 2.5]})));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }

    #[test]
    fn pointers_values_existence_and_types() {
        let doc = json!({"card": {"box": 2, "id": "kp-1"}, "list": [10, 20], "n": null});
        let ok = map(json!({
            "/card/box": 2, "/list/1": 20, "/n": null, "": doc.clone(),
            "/gone": {"$exists": false}, "/card": {"$exists": true, "$type": "object"}
        }));
        assert_eq!(check_pointers(&doc, &ok, "content"), Vec::<String>::new());
        let bad = map(
            json!({"/card/box": 3, "/missing": 1, "/list": {"$type": "string"}, "/n": {"$exists": false}}),
        );
        let misses = check_pointers(&doc, &bad, "content");
        assert_eq!(misses.len(), 4, "{misses:?}");
        assert!(
            misses
                .iter()
                .any(|m| m.contains("`/card/box` is 2, expected 3"))
        );
    }
}
