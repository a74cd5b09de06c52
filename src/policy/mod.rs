//! The governance policy of DESIGN.md §3, as one pure function: [`judge`] takes
//! the registry's state, a requested change, the history facts and the
//! approvals, and returns a [`Decision`] holding *every* evaluated rule, passing
//! or failing, so that a pull-request body can show each gate. No I/O, no Git,
//! no clock: callers gather the facts ([`Context`]) and render the checks.
//!
//! # Rules
//! Checks come out ordered by [`Rule`] (the order below), then in the order of
//! the configuration (required stages, gates, and each gate's `min`, `max`,
//! `max_regression`). A request is allowed iff every check passed; a decision
//! never has an empty list of checks.
//!
//! * **Exists** (promote, rollback, set alias): the version is in
//!   [`Context::versions`]. If not, this is the only check returned.
//! * **Stage** (promote, rollback, demote): the stage is declared in
//!   `regent.yaml` (the implicit `none` is not a target: use demote). If not,
//!   only this check (after Exists) is returned.
//! * **Status** (promote, rollback, set alias): the version is `active`;
//!   deprecated and archived versions are refused.
//! * **Requires**: for a promotion, one check per stage in the stage's
//!   `requires`: the version must have held it (from [`Context::held`]). For a
//!   rollback, one check that the version held *this* stage before: a rollback
//!   returns to an earlier holder, so a version that never held the stage must be
//!   promoted (with its `requires` and full approvals) instead.
//! * **Gate** (promote, rollback): one check per bound of each gate. `min`:
//!   metric >= min; `max`: metric <= max; a missing (or NaN) metric fails.
//!   `max_regression` compares with the version now in the stage: the drop
//!   (`holder - candidate`, or `candidate - holder` with
//!   `higher_is_better: false`), rounded to 12 significant digits so that
//!   `0.93 - 0.91` is `0.02`, must be <= `max_regression`. It passes, saying
//!   why, when the stage is empty or the holder has no such metric. It is not
//!   applied to a rollback (reported as passed), since the holder is the version
//!   being rolled away from. A gate with no bound checks that the metric exists.
//! * **Approvals**: the stage's `approvals` (default 0); for a rollback,
//!   `rollback.approvals` overrides it when set. For setting an alias listed in
//!   `aliases:` (protected), its `approvals` (default 0); free aliases need none.
//!   Demoting and removing an alias need none. When the count is above 0, one
//!   check: the distinct [`counting_approvers`] of the same version and target
//!   must reach it. An empty `approvers` list means nobody can approve.
//! * **Direct** (promote, rollback, demote): a stage with `direct: false`
//!   changes only through a pull request; a local commit fails. Stages without
//!   `direct: false` get no such check.
//! * **Alias** (set alias): the alias name follows the naming rule and is not a
//!   stage name (nor `none`), so `models:/m@production` and
//!   `models:/m/production` cannot mean different versions.
//! * **NoChange**: promoting (or rolling back to) the version already in the
//!   stage, setting an alias to the version it names, demoting an empty stage
//!   or removing an absent alias fails: there is nothing to do.
//!
//! # Approvers
//! An approver entry is a login (`alice`, compared case-insensitively like
//! GitHub logins; a leading `@` is ignored) or a team (`@org/team`, asked of
//! [`Context::is_member`]). The requester ([`Context::actor`]) and the
//! version's registrant never count, and each person counts once.

use crate::names::{self, NameKind};
use crate::registry::{Config, Gate, ModelFile, StageConfig, VersionStatus};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[cfg(test)]
mod tests;

/// What the policy needs to know about one version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionFacts {
    pub status: VersionStatus,
    pub metrics: BTreeMap<String, f64>,
    /// Who registered it (never counts as an approver).
    pub created_by: String,
}

/// A change to a model that the policy judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Promote {
        version: u64,
        stage: String,
    },
    /// Moving a stage back to an earlier holder; judged like a promotion, with the stage's `rollback` policy.
    Rollback {
        version: u64,
        stage: String,
    },
    Demote {
        stage: String,
    },
    SetAlias {
        alias: String,
        version: u64,
    },
    RemoveAlias {
        alias: String,
    },
}

impl Request {
    /// The version the request moves something to, if any.
    pub fn version(&self) -> Option<u64> {
        match self {
            Request::Promote { version, .. }
            | Request::Rollback { version, .. }
            | Request::SetAlias { version, .. } => Some(*version),
            Request::Demote { .. } | Request::RemoveAlias { .. } => None,
        }
    }

    /// The stage the request changes, if any.
    pub fn stage(&self) -> Option<&str> {
        match self {
            Request::Promote { stage, .. }
            | Request::Rollback { stage, .. }
            | Request::Demote { stage } => Some(stage),
            Request::SetAlias { .. } | Request::RemoveAlias { .. } => None,
        }
    }

    /// The alias the request changes, if any.
    pub fn alias(&self) -> Option<&str> {
        match self {
            Request::SetAlias { alias, .. } | Request::RemoveAlias { alias } => Some(alias),
            _ => None,
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Promote { version, stage } => write!(f, "promote v{version} to {stage}"),
            Request::Rollback { version, stage } => write!(f, "roll {stage} back to v{version}"),
            Request::Demote { stage } => write!(f, "demote {stage}"),
            Request::SetAlias { alias, version } => write!(f, "set alias {alias} to v{version}"),
            Request::RemoveAlias { alias } => write!(f, "remove alias {alias}"),
        }
    }
}

/// What an approval is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApprovalTarget {
    Stage(String),
    Alias(String),
}

/// One approval: an offline `approve` commit or a pull-request review, already filtered by the caller to those
/// given after the version's registration (offline) or for the PR's head commit (GitHub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub actor: String,
    pub version: u64,
    pub target: ApprovalTarget,
}

/// Everything the decision depends on.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    /// Current pointers: `model.stages`, `model.aliases`.
    pub model: &'a ModelFile,
    /// Every version of the model.
    pub versions: &'a BTreeMap<u64, VersionFacts>,
    /// (stage, version) pairs the model's history shows: version v has held stage s at some point.
    pub held: &'a BTreeSet<(String, u64)>,
    pub approvals: &'a [Approval],
    /// Who asks (the promoter, or the PR author). Never counts as an approver.
    pub actor: &'a str,
    /// Others who started the same change (the `Regent-Actor` of a pull
    /// request's commits when a bot opened it for them): never approvers either.
    pub requested_by: &'a [String],
    /// true when judged as a pull request (`regent check`), false for a local commit.
    pub via_pull_request: bool,
    /// Team membership oracle: is `user` in team `@org/team`? Offline callers pass `&|_, _| false`.
    pub is_member: &'a dyn Fn(&str, &str) -> bool,
}

/// Which rule a check comes from. The order is the order of checks in a [`Decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    Exists,
    Stage,
    Status,
    Requires,
    Gate,
    Approvals,
    Direct,
    Alias,
    NoChange,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Exists => "exists",
            Rule::Stage => "stage",
            Rule::Status => "status",
            Rule::Requires => "requires",
            Rule::Gate => "gate",
            Rule::Approvals => "approvals",
            Rule::Direct => "direct",
            Rule::Alias => "alias",
            Rule::NoChange => "no-change",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One evaluated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: Rule,
    pub passed: bool,
    pub message: String,
}

impl Check {
    /// `{"rule", "passed", "message"}`, as every `--json` output shows a check.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"rule": self.rule.as_str(), "passed": self.passed, "message": self.message})
    }

    fn new(rule: Rule, passed: bool, message: impl Into<String>) -> Check {
        Check {
            rule,
            passed,
            message: message.into(),
        }
    }
}

fn pass(rule: Rule, message: impl Into<String>) -> Check {
    Check::new(rule, true, message)
}

fn fail(rule: Rule, message: impl Into<String>) -> Check {
    Check::new(rule, false, message)
}

/// `pass requires: version 4 has held staging`.
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        write!(f, "{verdict} {}: {}", self.rule, self.message)
    }
}

/// The outcome: every check in a stable order; allowed iff all passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub checks: Vec<Check>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failing checks only.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// One check per line.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        Ok(())
    }
}

/// Approvers who count for `target` of `version`: distinct actors, listed in `approvers` directly (exact match,
/// case-insensitive like GitHub logins) or through a team entry (`@org/team`, via `is_member`), never `ctx.actor`,
/// never the version's registrant. Sorted.
pub fn counting_approvers(
    ctx: &Context,
    version: u64,
    target: &ApprovalTarget,
    approvers: &[String],
) -> Vec<String> {
    let registrant = ctx.versions.get(&version).map(|v| v.created_by.as_str());
    // Lowercased login -> the spelling first seen; sorted by the former.
    let mut counted: BTreeMap<String, &str> = BTreeMap::new();
    for approval in ctx.approvals {
        let who = approval.actor.as_str();
        if approval.version != version
            || &approval.target != target
            || who.is_empty()
            || is_requester(ctx, who)
            || registrant.is_some_and(|r| same_login(who, r))
        {
            continue;
        }
        let key = who.to_lowercase();
        if counted.contains_key(&key) {
            continue;
        }
        if approvers.iter().any(|entry| is_listed(ctx, entry, who)) {
            counted.insert(key, who);
        }
    }
    counted.into_values().map(str::to_owned).collect()
}

/// Approvals given for `target` of `version` that do not count, each with
/// why: the reviewer is the one asking, registered the version, or is not
/// listed. Shown beside the count so a refusal is never a mystery.
fn uncounted_approvers(
    ctx: &Context,
    version: u64,
    target: &ApprovalTarget,
    approvers: &[String],
) -> Vec<String> {
    let registrant = ctx.versions.get(&version).map(|v| v.created_by.as_str());
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for approval in ctx.approvals {
        let who = approval.actor.as_str();
        if approval.version != version || &approval.target != target || who.is_empty() {
            continue;
        }
        let why = if !same_login(who, ctx.actor) && is_requester(ctx, who) {
            "asked for this change"
        } else if is_requester(ctx, who) {
            if ctx.via_pull_request {
                "the pull request's author"
            } else {
                "the one promoting"
            }
        } else if registrant.is_some_and(|r| same_login(who, r)) {
            "registered this version"
        } else if !approvers.iter().any(|entry| is_listed(ctx, entry, who)) {
            "not an approver"
        } else {
            continue;
        };
        out.entry(who.to_lowercase())
            .or_insert_with(|| format!("{who} ({why})"));
    }
    out.into_values().collect()
}

/// Whether `who` asked for the change (and so cannot approve it).
fn is_requester(ctx: &Context, who: &str) -> bool {
    same_login(who, ctx.actor) || ctx.requested_by.iter().any(|r| same_login(who, r))
}

fn same_login(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Whether `user` is `entry` or a member of the team `entry`.
fn is_listed(ctx: &Context, entry: &str, user: &str) -> bool {
    match entry.strip_prefix('@') {
        Some(team) if team.contains('/') => (ctx.is_member)(user, entry),
        Some(login) => same_login(login, user),
        None => same_login(entry, user),
    }
}

/// Judges `request` against the policy: every rule that applies, in [`Rule`] order.
pub fn judge(ctx: &Context, request: &Request) -> Decision {
    let mut checks = match request {
        Request::Promote { version, stage } => assign(ctx, *version, stage, false),
        Request::Rollback { version, stage } => assign(ctx, *version, stage, true),
        Request::Demote { stage } => demote(ctx, stage),
        Request::SetAlias { alias, version } => set_alias(ctx, alias, *version),
        Request::RemoveAlias { alias } => vec![remove_alias(ctx, alias)],
    };
    // Stable: checks of one rule keep the configuration's order.
    checks.sort_by_key(|c| c.rule);
    debug_assert!(!checks.is_empty());
    Decision { checks }
}

/// The stage's configuration, if `name` is a declared stage.
fn declared<'c>(config: &'c Config, name: &str) -> Option<&'c StageConfig> {
    config.stage(name).filter(|s| s.name != "none")
}

/// A check whose message depends on whether it passed.
fn verdict(rule: Rule, passed: bool, yes: String, no: String) -> Check {
    Check::new(rule, passed, if passed { yes } else { no })
}

fn stage_check(config: &Config, stage: &str) -> Check {
    if declared(config, stage).is_some() {
        return pass(Rule::Stage, format!("stage {stage} is declared"));
    }
    if stage == "none" {
        return fail(
            Rule::Stage,
            "none (registered, in no stage) is not a stage to move a version to; use demote",
        );
    }
    let names: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    let known = match names.is_empty() {
        true => "none are declared".to_owned(),
        false => format!("declared: {}", names.join(", ")),
    };
    let known = match crate::suggest::did_you_mean(stage, names.iter().copied()) {
        Some(suggestion) => format!("{known}; {suggestion}"),
        None => known,
    };
    fail(
        Rule::Stage,
        format!("stage {stage} is not declared in regent.yaml ({known})"),
    )
}

fn exists_check(ctx: &Context, version: u64) -> Check {
    let exists = ctx.versions.contains_key(&version);
    verdict(
        Rule::Exists,
        exists,
        format!("version {version} exists"),
        format!("version {version} does not exist"),
    )
}

fn status_check(facts: &VersionFacts, version: u64, what: &str) -> Check {
    let status = facts.status.as_str();
    verdict(
        Rule::Status,
        facts.status == VersionStatus::Active,
        format!("version {version} is active"),
        format!("version {version} is {status}; deprecated and archived versions cannot be {what}"),
    )
}

fn direct_check(ctx: &Context, stage: &StageConfig) -> Option<Check> {
    let only = format!(
        "stage {} changes only through a pull request (direct: false)",
        stage.name
    );
    (stage.direct == Some(false)).then(|| {
        verdict(
            Rule::Direct,
            ctx.via_pull_request,
            format!("{only}; this is one"),
            format!("{only}; use --pr"),
        )
    })
}

/// Promotion (`rollback == false`) or rollback of `version` to `stage`.
fn assign(ctx: &Context, version: u64, stage: &str, rollback: bool) -> Vec<Check> {
    let exists = exists_check(ctx, version);
    let Some(facts) = ctx.versions.get(&version) else {
        return vec![exists];
    };
    let Some(config) = declared(ctx.config, stage) else {
        return vec![exists, stage_check(ctx.config, stage)];
    };
    let what = if rollback {
        "rolled back to"
    } else {
        "promoted"
    };
    let status = status_check(facts, version, what);
    let mut out = vec![exists, stage_check(ctx.config, stage), status];

    if rollback {
        out.push(verdict(
            Rule::Requires,
            ctx.held.contains(&(stage.to_owned(), version)),
            format!("version {version} held {stage} before"),
            format!("version {version} has never held {stage}; a rollback returns to an earlier holder (promote it instead)"),
        ));
    } else {
        out.extend(config.requires.iter().map(|required| {
            verdict(
                Rule::Requires,
                ctx.held.contains(&(required.clone(), version)),
                format!("version {version} has held {required}"),
                format!("version {version} has never been in {required}"),
            )
        }));
    }

    let current = ctx.model.stages.get(stage).copied();
    let holder = current.map(|v| (v, ctx.versions.get(&v)));
    for gate in &config.gates {
        gate_checks(gate, version, facts, stage, holder, rollback, &mut out);
    }

    let mut required = config.approvals.unwrap_or(0);
    if rollback && let Some(n) = config.rollback.as_ref().and_then(|r| r.approvals) {
        required = n;
    }
    if required > 0 {
        let target = ApprovalTarget::Stage(stage.to_owned());
        out.push(approvals_check(
            ctx,
            version,
            &target,
            required,
            &config.approvers,
        ));
    }
    out.extend(direct_check(ctx, config));
    out.push(match current {
        Some(v) if v == version => fail(
            Rule::NoChange,
            format!("version {version} is already in {stage}; nothing to do"),
        ),
        Some(v) if rollback => pass(
            Rule::NoChange,
            format!("{stage} rolls back from v{v} to v{version}"),
        ),
        Some(v) => pass(
            Rule::NoChange,
            format!("{stage} moves from v{v} to v{version}"),
        ),
        None => pass(
            Rule::NoChange,
            format!("{stage} is empty; v{version} moves in"),
        ),
    });
    out
}

fn demote(ctx: &Context, stage: &str) -> Vec<Check> {
    let mut out = vec![stage_check(ctx.config, stage)];
    let Some(config) = declared(ctx.config, stage) else {
        return out;
    };
    out.extend(direct_check(ctx, config));
    out.push(match ctx.model.stages.get(stage) {
        Some(v) => pass(Rule::NoChange, format!("v{v} leaves {stage}")),
        None => fail(
            Rule::NoChange,
            format!("stage {stage} is empty; nothing to demote"),
        ),
    });
    out
}

fn set_alias(ctx: &Context, alias: &str, version: u64) -> Vec<Check> {
    let exists = exists_check(ctx, version);
    let Some(facts) = ctx.versions.get(&version) else {
        return vec![exists];
    };
    let mut out = vec![exists, status_check(facts, version, "given an alias")];
    if let Some(policy) = ctx.config.aliases.get(alias)
        && let Some(required) = policy.approvals.filter(|n| *n > 0)
    {
        let target = ApprovalTarget::Alias(alias.to_owned());
        out.push(approvals_check(
            ctx,
            version,
            &target,
            required,
            &policy.approvers,
        ));
    }

    let model = &ctx.model.name;
    out.push(if let Err(e) = names::check(NameKind::Alias, alias) {
        fail(Rule::Alias, e.to_string())
    } else if alias == "none" || ctx.config.stage(alias).is_some() {
        fail(
            Rule::Alias,
            format!("alias {alias} has the name of a stage; models:/{model}@{alias} and models:/{model}/{alias} would be confused"),
        )
    } else {
        pass(Rule::Alias, format!("alias {alias} is not a stage name"))
    });

    out.push(match ctx.model.aliases.get(alias) {
        Some(v) if *v == version => fail(
            Rule::NoChange,
            format!("alias {alias} already names v{version}; nothing to do"),
        ),
        Some(v) => pass(
            Rule::NoChange,
            format!("alias {alias} moves from v{v} to v{version}"),
        ),
        None => pass(
            Rule::NoChange,
            format!("alias {alias} is new; it names v{version}"),
        ),
    });
    out
}

fn remove_alias(ctx: &Context, alias: &str) -> Check {
    match ctx.model.aliases.get(alias) {
        Some(v) => pass(Rule::NoChange, format!("alias {alias} (v{v}) is removed")),
        None => fail(
            Rule::NoChange,
            format!("alias {alias} does not exist; nothing to remove"),
        ),
    }
}

fn approvals_check(
    ctx: &Context,
    version: u64,
    target: &ApprovalTarget,
    required: u32,
    approvers: &[String],
) -> Check {
    let counted = counting_approvers(ctx, version, target, approvers);
    let (n, required, names) = (counted.len(), required as usize, counted.join(", "));
    let mut message = match n.cmp(&required) {
        Ordering::Equal => format!("{n} of {required} approvals: {names}"),
        Ordering::Greater => format!("{n} approvals ({required} required): {names}"),
        Ordering::Less if approvers.is_empty() => {
            format!("{n} of {required} approvals; approvers: none listed, so nobody can approve")
        }
        Ordering::Less if n == 0 => {
            format!(
                "0 of {required} approvals; approvers: {}",
                approvers.join(", ")
            )
        }
        Ordering::Less => format!(
            "{n} of {required} approvals ({names}); approvers: {}",
            approvers.join(", ")
        ),
    };
    let uncounted = uncounted_approvers(ctx, version, target, approvers);
    if n < required && !uncounted.is_empty() {
        message.push_str(&format!("; not counted: {}", uncounted.join(", ")));
    }
    Check::new(Rule::Approvals, n >= required, message)
}

/// The checks of one gate, one per bound (`min`, `max`, `max_regression`), on
/// version `version` going to `stage`, whose holder is `holder` (its number, and
/// its facts if known).
fn gate_checks(
    gate: &Gate,
    version: u64,
    facts: &VersionFacts,
    stage: &str,
    holder: Option<(u64, Option<&VersionFacts>)>,
    rollback: bool,
    out: &mut Vec<Check>,
) {
    let metric = gate.metric.as_str();
    let value = facts.metrics.get(metric).copied();
    let bounds = [
        ("min", gate.min),
        ("max", gate.max),
        ("max_regression", gate.max_regression),
    ];
    let unusable = |bound: &str| match value {
        None => Some(fail(
            Rule::Gate,
            format!("metric `{metric}` is missing from version {version} ({bound})"),
        )),
        Some(x) if x.is_nan() => Some(fail(
            Rule::Gate,
            format!("metric `{metric}` of version {version} is not a number ({bound})"),
        )),
        Some(_) => None,
    };
    if bounds.iter().all(|(_, limit)| limit.is_none()) {
        let recorded = || pass(Rule::Gate, format!("metric `{metric}` is recorded"));
        out.push(unusable("gate with no bound").unwrap_or_else(recorded));
    }
    for (kind, limit) in bounds {
        let Some(limit) = limit else { continue };
        let bound = format!("{kind} {}", Num(limit));
        if kind == "max_regression" && rollback {
            out.push(pass(
                Rule::Gate,
                format!("{metric} {bound}: not applied to a rollback"),
            ));
            continue;
        }
        let x = value.unwrap_or_default();
        out.push(unusable(&bound).unwrap_or_else(|| match kind {
            "min" => verdict(
                Rule::Gate,
                x >= limit,
                format!("{metric} {} >= {} (min)", Num(x), Num(limit)),
                format!("{metric} {} < {} (min)", Num(x), Num(limit)),
            ),
            "max" => verdict(
                Rule::Gate,
                x <= limit,
                format!("{metric} {} <= {} (max)", Num(x), Num(limit)),
                format!("{metric} {} > {} (max)", Num(x), Num(limit)),
            ),
            _ => regression_check(gate, x, limit, &bound, stage, holder),
        }));
    }
}

/// `max_regression: allowed` of `gate` for a candidate value `x`.
fn regression_check(
    gate: &Gate,
    x: f64,
    allowed: f64,
    bound: &str,
    stage: &str,
    holder: Option<(u64, Option<&VersionFacts>)>,
) -> Check {
    let metric = gate.metric.as_str();
    let skip = |why: String| pass(Rule::Gate, format!("{metric} {bound}: {why}"));
    let Some((h, holder_facts)) = holder else {
        return skip(format!("{stage} is empty, nothing to compare with"));
    };
    let Some(facts) = holder_facts else {
        return skip(format!(
            "v{h} (in {stage}) is not a known version, nothing to compare with"
        ));
    };
    let old = match facts.metrics.get(metric) {
        Some(old) if !old.is_nan() => *old,
        Some(_) => return skip(format!("`{metric}` of v{h} (in {stage}) is not a number")),
        None => {
            return skip(format!(
                "v{h} (in {stage}) has no `{metric}`, nothing to compare with"
            ));
        }
    };
    let higher_is_better = gate.higher_is_better.unwrap_or(true);
    let (worse, verb, direction) = match higher_is_better {
        true => (round(old - x), "dropped", "higher is better"),
        false => (round(x - old), "rose", "lower is better"),
    };
    let change = format!("from v{h} ({} → {})", Num(old), Num(x));
    if worse <= 0.0 && worse <= allowed {
        return skip(format!("no regression {change}; {direction}"));
    }
    let (worse, allowed_n) = (Num(worse), Num(allowed));
    verdict(
        Rule::Gate,
        worse.0 <= allowed,
        format!("{metric} {verb} {worse} {change}, within {allowed_n} allowed"),
        format!("{metric} {verb} {worse} {change}, more than {allowed_n} allowed"),
    )
}

/// `x` rounded to 12 significant digits: float noise (`0.93 - 0.91`) removed.
fn round(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// A number as shown in messages: shortest form, without float noise.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", round(self.0))
    }
}
