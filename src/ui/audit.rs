//! The audit page's data: the registry's events split into chunks, newest
//! first, and a small index of them.
//!
//! A registry of 100,000 runs has over 100,000 events, and the page shows
//! 100 at a time: it loads the index (the counts, each chunk's time span,
//! and the values its filters offer), then only the chunks it reads. Chunk
//! 0 holds the newest events, so the first page needs one chunk; a filtered
//! page reads chunks newest first until it has a page of matches, skipping
//! those that cannot match: outside its time range, or without its model,
//! stage or event kind.

use crate::events::{Event, Via};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Events per chunk of the history.
pub const HISTORY_CHUNK: usize = 1000;

/// The index of `events` (oldest first, as the history walk gives them) in
/// chunks of `size`: the total; each chunk's length, time span, and the
/// models, stages and event kinds in it (so a filter passes over chunks
/// without a match unread); and over all events, the models, stages,
/// actors, event kinds and `via` values the filters offer.
pub fn index(events: &[Event], size: usize) -> Value {
    let mut actors = BTreeSet::new();
    let mut vias = BTreeSet::new();
    for e in events {
        actors.extend(e.actor.as_deref());
        vias.insert(via_name(e.via));
    }
    let chunks: Vec<Value> = events
        .rchunks(size.max(1))
        .map(|chunk| {
            let (newest, oldest) = span(chunk);
            let (models, stages, kinds) = kinds_of(chunk);
            json!({
                "events": chunk.len(), "newest": newest, "oldest": oldest,
                "models": models, "stages": stages, "kinds": kinds,
            })
        })
        .collect();
    let (models, stages, kinds) = kinds_of(events);
    json!({
        "total": events.len(), "chunk_size": size.max(1), "chunks": chunks,
        "models": models, "stages": stages, "actors": actors, "events": kinds,
        "vias": vias,
    })
}

/// The distinct models, stages and event kinds of `events`, sorted.
fn kinds_of(events: &[Event]) -> (BTreeSet<&str>, BTreeSet<&str>, BTreeSet<&str>) {
    let mut models = BTreeSet::new();
    let mut stages = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for e in events {
        models.extend(e.model.as_deref());
        stages.extend(e.stage.as_deref());
        kinds.insert(e.event.as_str());
    }
    (models, stages, kinds)
}

/// Chunk `n` of `events` in chunks of `size`, its events newest first;
/// None past the last chunk.
pub fn chunk(events: &[Event], size: usize, n: usize) -> Option<Value> {
    let chunk = events.rchunks(size.max(1)).nth(n)?;
    let newest_first: Vec<&Event> = chunk.iter().rev().collect();
    Some(json!({ "chunk": n, "events": newest_first }))
}

/// The newest and the oldest time of a chunk's events, as the events write
/// them. Both null when a time does not parse: the page then never skips
/// the chunk, as it cannot know the span. Events without a time are left
/// out (no time filter matches them).
fn span(chunk: &[Event]) -> (Option<&str>, Option<&str>) {
    let mut newest: Option<(jiff::Timestamp, &str)> = None;
    let mut oldest: Option<(jiff::Timestamp, &str)> = None;
    for text in chunk.iter().filter_map(|e| e.time.as_deref()) {
        let Some(time) = crate::time::parse(text) else {
            return (None, None);
        };
        if newest.is_none_or(|(t, _)| time > t) {
            newest = Some((time, text));
        }
        if oldest.is_none_or(|(t, _)| time < t) {
            oldest = Some((time, text));
        }
    }
    (newest.map(|(_, t)| t), oldest.map(|(_, t)| t))
}

/// `via` as the events write it (`regent`, `manual`, `import`).
fn via_name(via: Via) -> String {
    match serde_json::to_value(via) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    fn event(n: usize, time: Option<&str>) -> Event {
        let mut e = Event::new(if n.is_multiple_of(2) {
            EventKind::Run
        } else {
            EventKind::Promote
        });
        e.version = Some(n as u64);
        e.time = time.map(str::to_owned);
        e.via = if n == 1 { Via::Manual } else { Via::Regent };
        e.model = (n % 2 == 1).then(|| format!("m{}", n % 3));
        e
    }

    fn versions(value: &Value) -> Vec<u64> {
        value["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn chunks_hold_the_newest_events_first() {
        // Seven events, oldest first, one day apart.
        let times: Vec<String> = (0..7)
            .map(|n| format!("2026-11-0{}T10:00:00Z", n + 1))
            .collect();
        let events: Vec<Event> = (0..7).map(|n| event(n, Some(&times[n]))).collect();
        let index = index(&events, 3);
        assert_eq!(index["total"], 7);
        assert_eq!(index["chunk_size"], 3);
        assert_eq!(
            index["chunks"],
            json!([
                {"events": 3, "newest": "2026-11-07T10:00:00Z", "oldest": "2026-11-05T10:00:00Z",
                 "models": ["m2"], "stages": [], "kinds": ["promote", "run"]},
                {"events": 3, "newest": "2026-11-04T10:00:00Z", "oldest": "2026-11-02T10:00:00Z",
                 "models": ["m0", "m1"], "stages": [], "kinds": ["promote", "run"]},
                {"events": 1, "newest": "2026-11-01T10:00:00Z", "oldest": "2026-11-01T10:00:00Z",
                 "models": [], "stages": [], "kinds": ["run"]},
            ])
        );
        assert_eq!(versions(&chunk(&events, 3, 0).unwrap()), [6, 5, 4]);
        assert_eq!(versions(&chunk(&events, 3, 1).unwrap()), [3, 2, 1]);
        assert_eq!(versions(&chunk(&events, 3, 2).unwrap()), [0]);
        assert_eq!(chunk(&events, 3, 3), None);
        assert_eq!(chunk(&events, 3, usize::MAX), None);

        assert_eq!(index["models"], json!(["m0", "m1", "m2"]));
        assert_eq!(index["events"], json!(["promote", "run"]));
        assert_eq!(index["vias"], json!(["manual", "regent"]));
        assert_eq!(index["stages"], json!([]));
    }

    #[test]
    fn a_span_is_unknown_when_a_time_does_not_parse() {
        // Imported events may keep their own order: the span is the
        // earliest and latest time, wherever they sit in the chunk.
        let events = vec![
            event(0, Some("2026-11-05T10:00:00Z")),
            event(2, None),
            event(4, Some("2026-11-01T10:00:00Z")),
            event(6, Some("2026-11-03T10:00:00Z")),
        ];
        let index = index(&events, 10);
        assert_eq!(index["chunks"][0]["newest"], "2026-11-05T10:00:00Z");
        assert_eq!(index["chunks"][0]["oldest"], "2026-11-01T10:00:00Z");
        assert_eq!(index["vias"], json!(["regent"]));
        let broken = vec![
            event(0, Some("2026-11-05T10:00:00Z")),
            event(2, Some("soon")),
        ];
        let chunk = &super::index(&broken, 10)["chunks"][0];
        assert_eq!(
            (&chunk["newest"], &chunk["oldest"]),
            (&json!(null), &json!(null))
        );
        assert_eq!(super::index(&[], 10)["chunks"], json!([]));
    }
}
