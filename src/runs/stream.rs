//! Reading a JSON metrics file as a stream, so that a metric logged at
//! every one of 1,000,000 steps is read in bounded memory.
//!
//! A file past 16 MiB is never held whole (a smaller one is, so serde_json
//! places errors exactly as in other files): serde_json reads it through a
//! [`serde::de::DeserializeSeed`] that builds the same JSON value
//! [`super::read_data_file`] would (no key twice), except for long lists. A
//! list longer than [`series::MAX_POINTS`] is written, point by point, to a
//! gzip CSV file as it arrives (the full series, for the artifact store),
//! and only its downsampled points stay in the value (a second pass over
//! that file). What stays is bounded by [`registry::MAX_NODES`], like any
//! registry file. The value then goes through [`super::metrics_from`], so
//! flattening, its collision errors and the metric checks are the same.
//!
//! YAML metrics files are read whole, with the limits of every registry
//! file; a long series is written as JSON.

use super::{Metrics, RunInputError, bad_metric, in_file, metric_point};
use crate::diagnostic::Diagnostic;
use crate::registry::{self, MetricPoint};
use crate::series::{self, SeriesFile, SeriesWriter};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// The full series of the metrics too long to keep, by flattened key.
pub type Spills = BTreeMap<String, SeriesFile>;

/// Metrics from a file (JSON or YAML), with the full series of every
/// history longer than [`series::MAX_POINTS`] (JSON only; those histories
/// are downsampled).
pub fn read_metrics_file(path: &Path) -> Result<(Metrics, Spills), RunInputError> {
    let shown = path.display().to_string();
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let value = super::read_data_file(path)?;
        return Ok((super::metrics_from(&value, &shown)?, Spills::new()));
    }
    let io = |source| RunInputError::Io {
        path: shown.clone(),
        source,
    };
    let mut state = State {
        nodes: 0,
        spills: Spills::new(),
        failure: None,
    };
    // A file the size of any registry file is read whole (serde_json then
    // places errors exactly as for other files); a larger one as a stream.
    let size = fs_err::metadata(path).map_err(io)?.len();
    let value = if size <= registry::MAX_FILE_BYTES {
        let bytes = fs_err::read(path).map_err(io)?;
        // Checks UTF-8 (saying where it is not) and strips a byte-order mark.
        let text = registry::decode(&bytes)
            .map_err(|e| RunInputError::File(crate::load::yaml_diagnostic(&shown, "", e)))?;
        read_value(&mut serde_json::Deserializer::from_str(text), &mut state)
    } else {
        let mut reader = std::io::BufReader::new(fs_err::File::open(path).map_err(io)?);
        // A byte-order mark, as `registry::decode` allows.
        if reader.fill_buf().map_err(io)?.starts_with(b"\xef\xbb\xbf") {
            reader.consume(3);
        }
        read_value(
            &mut serde_json::Deserializer::from_reader(reader),
            &mut state,
        )
    };
    let value = match (value, state.failure.take()) {
        (_, Some(failure)) => return Err(in_file(failure, &shown)),
        (Ok(value), None) => value,
        (Err(e), None) => return Err(super::json_error(&shown, &e)),
    };
    let metrics = super::metrics_from(&value, &shown)?;
    Ok((metrics, state.spills))
}

/// The whole document through [`Node`], and nothing after it.
fn read_value<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    state: &mut State,
) -> serde_json::Result<Value> {
    let value = Node {
        state,
        key: String::new(),
        in_item: false,
    }
    .deserialize(&mut *de)?;
    de.end()?;
    Ok(value)
}

/// What the seed shares while it reads.
struct State {
    /// JSON nodes kept (spilled points are not).
    nodes: usize,
    spills: Spills,
    /// A failure the serde error stands for, said as `metrics_from` would.
    failure: Option<RunInputError>,
}

impl State {
    fn count<E: serde::de::Error>(&mut self, nodes: usize) -> Result<(), E> {
        self.nodes += nodes;
        if self.nodes > registry::MAX_NODES {
            return Err(E::custom(format!(
                "more than {} JSON nodes (keys, values and list items) besides long metric \
                 lists: a metrics file is a summary",
                registry::MAX_NODES
            )));
        }
        Ok(())
    }

    /// Records `failure` and returns the serde error that stops the reading.
    fn fail<E: serde::de::Error>(&mut self, failure: RunInputError) -> E {
        let message = failure.to_string();
        self.failure = Some(failure);
        E::custom(message)
    }
}

/// A JSON value at flattened key `key`; `in_item` inside an entry of a
/// metric's list (whose lists are values, not series).
struct Node<'s> {
    state: &'s mut State,
    key: String,
    in_item: bool,
}

impl Node<'_> {
    fn item(state: &mut State) -> Node<'_> {
        Node {
            state,
            key: String::new(),
            in_item: true,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(v.into())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(v.into())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(v.into())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Into::into))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(v.into())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.state.count(1)?;
        Ok(Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.state.count(1)?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "{} {}",
                    super::DUPLICATE_KEY,
                    super::quoted(&key)
                )));
            }
            self.state.count(1)?;
            let child = if self.key.is_empty() {
                key.clone()
            } else {
                format!("{}/{key}", self.key)
            };
            let value = map.next_value_seed(Node {
                state: &mut *self.state,
                key: child,
                in_item: self.in_item,
            })?;
            out.insert(key, value);
        }
        Ok(out.into())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.state.count(1)?;
        let state = self.state;
        let key = self.key;
        let mut kept: Vec<Value> = Vec::new();
        if self.in_item {
            while let Some(value) = seq.next_element_seed(Node::item(&mut *state))? {
                kept.push(value);
            }
            return Ok(kept.into());
        }
        // A metric's list: kept while it is short; past the bound, every
        // point goes to the series file instead.
        let mut spill: Option<Spill> = None;
        while let Some(value) = seq.next_element_seed(Node::item(&mut *state))? {
            if spill.is_none() && kept.len() < series::MAX_POINTS {
                kept.push(value);
                continue;
            }
            let spill = match &mut spill {
                Some(spill) => spill,
                None => {
                    let mut started = Spill::new(&key).map_err(|e| state.fail(e))?;
                    for value in kept.drain(..) {
                        state.nodes = state.nodes.saturating_sub(nodes_of(&value));
                        started.push(&value).map_err(|e| state.fail(e))?;
                    }
                    spill.insert(started)
                }
            };
            spill.push(&value).map_err(|e| state.fail(e))?;
            state.nodes = state.nodes.saturating_sub(nodes_of(&value));
        }
        let Some(spill) = spill else {
            return Ok(kept.into());
        };
        let (file, points) = spill.finish().map_err(|e| state.fail(e))?;
        let kept: Vec<Value> = points.into_iter().map(point_value).collect();
        state.count(kept.len() * 5)?;
        // Two spellings of one key (both long) are refused by flattening.
        state.spills.entry(key).or_insert(file);
        Ok(kept.into())
    }
}

/// A long metric list on its way to its series file.
struct Spill {
    key: String,
    writer: SeriesWriter,
    index: u64,
    last_step: Option<u64>,
}

impl Spill {
    fn new(key: &str) -> Result<Spill, RunInputError> {
        Ok(Spill {
            key: key.to_owned(),
            writer: SeriesWriter::new().map_err(|e| temp_error(key, e))?,
            index: 0,
            last_step: None,
        })
    }

    fn push(&mut self, value: &Value) -> Result<(), RunInputError> {
        let point = metric_point(&self.key, self.index, value)?;
        self.index += 1;
        // A long series is not sorted in memory: it must come in order.
        if let Some(last) = self.last_step
            && point.step < last
        {
            return Err(bad_metric(
                &self.key,
                &format!(
                    "has step {} after step {last}; a list longer than {} points must be in step \
                     order",
                    point.step,
                    series::MAX_POINTS
                ),
            ));
        }
        if self.last_step == Some(point.step) {
            return Err(bad_metric(
                &self.key,
                &format!("has step {} twice; each step has one value", point.step),
            ));
        }
        // Its timestamps reach no schema check (they are not in the run
        // file), so they are checked here.
        if let Some(t) = &point.timestamp
            && crate::time::parse(t).is_none()
        {
            return Err(bad_metric(
                &self.key,
                &format!("has the timestamp {t:?}, not an RFC 3339 time"),
            ));
        }
        self.last_step = Some(point.step);
        self.writer
            .push(&point)
            .map_err(|e| temp_error(&self.key, e))
    }

    /// The series file and its downsampled points (the second pass).
    fn finish(self) -> Result<(SeriesFile, Vec<MetricPoint>), RunInputError> {
        let file = self.writer.finish().map_err(|e| temp_error(&self.key, e))?;
        let points = series::downsample_file(&file).map_err(|e| temp_error(&self.key, e))?;
        Ok((file, points))
    }
}

fn temp_error(key: &str, e: std::io::Error) -> RunInputError {
    RunInputError::Invalid(format!(
        "cannot write the series of metric `{key}` to a temporary file: {e}"
    ))
}

/// A kept point as the `{step, value, timestamp?}` entry `metrics_from` reads.
fn point_value(point: MetricPoint) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("step".into(), point.step.into());
    map.insert(
        "value".into(),
        serde_json::Number::from_f64(point.value).map_or(Value::Null, Into::into),
    );
    if let Some(t) = point.timestamp {
        map.insert("timestamp".into(), t.into());
    }
    map.into()
}

/// The nodes [`State::count`] counted for `value`.
fn nodes_of(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(nodes_of).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(|v| 1 + nodes_of(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Used by `read_data_file` too: a serde_json error as a diagnostic.
pub(super) fn diagnostic(shown: &str, e: &serde_json::Error) -> Diagnostic {
    // The duplicate's own message, like YAML's; serde_json's says where it
    // is, which the diagnostic already does.
    let text = e.to_string();
    let message = match text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())) {
        Some(m) if m.starts_with(super::DUPLICATE_KEY) || m.starts_with("more than ") => {
            m.to_owned()
        }
        _ => format!("invalid JSON: {text}"),
    };
    Diagnostic::new(shown.to_owned(), e.line(), e.column(), message)
}
