//! The `--where` conformance cases (tests/data/where-cases.json), run by the
//! CLI's query language. The web UI's JavaScript runs the same file
//! (tests/ui/run.mjs), so the runs table filters as `run list --where` does.

use regent::query::{FieldValue, Query};
use serde_json::Value;

fn field_value(json: &Value) -> Option<FieldValue> {
    match json {
        Value::Number(n) => n.as_f64().map(FieldValue::Number),
        Value::String(s) => Some(FieldValue::Text(s.clone())),
        Value::Bool(b) => Some(FieldValue::Bool(*b)),
        _ => None,
    }
}

#[test]
fn the_cli_query_passes_every_conformance_case() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/where-cases.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let shared = &file["record"];
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() > 50, "the file has its cases");
    let mut failures = Vec::new();
    for case in cases {
        let source = case["where"].as_str().unwrap();
        let record = case.get("record").unwrap_or(shared);
        let lookup = |path: &str| record.get(path).and_then(field_value);
        let outcome = match (
            Query::parse(source),
            case.get("expect"),
            case.get("error_column"),
        ) {
            (Ok(query), Some(expect), None) => {
                let got = query.matches(&lookup);
                (Some(got) != expect.as_bool()).then(|| format!("matched: {got}"))
            }
            (Err(e), None, Some(column)) => {
                (Some(e.column as u64) != column.as_u64()).then(|| format!("error: {e}"))
            }
            (Ok(_), None, Some(_)) => Some("parsed, expected an error".to_owned()),
            (Err(e), Some(_), None) => Some(format!("error: {e}")),
            _ => Some("a case needs `expect` or `error_column`".to_owned()),
        };
        if let Some(got) = outcome {
            failures.push(format!("{source:?}: {got}, case {case}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
