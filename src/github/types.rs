//! The values regent reads from GitHub, and the wire shapes they are read from.
//!
//! The wire structs name only the fields regent uses; serde ignores the rest of GitHub's
//! (large) payloads. A deleted account comes back as `"user": null`, shown as `ghost`
//! like GitHub's web UI does.

use serde::Deserialize;

/// A pull request, reduced to what regent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    /// The commit the PR's head branch points at.
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    /// Login of the PR's author.
    pub author: String,
    /// `open` or `closed`.
    pub state: String,
    pub title: String,
    /// When it was merged (RFC 3339); None while unmerged.
    pub merged_at: Option<String>,
}

/// One review of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub user: String,
    /// APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING.
    pub state: String,
    /// The head commit the review was given for.
    pub commit_id: String,
    /// RFC 3339; `None` for a pending review.
    pub submitted_at: Option<String>,
}

/// What [`super::Client::upsert_comment`] did, with the comment's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOutcome {
    Created(u64),
    Updated(u64),
    Unchanged(u64),
}

const GHOST: &str = "ghost";

#[derive(Debug, Deserialize)]
pub(super) struct WireUser {
    pub login: String,
}

fn login(user: Option<WireUser>) -> String {
    user.map_or_else(|| GHOST.to_owned(), |u| u.login)
}

#[derive(Debug, Deserialize)]
pub(super) struct WireRef {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WirePull {
    pub number: u64,
    pub html_url: String,
    pub state: String,
    pub title: String,
    pub user: Option<WireUser>,
    pub head: WireRef,
    pub base: WireRef,
    #[serde(default)]
    pub merged_at: Option<String>,
}

impl From<WirePull> for PullRequest {
    fn from(p: WirePull) -> PullRequest {
        PullRequest {
            number: p.number,
            html_url: p.html_url,
            head_sha: p.head.sha,
            head_ref: p.head.name,
            base_ref: p.base.name,
            author: login(p.user),
            state: p.state,
            title: p.title,
            merged_at: p.merged_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WireReview {
    pub id: u64,
    pub user: Option<WireUser>,
    pub state: String,
    // Null for reviews on commits GitHub no longer has.
    pub commit_id: Option<String>,
    pub submitted_at: Option<String>,
}

impl From<WireReview> for Review {
    fn from(r: WireReview) -> Review {
        Review {
            id: r.id,
            user: login(r.user),
            state: r.state,
            commit_id: r.commit_id.unwrap_or_default(),
            submitted_at: r.submitted_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WireMember {
    pub login: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireComment {
    pub id: u64,
    pub body: Option<String>,
}
