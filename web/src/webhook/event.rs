//! The parts of GitHub's `issue_comment` payload the webhook reads (GitHub's field names).

use serde::de::IgnoredAny;
use serde::Deserialize;

/// An `issue_comment` event.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueCommentEvent {
    /// `created`, `edited` or `deleted`; only `created` is acted on.
    pub action: String,
    /// The issue or pull request commented on.
    pub issue: Issue,
    /// The comment.
    pub comment: Comment,
    /// Who wrote the comment.
    pub sender: User,
    /// The repository.
    pub repository: Repository,
}

/// An issue; pull requests are issues that carry `pull_request`.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    /// The issue or PR number.
    pub number: u64,
    /// Present on pull requests only (its content is not read).
    #[serde(default)]
    pub pull_request: Option<IgnoredAny>,
}

/// A comment.
#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    /// Its Markdown text.
    #[serde(default)]
    pub body: String,
}

/// A GitHub account.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// The login.
    pub login: String,
}

/// A repository.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
}

impl IssueCommentEvent {
    /// True for a new comment on a pull request (not on an issue, not an edit).
    pub fn is_new_pr_comment(&self) -> bool {
        self.action == "created" && self.issue.pull_request.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pull_request: &str) -> IssueCommentEvent {
        serde_json::from_str(&format!(
            r#"{{"action":"created","issue":{{"number":7,"title":"t"{pull_request}}},
               "comment":{{"id":1,"body":"/preview"}},"sender":{{"login":"alice","id":2}},
               "repository":{{"full_name":"DSpace/DSpace","private":false}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn pull_requests_are_told_from_issues() {
        let pr = event(
            r#","pull_request":{"url":"https://api.github.com/repos/DSpace/DSpace/pulls/7"}"#,
        );
        assert!(pr.is_new_pr_comment());
        assert_eq!(pr.issue.number, 7);
        assert_eq!(pr.sender.login, "alice");
        assert!(!event("").is_new_pr_comment());
        assert!(!event(r#","pull_request":null"#).is_new_pr_comment());
    }
}
