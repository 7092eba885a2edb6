//! The version stamped into every JSON report (`"schema_version": N`), so scripts reading
//! them can tell a changed layout from a bug. Bump it when a field changes meaning or goes.

/// The layout version of the JSON reports.
pub const SCHEMA_VERSION: u32 = 1;

/// Adds `schema_version` to a report object (other values are left alone).
pub fn stamp(v: &mut serde_json::Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
}

/// [`stamp`] on a serialisable report, pretty-printed with a final newline.
pub fn to_json<T: serde::Serialize + ?Sized>(report: &T) -> String {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    stamp(&mut v);
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// [`stamp`] on JSON text a renderer produced; text that is not a JSON object is returned
/// unchanged.
pub fn stamp_text(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) if v.is_object() => {
            stamp(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_objects_only() {
        let t = stamp_text("{\"a\": 1}");
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["a"], 1);
        assert_eq!(stamp_text("[1]"), "[1]");
        assert!(to_json(&serde_json::json!({"x": []})).contains("\"schema_version\": 1"));
    }
}
