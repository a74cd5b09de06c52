//! The events that record rather than move: tags, descriptions, status
//! changes and approvals. None moves a stage or alias, so none is judged by
//! the policy; each still refuses what makes no sense (nothing to change, a
//! final status, approving one's own version).

use super::{Actor, Plan, PlanError, State, yaml};
use crate::events::{Event, EventKind};
use crate::policy::ApprovalTarget;
use crate::registry::{Layout, VersionStatus};
use crate::workspace::Change;
use std::collections::BTreeMap;

fn apply_tags(
    tags: &mut BTreeMap<String, String>,
    set: &[(String, String)],
    remove: &[String],
) -> Result<(), PlanError> {
    for key in remove {
        if tags.remove(key).is_none() {
            return Err(PlanError::No(format!("there is no tag `{key}` to remove")));
        }
    }
    for (key, value) in set {
        tags.insert(key.clone(), value.clone());
    }
    Ok(())
}

pub(super) fn retag(
    state: &mut State<'_, '_>,
    version: Option<u64>,
    set: &[(String, String)],
    remove: &[String],
) -> Result<Plan, PlanError> {
    let model = state.name();
    let mut event = Event::new(EventKind::Tag).model(&model);
    let change = match version {
        None => {
            let before = state.model.tags.clone();
            apply_tags(&mut state.model.tags, set, remove)?;
            if before == state.model.tags {
                return Err(PlanError::No(
                    "the tags are already so; nothing to change".into(),
                ));
            }
            state.model_change()?
        }
        Some(v) => {
            event.version = Some(v);
            let mut file = state.version(v)?;
            let before = file.tags.clone();
            apply_tags(&mut file.tags, set, remove)?;
            if before == file.tags {
                return Err(PlanError::No(
                    "the tags are already so; nothing to change".into(),
                ));
            }
            Change {
                path: Layout::version(&model, v),
                content: Some(yaml("version", &file)?),
            }
        }
    };
    Ok(Plan {
        event,
        changes: vec![change],
        tags: Vec::new(),
        decision: None,
    })
}

pub(super) fn describe(
    state: &mut State<'_, '_>,
    version: Option<u64>,
    text: &str,
) -> Result<Plan, PlanError> {
    let model = state.name();
    let mut event = Event::new(EventKind::Describe).model(&model);
    let text = (!text.trim().is_empty()).then(|| text.to_owned());
    let change = match version {
        None => {
            if state.model.description == text {
                return Err(PlanError::No(
                    "the description is already so; nothing to change".into(),
                ));
            }
            state.model.description = text;
            state.model_change()?
        }
        Some(v) => {
            event.version = Some(v);
            let mut file = state.version(v)?;
            if file.description == text {
                return Err(PlanError::No(
                    "the description is already so; nothing to change".into(),
                ));
            }
            file.description = text;
            Change {
                path: Layout::version(&model, v),
                content: Some(yaml("version", &file)?),
            }
        }
    };
    Ok(Plan {
        event,
        changes: vec![change],
        tags: Vec::new(),
        decision: None,
    })
}

pub(super) fn set_status(
    state: &mut State<'_, '_>,
    version: u64,
    status: VersionStatus,
    reason: Option<String>,
) -> Result<Plan, PlanError> {
    let model = state.name();
    let mut file = state.version(version)?;
    if file.status == status {
        return Err(PlanError::No(format!(
            "{model} v{version} is already {}",
            status.as_str()
        )));
    }
    if file.status == VersionStatus::Archived {
        return Err(PlanError::No(format!(
            "{model} v{version} is archived; archiving is final"
        )));
    }
    if status == VersionStatus::Archived {
        let holding: Vec<String> = state
            .model
            .stages
            .iter()
            .filter(|(_, v)| **v == version)
            .map(|(s, _)| s.clone())
            .chain(
                state
                    .model
                    .aliases
                    .iter()
                    .filter(|(_, v)| **v == version)
                    .map(|(a, _)| format!("@{a}")),
            )
            .collect();
        if !holding.is_empty() {
            return Err(PlanError::No(format!(
                "{model} v{version} is still in {}; demote it or move the aliases first",
                holding.join(", ")
            )));
        }
    }
    file.status = status;
    // Archiving a deprecated version without a new reason keeps the old
    // one: the audit should still say why it was taken out of service.
    if reason.is_some() {
        file.status_reason = reason;
    }
    let kind = if status == VersionStatus::Archived {
        EventKind::Archive
    } else {
        EventKind::Deprecate
    };
    Ok(Plan {
        event: Event::new(kind).model(&model).version(version),
        changes: vec![Change {
            path: Layout::version(&model, version),
            content: Some(yaml("version", &file)?),
        }],
        tags: Vec::new(),
        decision: None,
    })
}

pub(super) fn approve(
    state: &mut State<'_, '_>,
    version: u64,
    target: &ApprovalTarget,
    actor: &Actor<'_>,
) -> Result<Plan, PlanError> {
    let model = state.name();
    let file = state.version(version)?;
    if file.status != VersionStatus::Active {
        return Err(PlanError::No(format!(
            "{model} v{version} is {}; only active versions can be approved",
            file.status.as_str()
        )));
    }
    let (approvers, what) = match target {
        ApprovalTarget::Stage(stage) => {
            let config = state.config.stage(stage).ok_or_else(|| {
                let declared = state.config.stages.iter().map(|s| s.name.as_str());
                PlanError::Invalid(match crate::suggest::did_you_mean(stage, declared) {
                    Some(s) => format!("`{stage}` is not a stage declared in regent.yaml; {s}"),
                    None => format!("`{stage}` is not a stage declared in regent.yaml"),
                })
            })?;
            (config.approvers.clone(), format!("stage {stage}"))
        }
        ApprovalTarget::Alias(alias) => {
            let policy = state.config.aliases.get(alias).ok_or_else(|| {
                PlanError::No(format!(
                    "alias `{alias}` is not protected; it needs no approval"
                ))
            })?;
            (policy.approvers.clone(), format!("alias {alias}"))
        }
    };
    if actor.name.eq_ignore_ascii_case(&file.created_by) {
        return Err(PlanError::No(format!(
            "{} registered {model} v{version} and cannot approve it",
            actor.name
        )));
    }
    let listed = approvers.iter().any(|a| a.eq_ignore_ascii_case(actor.name));
    let teams = approvers.iter().any(|a| a.starts_with('@'));
    if !listed && !teams {
        return Err(PlanError::No(format!(
            "{} is not an approver of {what} (approvers: {})",
            actor.name,
            if approvers.is_empty() {
                "none".to_owned()
            } else {
                approvers.join(", ")
            }
        )));
    }
    let already = state
        .facts()?
        .approvals_for(version)
        .iter()
        .any(|a| &a.target == target && a.actor.eq_ignore_ascii_case(actor.name));
    if already {
        return Err(PlanError::No(format!(
            "{} has already approved {model} v{version} for {what}",
            actor.name
        )));
    }
    let mut event = Event::new(EventKind::Approve)
        .model(&model)
        .version(version);
    match target {
        ApprovalTarget::Stage(s) => event.stage = Some(s.clone()),
        ApprovalTarget::Alias(a) => event.alias = Some(a.clone()),
    }
    // An approval changes no file: the commit and its trailers are the record.
    Ok(Plan {
        event,
        changes: Vec::new(),
        tags: Vec::new(),
        decision: None,
    })
}
