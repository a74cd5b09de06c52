//! Registry events: the one place that says what changed. An event comes
//! from a commit's `Regent-*` trailers, from the difference between two
//! registry snapshots, or (usually) both: the diff says what happened, the
//! trailers say who did it through regent. A change no trailer explains is a
//! `manual` event, so nothing escapes the audit.

use crate::diagnostic::Diagnostic;
use crate::registry::{Layout, ModelFile, VersionFile, VersionStatus};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds of event. The first fourteen are the `Regent-Event` values of
/// DESIGN.md §2; `edit` and `delete` only come from hand edits (a registered
/// version changed where it must not, or removed).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Init,
    Register,
    Promote,
    Demote,
    Rollback,
    Alias,
    Unalias,
    Tag,
    Describe,
    Deprecate,
    Archive,
    Approve,
    Run,
    Policy,
    Edit,
    Delete,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::Init,
        EventKind::Register,
        EventKind::Promote,
        EventKind::Demote,
        EventKind::Rollback,
        EventKind::Alias,
        EventKind::Unalias,
        EventKind::Tag,
        EventKind::Describe,
        EventKind::Deprecate,
        EventKind::Archive,
        EventKind::Approve,
        EventKind::Run,
        EventKind::Policy,
        EventKind::Edit,
        EventKind::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Init => "init",
            EventKind::Register => "register",
            EventKind::Promote => "promote",
            EventKind::Demote => "demote",
            EventKind::Rollback => "rollback",
            EventKind::Alias => "alias",
            EventKind::Unalias => "unalias",
            EventKind::Tag => "tag",
            EventKind::Describe => "describe",
            EventKind::Deprecate => "deprecate",
            EventKind::Archive => "archive",
            EventKind::Approve => "approve",
            EventKind::Run => "run",
            EventKind::Policy => "policy",
            EventKind::Edit => "edit",
            EventKind::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the event moves a stage pointer to a version.
    pub fn assigns(self) -> bool {
        matches!(self, EventKind::Promote | EventKind::Rollback)
    }
}

/// How an event came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Regent,
    Manual,
    /// Brought in by `regent import` from another registry (crate::imported),
    /// with the time and actor it had there.
    Import,
}

/// One event, as `history --json` prints it (absent fields are null).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Event {
    pub event: EventKind,
    pub model: Option<String>,
    pub version: Option<u64>,
    pub stage: Option<String>,
    pub alias: Option<String>,
    pub previous: Option<u64>,
    pub actor: Option<String>,
    pub commit: Option<String>,
    pub time: Option<String>,
    pub via: Via,
    pub pr: Option<u64>,
    pub experiment: Option<String>,
    pub run: Option<String>,
    /// For an `edit`: the fields of the file it changed (`artifact.uri`,
    /// `metrics.accuracy`); null for other events.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

impl Event {
    pub fn new(event: EventKind) -> Event {
        Event {
            event,
            model: None,
            version: None,
            stage: None,
            alias: None,
            previous: None,
            actor: None,
            commit: None,
            time: None,
            via: Via::Manual,
            pr: None,
            experiment: None,
            run: None,
            fields: None,
        }
    }

    /// An edit's changed fields (see [`changed_fields`]).
    pub fn fields(mut self, fields: Vec<String>) -> Event {
        self.fields = Some(fields);
        self
    }

    pub fn model(mut self, model: &str) -> Event {
        self.model = Some(model.to_owned());
        self
    }

    pub fn version(mut self, version: u64) -> Event {
        self.version = Some(version);
        self
    }

    pub fn stage(mut self, stage: &str) -> Event {
        self.stage = Some(stage.to_owned());
        self
    }

    pub fn alias(mut self, alias: &str) -> Event {
        self.alias = Some(alias.to_owned());
        self
    }

    pub fn previous(mut self, previous: Option<u64>) -> Event {
        self.previous = previous;
        self
    }

    /// The trailers that describe this event in a regent commit.
    pub fn trailers(&self, actor: &str) -> Vec<(String, String)> {
        let mut out = vec![("Regent-Event".to_owned(), self.event.as_str().to_owned())];
        let mut push = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                out.push((key.to_owned(), value));
            }
        };
        push("Regent-Model", self.model.clone());
        push("Regent-Version", self.version.map(|v| v.to_string()));
        push("Regent-Stage", self.stage.clone());
        push("Regent-Alias", self.alias.clone());
        push("Regent-Previous", self.previous.map(|v| v.to_string()));
        push("Regent-Experiment", self.experiment.clone());
        push("Regent-Run", self.run.clone());
        push("Regent-Actor", Some(actor.to_owned()));
        out
    }

    /// A one-line description for people: `promote churn v4 to production (was v3)`.
    pub fn describe(&self) -> String {
        let model = self.model.as_deref().unwrap_or("");
        let v = |n: Option<u64>| n.map(|n| format!("v{n}")).unwrap_or_default();
        let was = self
            .previous
            .map(|p| format!(" (was v{p})"))
            .unwrap_or_default();
        let text = match self.event {
            EventKind::Promote => format!(
                "promote {model} {} to {}{was}",
                v(self.version),
                self.stage.as_deref().unwrap_or("?")
            ),
            EventKind::Rollback => format!(
                "roll back {model} {} to {}{was}",
                self.stage.as_deref().unwrap_or("?"),
                v(self.version)
            ),
            // An empty stage has no version to name.
            EventKind::Demote => format!(
                "demote {model}{} from {}",
                self.version.map(|n| format!(" v{n}")).unwrap_or_default(),
                self.stage.as_deref().unwrap_or("?")
            ),
            EventKind::Alias => format!(
                "alias {model}@{} -> {}{was}",
                self.alias.as_deref().unwrap_or("?"),
                v(self.version)
            ),
            EventKind::Unalias => format!(
                "unalias {model}@{} (was {})",
                self.alias.as_deref().unwrap_or("?"),
                v(self.version)
            ),
            EventKind::Approve => format!(
                "approve {model} {} for {}",
                v(self.version),
                self.stage
                    .as_deref()
                    .map(str::to_owned)
                    .or_else(|| self.alias.as_ref().map(|a| format!("@{a}")))
                    .unwrap_or_default()
            ),
            EventKind::Run => format!(
                "run {}/{}",
                self.experiment.as_deref().unwrap_or("?"),
                self.run.as_deref().unwrap_or("?")
            ),
            EventKind::Init | EventKind::Policy => self.event.as_str().to_owned(),
            EventKind::Edit | EventKind::Delete if self.model.is_none() => format!(
                "{} run {}/{}",
                self.event.as_str(),
                self.experiment.as_deref().unwrap_or("?"),
                self.run.as_deref().unwrap_or("?")
            ),
            _ => format!("{} {model} {}", self.event.as_str(), v(self.version))
                .trim_end()
                .to_owned(),
        };
        match &self.fields {
            Some(fields) if !fields.is_empty() => format!("{text} ({})", fields.join(", ")),
            _ => text,
        }
    }
}

/// `Regent-*` trailers of a commit message: the key-value lines of its last
/// paragraph, as `git interpret-trailers` reads them.
pub fn parse_trailers(message: &str) -> BTreeMap<String, String> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in last.lines() {
        if let Some((key, value)) = line.split_once(": ")
            && key.starts_with("Regent-")
            && !key.contains(' ')
        {
            out.insert(key.to_owned(), value.trim().to_owned());
        }
    }
    out
}

/// The event a commit's trailers describe, if any.
pub fn event_from_trailers(trailers: &BTreeMap<String, String>) -> Option<Event> {
    let kind = EventKind::parse(trailers.get("Regent-Event")?)?;
    let get = |k: &str| trailers.get(k).cloned();
    let number = |k: &str| trailers.get(k).and_then(|v| v.parse::<u64>().ok());
    let mut event = Event::new(kind);
    event.model = get("Regent-Model");
    event.version = number("Regent-Version");
    event.stage = get("Regent-Stage");
    event.alias = get("Regent-Alias");
    event.previous = number("Regent-Previous");
    event.actor = get("Regent-Actor");
    event.experiment = get("Regent-Experiment");
    event.run = get("Regent-Run");
    event.via = Via::Regent;
    Some(event)
}

/// What a snapshot says about one path, for diffing: the file read exactly
/// as `validate`, `show` and `resolve` read it (size, encoding, YAML, the
/// schema, the type), so a spelling those accept yields the events of its
/// canonical form and one they refuse yields none anywhere. A file that
/// does not load counts as absent; `validate` and `check` report why.
fn load_model(snapshot: Option<&Snapshot<'_>>, model: &str) -> Option<ModelFile> {
    snapshot?.model(model).ok().map(|l| l.value)
}

fn load_version(snapshot: Option<&Snapshot<'_>>, model: &str, version: u64) -> Option<VersionFile> {
    snapshot?.version(model, version).ok().map(|l| l.value)
}

/// The events that turn `before` into `after`, for the registry paths in
/// `changed` (registry-relative). `before` is None for a root commit.
/// Unreadable files yield no event; `validate` and `check` report them.
pub fn diff_events(
    before: Option<&Snapshot<'_>>,
    after: &Snapshot<'_>,
    changed: &[String],
) -> Result<Vec<Event>, Diagnostic> {
    let mut events = Vec::new();
    let mut models: BTreeSet<String> = BTreeSet::new();
    for path in changed {
        match crate::registry::classify(path) {
            Ok(Some(crate::registry::FileKind::Config)) => {
                let kind = if before.is_some_and(|b| b.exists(Layout::CONFIG)) {
                    EventKind::Policy
                } else {
                    EventKind::Init
                };
                events.push(Event::new(kind));
            }
            Ok(Some(crate::registry::FileKind::Run { experiment, run })) => {
                let mut edited = None;
                // Runs are part of the audit: a new one is logged; editing
                // or removing one is an event too (the gate refuses it for
                // a run a version was registered from).
                let existed = before.is_some_and(|b| b.exists(path));
                let kind = match (existed, after.exists(path)) {
                    (false, true) => EventKind::Run,
                    (true, true) => {
                        // The same run spelled differently is no change.
                        let read =
                            |s: &Snapshot<'_>| s.run(&experiment, &run).ok().map(|l| l.value);
                        match (before.and_then(read), read(after)) {
                            (Some(old), Some(new)) if old == new => continue,
                            (Some(old), Some(new)) => {
                                edited = Some(changed_fields(&old, &new, &[]));
                                EventKind::Edit
                            }
                            _ => EventKind::Edit,
                        }
                    }
                    (true, false) => EventKind::Delete,
                    (false, false) => continue,
                };
                let mut e = Event::new(kind);
                e.experiment = Some(experiment);
                e.run = Some(run);
                e.fields = edited.take();
                events.push(e);
            }
            Ok(Some(crate::registry::FileKind::Model { model })) => {
                models.insert(model);
            }
            Ok(Some(crate::registry::FileKind::Version { model, version })) => {
                let old = load_version(before, &model, version);
                let new = load_version(Some(after), &model, version);
                events.extend(version_events(&model, version, old.as_ref(), new.as_ref()));
            }
            _ => {}
        }
    }
    for model in models {
        let old = load_model(before, &model);
        let new = load_model(Some(after), &model);
        events.extend(model_events(&model, old.as_ref(), new.as_ref()));
    }
    Ok(events)
}

/// Events from a version file's change.
pub fn version_events(
    model: &str,
    version: u64,
    old: Option<&VersionFile>,
    new: Option<&VersionFile>,
) -> Vec<Event> {
    let base = |kind| Event::new(kind).model(model).version(version);
    match (old, new) {
        (None, Some(_)) => vec![base(EventKind::Register)],
        (Some(_), None) => vec![base(EventKind::Delete)],
        (None, None) => Vec::new(),
        (Some(old), Some(new)) => {
            let mut out = Vec::new();
            if old.status != new.status {
                out.push(match new.status {
                    VersionStatus::Deprecated => base(EventKind::Deprecate),
                    VersionStatus::Archived => base(EventKind::Archive),
                    // Back to active is not an event regent makes.
                    VersionStatus::Active => base(EventKind::Edit).fields(vec!["status".into()]),
                });
            }
            if old.tags != new.tags {
                out.push(base(EventKind::Tag));
            }
            if old.description != new.description {
                out.push(base(EventKind::Describe));
            }
            if frozen_fields_differ(old, new) {
                let fields = changed_fields(
                    old,
                    new,
                    &["status", "status_reason", "tags", "description"],
                );
                out.push(base(EventKind::Edit).fields(fields));
            }
            out
        }
    }
}

/// The fields that differ between two versions of a file, outside
/// `ignore`: top-level keys, and one level down in mappings
/// (`metrics.accuracy`, `artifact.uri`), sorted.
pub fn changed_fields<T: Serialize>(old: &T, new: &T, ignore: &[&str]) -> Vec<String> {
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys.into_iter().filter(|k| !ignore.contains(&k.as_str())) {
        match (old.get(key), new.get(key)) {
            (a, b) if a == b => {}
            (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => {
                let inner: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                out.extend(
                    inner
                        .into_iter()
                        .filter(|k| a.get(*k) != b.get(*k))
                        .map(|k| format!("{key}.{k}")),
                );
            }
            _ => out.push(key.clone()),
        }
    }
    out
}

/// Whether a version changed where it is frozen at registration: anything
/// but its status (and reason), tags and description.
pub fn frozen_fields_differ(old: &VersionFile, new: &VersionFile) -> bool {
    let frozen = |v: &VersionFile| {
        let mut v = v.clone();
        v.status = VersionStatus::Active;
        v.status_reason = None;
        v.tags.clear();
        v.description = None;
        v
    };
    frozen(old) != frozen(new)
}

/// Events from a model file's change: stage and alias pointers, tags, description.
pub fn model_events(model: &str, old: Option<&ModelFile>, new: Option<&ModelFile>) -> Vec<Event> {
    let empty = ModelFile::default();
    let (o, n) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut out = Vec::new();
    let stages: BTreeSet<&String> = o.stages.keys().chain(n.stages.keys()).collect();
    for stage in stages {
        match (o.stages.get(stage), n.stages.get(stage)) {
            (a, Some(b)) if a != Some(b) => out.push(
                Event::new(EventKind::Promote)
                    .model(model)
                    .version(*b)
                    .stage(stage)
                    .previous(a.copied()),
            ),
            (Some(a), None) => out.push(
                Event::new(EventKind::Demote)
                    .model(model)
                    .version(*a)
                    .stage(stage),
            ),
            _ => {}
        }
    }
    let aliases: BTreeSet<&String> = o.aliases.keys().chain(n.aliases.keys()).collect();
    for alias in aliases {
        match (o.aliases.get(alias), n.aliases.get(alias)) {
            (a, Some(b)) if a != Some(b) => out.push(
                Event::new(EventKind::Alias)
                    .model(model)
                    .version(*b)
                    .alias(alias)
                    .previous(a.copied()),
            ),
            (Some(a), None) => out.push(
                Event::new(EventKind::Unalias)
                    .model(model)
                    .version(*a)
                    .alias(alias),
            ),
            _ => {}
        }
    }
    if old.is_some() && new.is_some() {
        if o.tags != n.tags {
            out.push(Event::new(EventKind::Tag).model(model));
        }
        if o.description != n.description {
            out.push(Event::new(EventKind::Describe).model(model));
        }
        // Owners and x-* keys are the team's to maintain; the name and the
        // creation time are not.
        let frozen = |m: &ModelFile| (m.name.clone(), m.created_at.clone());
        if frozen(o) != frozen(n) {
            let fields = [
                ("name", o.name != n.name),
                ("created_at", o.created_at != n.created_at),
            ]
            .into_iter()
            .filter(|(_, differs)| *differs)
            .map(|(field, _)| field.to_owned())
            .collect();
            out.push(Event::new(EventKind::Edit).model(model).fields(fields));
        }
    }
    if old.is_some() && new.is_none() {
        out.push(Event::new(EventKind::Delete).model(model));
    }
    out
}

/// Whether two events make the same move: kind (a rollback is a
/// promotion), model, version, stage, alias and run; where, when, by whom
/// and the previous value aside.
pub fn same_move(a: &Event, b: &Event) -> bool {
    let kind = |k: EventKind| match k {
        EventKind::Rollback => EventKind::Promote,
        k => k,
    };
    kind(a.event) == kind(b.event)
        && a.model == b.model
        && a.version == b.version
        && a.stage == b.stage
        && a.alias == b.alias
        && a.experiment == b.experiment
        && a.run == b.run
}

/// Whether a diff event is what the trailer event says happened: the same
/// kind (a rollback is a pointer move, an init writes the config) on the
/// same model, version, stage and alias.
pub fn explains(trailer: &Event, derived: &Event) -> bool {
    let kind_matches = trailer.event == derived.event
        || (trailer.event == EventKind::Rollback && derived.event == EventKind::Promote)
        // Registering a new model also writes its model.yaml.
        || (trailer.event == EventKind::Register && derived.event == EventKind::Edit && derived.version.is_none());
    let same = |a: &Option<String>, b: &Option<String>| b.is_none() || a == b;
    // A batch (`run log --batch`) claims new runs without naming each.
    let batch_of_runs = trailer.event == EventKind::Run
        && trailer.run.is_none()
        && trailer.model.is_none()
        && derived.event == EventKind::Run;
    if batch_of_runs {
        return true;
    }
    kind_matches
        && same(&trailer.model, &derived.model)
        && (derived.version.is_none() || trailer.version == derived.version)
        && same(&trailer.stage, &derived.stage)
        && same(&trailer.alias, &derived.alias)
        && same(&trailer.experiment, &derived.experiment)
        && same(&trailer.run, &derived.run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_round_trip() {
        let event = Event::new(EventKind::Promote)
            .model("churn")
            .version(4)
            .stage("production")
            .previous(Some(3));
        let message = crate::workspace::CommitMessage {
            subject: "promote churn v4 to production".into(),
            body: Some("Regent-Event: demote\n\nlooks like a trailer".into()),
            trailers: event.trailers("alice"),
        }
        .render();
        let parsed = event_from_trailers(&parse_trailers(&message)).unwrap();
        assert_eq!(parsed.event, EventKind::Promote);
        assert_eq!(parsed.model.as_deref(), Some("churn"));
        assert_eq!(parsed.version, Some(4));
        assert_eq!(parsed.previous, Some(3));
        assert_eq!(parsed.actor.as_deref(), Some("alice"));
        assert_eq!(parsed.via, Via::Regent);
    }

    #[test]
    fn only_the_last_paragraph_holds_trailers() {
        assert!(parse_trailers("subject\n\nRegent-Event: promote\n\nplain text\n").is_empty());
        assert!(event_from_trailers(&parse_trailers("x\n\nRegent-Event: bogus\n")).is_none());
    }

    #[test]
    fn model_pointer_changes_become_events() {
        let old = ModelFile {
            name: "m".into(),
            stages: [("staging".to_owned(), 2), ("production".to_owned(), 1)].into(),
            aliases: [("champion".to_owned(), 1)].into(),
            ..Default::default()
        };
        let mut new = old.clone();
        new.stages.insert("production".into(), 2);
        new.stages.remove("staging");
        new.aliases.insert("champion".into(), 2);
        new.aliases.insert("beta".into(), 2);
        let kinds: Vec<String> = model_events("m", Some(&old), Some(&new))
            .iter()
            .map(Event::describe)
            .collect();
        assert_eq!(
            kinds,
            [
                "promote m v2 to production (was v1)",
                "demote m v2 from staging",
                "alias m@beta -> v2",
                "alias m@champion -> v2 (was v1)"
            ]
        );
    }

    #[test]
    fn frozen_version_fields_are_edits() {
        let v = VersionFile {
            model: "m".into(),
            version: 1,
            created_at: "2026-01-01T00:00:00Z".into(),
            created_by: "a".into(),
            run: None,
            source_commit: None,
            artifact: Default::default(),
            metrics: [("acc".to_owned(), 0.8)].into(),
            params: Default::default(),
            description: None,
            tags: Default::default(),
            status: VersionStatus::Active,
            status_reason: None,
            extensions: Default::default(),
        };
        let mut w = v.clone();
        w.status = VersionStatus::Deprecated;
        w.description = Some("old".into());
        let kinds: Vec<EventKind> = version_events("m", 1, Some(&v), Some(&w))
            .iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(kinds, [EventKind::Deprecate, EventKind::Describe]);
        w.metrics.insert("acc".into(), 0.99);
        let kinds: Vec<EventKind> = version_events("m", 1, Some(&v), Some(&w))
            .iter()
            .map(|e| e.event)
            .collect();
        assert!(kinds.contains(&EventKind::Edit));
    }
}
