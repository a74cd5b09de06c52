//! Imported events (`regent import`): how an import commit records the
//! events it brings in, and how `history` reads them back.
//!
//! An import commit (`Regent-Event: import`) holds one experiment's new runs
//! or one model's new versions, stage moves and aliases, written in one go.
//! Its diff alone would show only the end state, at the time of the import;
//! so each event it brings is listed in a `Regent-Imported` trailer, a JSON
//! object on one line with the event's original time and actor and its
//! identity in the source (an MLflow run id, a GTO tag name), which is how a
//! second import knows what it already brought.
//!
//! `history` shows the listed events, in their order, with their original
//! times and actors, `via: import`, where the commit's diff bears them out
//! (the model's or the run's files changed in that commit); a change the
//! trailers do not explain stays a `manual` event, as anywhere else.

use crate::events::{self, Event, EventKind, Via};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `Regent-Event` value of an import commit.
pub const EVENT: &str = "import";
/// The trailer holding one imported event.
pub const TRAILER: &str = "Regent-Imported";

/// One imported event, as its trailer holds it. The commit's
/// `Regent-Model` or `Regent-Experiment` says what it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedEvent {
    pub event: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// When it happened in the source (RFC 3339).
    pub time: String,
    /// Who did it in the source.
    pub actor: String,
    /// Its identity in the source, unique across imports from it.
    pub id: String,
}

impl ImportedEvent {
    /// The trailer value: JSON on one line (serde_json escapes newlines, so
    /// no value can start another trailer).
    pub fn to_trailer(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The import commit's subject of events: its model or its experiment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Model(String),
    Experiment(String),
}

/// Whether a commit message is an import commit's.
pub fn is_import(message: &str) -> bool {
    events::parse_trailers(message)
        .get("Regent-Event")
        .is_some_and(|e| e == EVENT)
}

/// What an import commit is about and the events it lists, in order;
/// None for any other commit. Lines that do not parse are left out.
pub fn read(message: &str) -> Option<(Subject, Vec<ImportedEvent>)> {
    let trailers = events::parse_trailers(message);
    if trailers.get("Regent-Event").map(String::as_str) != Some(EVENT) {
        return None;
    }
    let subject = match (
        trailers.get("Regent-Model"),
        trailers.get("Regent-Experiment"),
    ) {
        (Some(model), _) => Subject::Model(model.clone()),
        (None, Some(experiment)) => Subject::Experiment(experiment.clone()),
        (None, None) => return None,
    };
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    let prefix = format!("{TRAILER}: ");
    let listed = last
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect();
    Some((subject, listed))
}

/// The events of an import commit for `history`: its listed events, where
/// the diff bears them out, then what the diff shows that none of them
/// explains (`derived`, labelled manual by the caller). Each listed event
/// keeps its original time and actor.
pub fn history_events(message: &str, derived: Vec<Event>) -> Vec<Event> {
    let Some((subject, listed)) = read(message) else {
        return derived;
    };
    let claims: Vec<Event> = listed
        .iter()
        .map(|i| to_event(&subject, i))
        .filter(|claim| borne_out(claim, &derived))
        .collect();
    let unexplained: Vec<Event> = derived
        .into_iter()
        .filter(|d| !claims.iter().any(|c| events::explains(c, d)))
        .collect();
    claims.into_iter().chain(unexplained).collect()
}

/// A listed event is shown only where the commit's diff bears it out: the
/// diff makes the same change (a run added, a version registered, a stage
/// moved), or the event is the past of a version this very commit
/// registers (its stages before the last, say). So a trailer alone (a
/// hand-written commit) cannot give a version that was already there a
/// history it never had.
fn borne_out(claim: &Event, derived: &[Event]) -> bool {
    let registered_here = |version: Option<u64>| {
        derived.iter().any(|d| {
            d.event == EventKind::Register && d.model == claim.model && d.version == version
        })
    };
    match claim.event {
        EventKind::Run => derived.iter().any(|d| {
            d.event == EventKind::Run && d.experiment == claim.experiment && d.run == claim.run
        }),
        EventKind::Register => registered_here(claim.version),
        _ => registered_here(claim.version) || derived.iter().any(|d| events::explains(claim, d)),
    }
}

fn to_event(subject: &Subject, imported: &ImportedEvent) -> Event {
    let mut event = Event::new(imported.event);
    match subject {
        Subject::Model(model) => event.model = Some(model.clone()),
        Subject::Experiment(experiment) => event.experiment = Some(experiment.clone()),
    }
    event.version = imported.version;
    event.stage = imported.stage.clone();
    event.alias = imported.alias.clone();
    event.previous = imported.previous;
    event.run = imported.run.clone();
    event.actor = Some(imported.actor.clone());
    event.time = Some(imported.time.clone());
    event.via = Via::Import;
    event
}

/// Every event imported on `tip`'s first-parent line, by its source id,
/// with its subject: what a new import must not bring again.
pub fn imported_so_far(
    repo: &crate::git::Repo,
    tip: Option<git2::Oid>,
) -> Result<BTreeMap<String, (Subject, ImportedEvent)>, crate::git::GitError> {
    let mut out = BTreeMap::new();
    let Some(tip) = tip else {
        return Ok(out);
    };
    let needle = format!("Regent-Event: {EVENT}");
    for oid in crate::history::first_parent_line(repo, tip, None)? {
        let Ok(commit) = repo.repo.find_commit(oid) else {
            continue;
        };
        let raw = commit.message_raw_bytes();
        if !raw.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            continue;
        }
        if let Some((subject, listed)) = read(commit.message().unwrap_or_default()) {
            for event in listed {
                out.insert(event.id.clone(), (subject.clone(), event));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imported(event: EventKind, id: &str) -> ImportedEvent {
        ImportedEvent {
            event,
            version: Some(1),
            stage: None,
            alias: None,
            previous: None,
            run: None,
            time: "2024-01-02T03:04:05Z".into(),
            actor: "alice".into(),
            id: id.into(),
        }
    }

    #[test]
    fn listed_events_replace_what_the_diff_explains() {
        let register = imported(EventKind::Register, "churn@v1.0.0");
        let mut promote = imported(EventKind::Promote, "churn#prod#1");
        promote.stage = Some("prod".into());
        let mut demote = imported(EventKind::Demote, "churn#prod!#2");
        demote.stage = Some("prod".into());
        let message = crate::workspace::CommitMessage::new("import churn from gto")
            .trailer("Regent-Event", EVENT)
            .trailer("Regent-Model", "churn")
            .trailer("Regent-Actor", "bob")
            .trailer(TRAILER, register.to_trailer())
            .trailer(TRAILER, promote.to_trailer())
            .trailer(TRAILER, demote.to_trailer())
            .render();
        let derived = vec![
            Event::new(EventKind::Register).model("churn").version(1),
            Event::new(EventKind::Tag).model("other"),
        ];
        let events = history_events(&message, derived);
        let described: Vec<String> = events.iter().map(Event::describe).collect();
        assert_eq!(
            described,
            [
                "register churn v1",
                "promote churn v1 to prod",
                "demote churn v1 from prod",
                "tag other"
            ]
        );
        assert_eq!(events[1].via, Via::Import);
        assert_eq!(events[1].actor.as_deref(), Some("alice"));
        assert_eq!(events[1].time.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(events[3].via, Via::Manual, "not explained, left as it was");
    }

    #[test]
    fn the_past_of_a_version_already_there_needs_the_diff() {
        let mut promote = imported(EventKind::Promote, "churn#prod#7");
        promote.stage = Some("prod".into());
        let message = crate::workspace::CommitMessage::new("import churn from gto")
            .trailer("Regent-Event", EVENT)
            .trailer("Regent-Model", "churn")
            .trailer(TRAILER, promote.to_trailer())
            .render();
        // v1 was registered before this commit, which only tags the model.
        let events = history_events(&message, vec![Event::new(EventKind::Tag).model("churn")]);
        let described: Vec<String> = events.iter().map(Event::describe).collect();
        assert_eq!(
            described,
            ["tag churn"],
            "the claimed promotion is not shown"
        );
        // When the diff moves the stage, the claim explains it.
        let moved = Event::new(EventKind::Promote)
            .model("churn")
            .version(1)
            .stage("prod");
        let events = history_events(&message, vec![moved]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].via, Via::Import);
        assert_eq!(events[0].actor.as_deref(), Some("alice"));
    }

    #[test]
    fn a_trailer_without_a_change_shows_nothing() {
        let message = crate::workspace::CommitMessage::new("forged")
            .trailer("Regent-Event", EVENT)
            .trailer("Regent-Model", "churn")
            .trailer(TRAILER, imported(EventKind::Register, "x").to_trailer())
            .render();
        assert!(history_events(&message, Vec::new()).is_empty());
        assert!(!is_import("subject\n\nRegent-Event: run\n"));
    }
}
