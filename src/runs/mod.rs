//! Building an experiment-run record from what the user gives `run log`:
//! key=value flags, params and metrics files (JSON or YAML, nested maps
//! flattened with `/`), lock-file digests hashed by streaming, and a
//! generated name when none is given. Artifacts are `crate::artifacts`'.

use crate::diagnostic::Diagnostic;
use crate::load;
use crate::registry::{self, MetricPoint};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

mod stream;

pub use stream::{Spills, read_metrics_file};

/// A problem with the input of `run log`.
#[derive(Debug, thiserror::Error)]
pub enum RunInputError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    File(Diagnostic),
    #[error("{path}: {}", plain_io(source))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// An I/O error in words: fs-err's message names the call that failed
/// ("failed to query resolved metadata"), which says less than the kind.
fn plain_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        // The OS's own words, without fs-err's description of the call.
        _ => {
            std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string)
        }
    }
}

/// Parses `K=V` (the key is required, the value may be empty).
pub fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        // A key is shown in tables and reports: a control character in it
        // (an escape sequence, a line break) would rewrite the reader's screen.
        Some((k, _)) if k.chars().any(char::is_control) => Err(format!(
            "key {:?} contains a control character; keys are shown to people",
            k.trim()
        )),
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// Parses a metric value: a finite number.
pub fn metric_value(key: &str, text: &str) -> Result<f64, RunInputError> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(RunInputError::Invalid(format!(
            "metric `{key}` is {text}: metrics must be finite numbers"
        ))),
        Err(_) => Err(RunInputError::Invalid(format!(
            "metric `{key}` is {text:?}: metrics must be numbers"
        ))),
    }
}

/// Reads a params or metrics file (JSON or YAML) into a JSON value, with
/// errors at `file:line:column`.
pub fn read_data_file(path: &Path) -> Result<serde_json::Value, RunInputError> {
    let shown = path.display().to_string();
    let io = |source| RunInputError::Io {
        path: shown.clone(),
        source,
    };
    let meta = fs_err::metadata(path).map_err(io)?;
    if meta.len() > registry::MAX_FILE_BYTES {
        return Err(RunInputError::File(load::yaml_diagnostic(
            &shown,
            "",
            registry::too_large(meta.len()),
        )));
    }
    let bytes = fs_err::read(path).map_err(io)?;
    let refused = |e| RunInputError::File(load::yaml_diagnostic(&shown, "", e));
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let text = registry::decode(&bytes).map_err(refused)?;
        registry::count_json_nodes(text).map_err(refused)?;
        let mut reader = serde_json::Deserializer::from_str(text);
        return serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut reader)
            .and_then(|value| reader.end().map(|()| value))
            .map_err(|e| json_error(&shown, &e));
    }
    let text = registry::text_of(&bytes).map_err(refused)?;
    registry::parse_value(text)
        .map_err(|e| RunInputError::File(load::yaml_diagnostic(&shown, text, e)))
}

/// A JSON file's syntax error (or duplicate key) at its line and column.
fn json_error(shown: &str, e: &serde_json::Error) -> RunInputError {
    RunInputError::File(stream::diagnostic(shown, e))
}

/// One line of JSON (a batch line) as a value, with the checks a JSON file
/// gets: a bounded number of nodes, no key twice. The error says where in
/// the line (`column N: …`).
pub fn parse_json_line(text: &str) -> Result<serde_json::Value, String> {
    registry::count_json_nodes(text).map_err(|e| match e {
        registry::YamlError::At {
            column, message, ..
        } => format!("column {column}: {message}"),
        other => format!("{other:?}"),
    })?;
    let mut reader = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut reader)
        .and_then(|value| reader.end().map(|()| value))
        .map_err(|e| {
            let text = e.to_string();
            let message = text
                .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
                .unwrap_or(&text);
            if message.starts_with(DUPLICATE_KEY) {
                format!("column {}: {message}", e.column())
            } else {
                format!("column {}: invalid JSON: {message}", e.column())
            }
        })
}

const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON value whose objects have no key twice. serde_json keeps the last of
/// two equal keys; YAML files refuse them, and so do JSON files, since a value
/// would be silently lost. Depth stays bounded by serde_json's recursion limit.
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueKeys)? {
            out.push(item);
        }
        Ok(out.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "{DUPLICATE_KEY} {}",
                    quoted(&key)
                )));
            }
            let value = map.next_value_seed(UniqueKeys)?;
            out.insert(key, value);
        }
        Ok(out.into())
    }
}

/// Flattens nested maps into `a/b/c` keys, calling `leaf` for every non-map value.
///
/// Two spellings that flatten to the same key (`{"val/loss": 1}` and
/// `{"val": {"loss": 2}}`) are an error naming both: keeping either value
/// would silently drop the other.
fn flatten(
    value: &serde_json::Value,
    prefix: &str,
    leaf: &mut dyn FnMut(String, &serde_json::Value) -> Result<(), RunInputError>,
) -> Result<(), RunInputError> {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut error = None;
    walk(value, prefix, |key, _, v| {
        if seen.contains(&key) {
            error = Some(key);
            return Ok(false);
        }
        leaf(key.clone(), v)?;
        seen.insert(key);
        Ok(true)
    })?;
    let Some(key) = error else { return Ok(()) };
    // Rare: walk again to say how the file spelled the key both times.
    let mut spellings = Vec::new();
    walk(value, prefix, |k, keys, _| {
        if k == key {
            spellings.push(spelled(keys));
        }
        Ok(spellings.len() < 2)
    })?;
    Err(RunInputError::Invalid(format!(
        "{} are both the key {}: nested maps are flattened with `/`, so one value would be \
         lost; rename one of them",
        spellings.join(" and "),
        quoted(&key)
    )))
}

/// Visits the leaves of `value` in key order with their flattened key and
/// the keys that lead to them, while `visit` returns true.
fn walk<'a, F>(
    value: &'a serde_json::Value,
    prefix: &str,
    mut visit: F,
) -> Result<(), RunInputError>
where
    F: FnMut(String, &[&'a str], &'a serde_json::Value) -> Result<bool, RunInputError>,
{
    // Iterative, so a deeply nested file cannot exhaust the stack. `depth`
    // says how much of `path` (the keys leading here) is this entry's.
    let mut pending = vec![(prefix.to_owned(), 0, None, value)];
    let mut path: Vec<&'a str> = Vec::new();
    while let Some((key, depth, name, value)) = pending.pop() {
        path.truncate(depth);
        path.extend(name);
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map.iter().rev() {
                    let key = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}/{k}")
                    };
                    pending.push((key, path.len(), Some(k.as_str()), v));
                }
            }
            _ if key.is_empty() => {
                return Err(RunInputError::Invalid(
                    "expected a mapping of names to values at the top of the file".into(),
                ));
            }
            _ => {
                if !visit(key, &path, value)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// A key as JSON text: quoted, with control characters escaped.
fn quoted(key: &str) -> String {
    serde_json::Value::String(key.to_owned()).to_string()
}

/// How a leaf was written in the file: `{"val": {"loss": …}}`.
fn spelled(keys: &[&str]) -> String {
    let mut out = String::new();
    for key in keys {
        out.push_str(&format!("{{{}: ", quoted(key)));
    }
    out.push('…');
    out.push_str(&"}".repeat(keys.len()));
    out
}

/// Params from a file: every leaf becomes a string (`0.001`, `true`, `[1,2]`).
pub fn params_from(
    value: &serde_json::Value,
    file: &str,
) -> Result<BTreeMap<String, String>, RunInputError> {
    let mut out = BTreeMap::new();
    flatten(value, "", &mut |key, v| {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(key, text);
        Ok(())
    })
    .map_err(|e| in_file(e, file))?;
    Ok(out)
}

/// Final metric values and, for metrics given as lists, their histories.
pub type Metrics = (BTreeMap<String, f64>, BTreeMap<String, Vec<MetricPoint>>);

/// Metrics from a file. A leaf is a number (the final value), a list of
/// numbers (a history by step, the last is final) or a list of
/// `{step, value, timestamp?}` (the value at the highest step is final).
pub fn metrics_from(value: &serde_json::Value, file: &str) -> Result<Metrics, RunInputError> {
    let mut finals = BTreeMap::new();
    let mut history = BTreeMap::new();
    flatten(value, "", &mut |key, v| {
        match v {
            serde_json::Value::Number(_) => {
                let value = finite(v).ok_or_else(|| bad_metric(&key, "is not finite"))?;
                finals.insert(key.clone(), value);
            }
            serde_json::Value::Array(items) if !items.is_empty() => {
                let mut points = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    points.push(metric_point(&key, i as u64, item)?);
                }
                points.sort_by_key(|p| p.step);
                if let Some(twice) = points.windows(2).find(|w| w[0].step == w[1].step) {
                    return Err(bad_metric(
                        &key,
                        &format!("has step {} twice; each step has one value", twice[0].step),
                    ));
                }
                let last = points.last().map(|p| p.value).unwrap_or_default();
                finals.insert(key.clone(), last);
                history.insert(key, points);
            }
            serde_json::Value::String(s) => {
                return Err(bad_metric(&key, &format!("is the text {s:?}")));
            }
            other => return Err(bad_metric(&key, &format!("is {other}"))),
        }
        Ok(())
    })
    .map_err(|e| in_file(e, file))?;
    Ok((finals, history))
}

fn finite(v: &serde_json::Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

/// What is wrong with metric `key`, and what a metric may be.
fn bad_metric(key: &str, what: &str) -> RunInputError {
    RunInputError::Invalid(format!(
        "metric `{key}` {what}: a metric is a finite number, a list of numbers, or a list of {{step, value}}"
    ))
}

/// The entry at `index` of metric `key`'s list: a number (at step `index`)
/// or `{step, value, timestamp?}`.
fn metric_point(
    key: &str,
    index: u64,
    item: &serde_json::Value,
) -> Result<MetricPoint, RunInputError> {
    Ok(match item {
        serde_json::Value::Number(_) => MetricPoint {
            step: index,
            value: finite(item).ok_or_else(|| bad_metric(key, "has a value that is not finite"))?,
            timestamp: None,
        },
        serde_json::Value::Object(map) => MetricPoint {
            step: map
                .get("step")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| bad_metric(key, "has an entry without a whole `step`"))?,
            value: map
                .get("value")
                .and_then(finite)
                .ok_or_else(|| bad_metric(key, "has an entry without a finite `value`"))?,
            timestamp: map
                .get("timestamp")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        },
        _ => return Err(bad_metric(key, "has an entry that is not a number")),
    })
}

fn in_file(error: RunInputError, file: &str) -> RunInputError {
    match error {
        RunInputError::Invalid(message) => RunInputError::Invalid(format!("{file}: {message}")),
        other => other,
    }
}

/// Whether an artifact argument is a URI (kept as given) rather than a local
/// path (hashed): a scheme of two or more letters, a colon and a slash
/// (`s3://…`, `gs://…`, `runs:/…`). `C:\…` stays a path.
pub fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    scheme.len() >= 2
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        && rest.starts_with('/')
}

/// `sha256:<hex>` and size of a file, read in fixed-size chunks so a 2 GB
/// artifact costs a few kilobytes of memory.
pub fn hash_file(path: &Path) -> Result<(String, u64), RunInputError> {
    let shown = path.display().to_string();
    let io = |source| RunInputError::Io {
        path: shown.clone(),
        source,
    };
    let meta = fs_err::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(RunInputError::Invalid(format!(
            "artifact {shown} is a folder; pass a file (an archive of it) or a URI"
        )));
    }
    let mut file = fs_err::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((format!("sha256:{}", hex::encode(hasher.finalize())), size))
}

/// A run name that sorts by time and is unique: `20261126-181005-3fa9c2`.
/// `taken` is asked about each candidate.
pub fn generate_name(now: jiff::Timestamp, taken: &dyn Fn(&str) -> bool) -> String {
    let stamp = now.strftime("%Y%m%d-%H%M%S").to_string();
    let mut seed = crate::random::u64();
    loop {
        let name = format!("{stamp}-{:06x}", seed & 0xff_ffff);
        if !taken(&name) {
            return name;
        }
        seed = seed.rotate_left(24) ^ crate::random::u64();
    }
}

/// Lock files whose digests describe the environment of a run.
const LOCK_FILES: [&str; 12] = [
    "Cargo.lock",
    "Pipfile.lock",
    "conda-lock.yml",
    "environment.yml",
    "package-lock.json",
    "pdm.lock",
    "pixi.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "requirements.txt",
    "uv.lock",
    "yarn.lock",
];

/// Digests of the lock files in `dirs` (keyed by `label(dir)/name`).
pub fn lock_file_digests(
    dirs: &[(String, &Path)],
) -> Result<BTreeMap<String, String>, RunInputError> {
    let mut out = BTreeMap::new();
    for (label, dir) in dirs {
        for name in LOCK_FILES {
            let path = dir.join(name);
            if path.is_file() {
                let key = if label.is_empty() {
                    name.to_owned()
                } else {
                    format!("{label}/{name}")
                };
                out.insert(key, hash_file(&path)?.0);
            }
        }
    }
    Ok(out)
}

/// The Python of the active virtualenv (from its `pyvenv.cfg`), if any.
pub fn interpreter() -> Option<String> {
    let venv = std::env::var_os("VIRTUAL_ENV")?;
    let cfg = std::fs::read_to_string(Path::new(&venv).join("pyvenv.cfg")).ok()?;
    cfg.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        matches!(key.trim(), "version" | "version_info").then(|| format!("python {}", value.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_nested_params_and_metrics() {
        let params = params_from(
            &json!({"opt": {"name": "adam", "lr": 0.001}, "layers": [1, 2]}),
            "p.yaml",
        )
        .unwrap();
        assert_eq!(params["opt/name"], "adam");
        assert_eq!(params["opt/lr"], "0.001");
        assert_eq!(params["layers"], "[1,2]");
        let (finals, history) = metrics_from(
            &json!({"val": {"loss": 0.25}, "acc": [0.5, 0.7, 0.9]}),
            "m.json",
        )
        .unwrap();
        assert_eq!(finals["val/loss"], 0.25);
        assert_eq!(finals["acc"], 0.9);
        assert_eq!(history["acc"].len(), 3);
        assert_eq!(history["acc"][2].step, 2);
    }

    #[test]
    fn metrics_must_be_finite_numbers() {
        assert!(metric_value("a", "nan").is_err());
        assert!(metric_value("a", "inf").is_err());
        assert!(metric_value("a", "x").is_err());
        assert_eq!(metric_value("a", " 0.5").unwrap(), 0.5);
        let err = metrics_from(&json!({"a": {"b": "high"}}), "m.yaml").unwrap_err();
        assert!(err.to_string().contains("m.yaml: metric `a/b`"), "{err}");
        assert!(metrics_from(&json!([1, 2]), "m.yaml").is_err());
    }

    #[test]
    fn keys_that_collide_after_flattening_are_refused() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a": 0, "val/loss": 1, "val": {"loss": 2}}"#).unwrap();
        let error = params_from(&value, "p.json").unwrap_err().to_string();
        assert_eq!(
            error,
            r#"p.json: {"val": {"loss": …}} and {"val/loss": …} are both the key "val/loss": nested maps are flattened with `/`, so one value would be lost; rename one of them"#
        );
        let value: serde_json::Value =
            serde_json::from_str(r#"{"": {"a": 1}, "a": 2, "b": {"c/d": 3, "c": {"d": 4}}}"#)
                .unwrap();
        let error = metrics_from(&value, "m.json").unwrap_err().to_string();
        assert!(error.contains(r#"{"": {"a": …}} and {"a": …}"#), "{error}");
        let value: serde_json::Value =
            serde_json::from_str(r#"{"a": {"b": 1, "c": {"d": 2}}, "e/f": 3, "a/c/e": 4}"#)
                .unwrap();
        assert_eq!(params_from(&value, "p.json").unwrap().len(), 4);
    }

    #[test]
    fn tells_uris_from_paths() {
        for uri in [
            "s3://b/k",
            "gs://b/k",
            "runs:/abc/model",
            "file:///tmp/x",
            "hf://org/m",
        ] {
            assert!(is_uri(uri), "{uri}");
        }
        for path in ["model.pkl", "C:\\x\\y", "./a:b", "dir/file", "a:b"] {
            assert!(!is_uri(path), "{path}");
        }
    }

    #[test]
    fn hashes_by_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"abc").unwrap();
        let (digest, size) = hash_file(&path).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn generated_names_sort_by_time_and_avoid_taken_ones() {
        let t1: jiff::Timestamp = "2026-11-26T18:10:05Z".parse().unwrap();
        let t2: jiff::Timestamp = "2026-11-26T18:10:06Z".parse().unwrap();
        let a = generate_name(t1, &|_| false);
        let b = generate_name(t2, &|_| false);
        assert!(a < b);
        assert!(a.starts_with("20261126-181005-"));
        crate::names::check(crate::names::NameKind::Run, &a).unwrap();
        let first = generate_name(t1, &|_| false);
        let other = generate_name(t1, &|n| n == first);
        assert_ne!(first, other);
    }
}
