//! Which pull-request reviews count as approvals, and why the others do
//! not: the same reading for the verdict and for the report.

use std::collections::BTreeMap;

/// A review as the gate needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFacts {
    pub id: u64,
    pub user: String,
    pub state: String,
    pub commit_id: String,
}

/// The pull request being judged.
#[derive(Debug, Clone)]
pub struct PullRequestFacts {
    pub number: u64,
    pub author: String,
    pub head_sha: String,
    pub reviews: Vec<ReviewFacts>,
}

/// Reviewers whose approval counts: the latest state-changing review of each
/// reviewer (comments and pending reviews change nothing, as on GitHub) is
/// `APPROVED`, was given for the current head commit, and is not by the
/// author. Sorted, lower-cased logins.
pub fn valid_approvers(pr: &PullRequestFacts) -> Vec<String> {
    latest_reviews(pr)
        .into_iter()
        .filter(|(user, (review, _))| not_counted(pr, user, review).is_none())
        .map(|(user, _)| user)
        .collect()
}

/// Why each reviewer who approved at some point has no approval that counts
/// (their own pull request, a later push, withdrawn, dismissed), so the
/// report accounts for every approval it ignored.
pub fn ignored_approvals(pr: &PullRequestFacts) -> Vec<String> {
    latest_reviews(pr)
        .into_iter()
        .filter(|(_, (_, ever_approved))| *ever_approved)
        .filter_map(|(user, (review, _))| not_counted(pr, &user, review))
        .collect()
}

/// Each reviewer's latest state-changing review, by lower-cased login, and
/// whether any of their reviews approved.
fn latest_reviews(pr: &PullRequestFacts) -> BTreeMap<String, (&ReviewFacts, bool)> {
    let mut reviews: Vec<&ReviewFacts> = pr.reviews.iter().collect();
    reviews.sort_by_key(|r| r.id);
    let mut latest: BTreeMap<String, (&ReviewFacts, bool)> = BTreeMap::new();
    for review in reviews {
        if matches!(review.state.as_str(), "COMMENTED" | "PENDING") {
            continue;
        }
        let entry = latest
            .entry(review.user.to_lowercase())
            .or_insert((review, false));
        entry.0 = review;
        entry.1 |= review.state == "APPROVED";
    }
    latest
}

/// Why `user`'s latest review gives no approval that counts; None when it
/// does. (A later non-approving review is read as withdrawing an earlier
/// approval: callers that report it keep only reviewers who approved.)
fn not_counted(pr: &PullRequestFacts, user: &str, review: &ReviewFacts) -> Option<String> {
    let who = &review.user;
    let short = |sha: &str| sha.chars().take(7).collect::<String>();
    Some(match review.state.as_str() {
        "APPROVED" if user == pr.author.to_lowercase() => {
            format!("{who} wrote the pull request and cannot approve it")
        }
        "APPROVED" if review.commit_id != pr.head_sha => format!(
            "{who} approved {}, but the head is now {}: commits pushed after an approval need a new one",
            short(&review.commit_id),
            short(&pr.head_sha)
        ),
        "APPROVED" => return None,
        "DISMISSED" => format!("{who}'s approval was dismissed"),
        _ => format!("{who} requested changes after approving"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: u64, user: &str, state: &str, commit: &str) -> ReviewFacts {
        ReviewFacts {
            id,
            user: user.into(),
            state: state.into(),
            commit_id: commit.into(),
        }
    }

    #[test]
    fn only_current_approvals_by_others_count() {
        let pr = PullRequestFacts {
            number: 1,
            author: "Alice".into(),
            head_sha: "head".into(),
            reviews: vec![
                review(1, "bob", "APPROVED", "head"),
                review(2, "carol", "APPROVED", "old"),  // stale
                review(3, "alice", "APPROVED", "head"), // the author
                review(4, "dave", "APPROVED", "head"),
                review(5, "dave", "CHANGES_REQUESTED", "head"), // changed their mind
                review(6, "erin", "APPROVED", "head"),
                review(7, "erin", "DISMISSED", "head"), // dismissed
                review(8, "bob", "COMMENTED", "head"),  // a comment changes nothing
                review(9, "Frank", "APPROVED", "head"),
            ],
        };
        assert_eq!(valid_approvers(&pr), ["bob", "frank"]);
    }
}
