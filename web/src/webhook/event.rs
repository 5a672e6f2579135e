//! The parts of GitHub's `issue_comment` and `pull_request` payloads the webhook reads (GitHub's
//! field names).

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

/// A `pull_request` event.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestEvent {
    /// `opened`, `labeled`, `unlabeled`, `closed`, `synchronize`, …
    pub action: String,
    /// The PR number.
    pub number: u64,
    /// The PR.
    pub pull_request: PullRequest,
    /// The label added or removed (`labeled`, `unlabeled`).
    #[serde(default)]
    pub label: Option<Label>,
    /// Who did it.
    pub sender: User,
    /// The repository.
    pub repository: Repository,
}

/// The parts of a pull request read here.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    /// Its head.
    pub head: Head,
}

/// A PR's head.
#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    /// The head commit.
    pub sha: String,
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// Its name.
    pub name: String,
}

/// What a `pull_request` event asks of the previews of its PR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullRequestIntent {
    /// The preview label was added.
    Start,
    /// The label was removed or the PR closed.
    Stop,
    /// New commits were pushed.
    Pushed,
    /// Nothing for us.
    Ignore,
}

impl PullRequestEvent {
    /// What this event asks, with `label` the configured preview label (matched as GitHub
    /// shows labels: case-insensitively).
    pub fn intent(&self, label: &str) -> PullRequestIntent {
        let ours = self
            .label
            .as_ref()
            .is_some_and(|l| l.name.eq_ignore_ascii_case(label));
        match self.action.as_str() {
            "labeled" if ours => PullRequestIntent::Start,
            "unlabeled" if ours => PullRequestIntent::Stop,
            "closed" => PullRequestIntent::Stop,
            "synchronize" => PullRequestIntent::Pushed,
            _ => PullRequestIntent::Ignore,
        }
    }
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

    fn pull_request(action: &str, label: Option<&str>) -> PullRequestEvent {
        let label = label
            .map(|l| format!(r#","label":{{"name":"{l}","color":"ededed"}}"#))
            .unwrap_or_default();
        serde_json::from_str(&format!(
            r#"{{"action":"{action}","number":7,"pull_request":{{"number":7,"head":{{"sha":"abc","ref":"x"}}}}{label},
               "sender":{{"login":"alice"}},"repository":{{"full_name":"DSpace/DSpace"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn pull_request_actions_say_what_to_do() {
        use PullRequestIntent::*;
        assert_eq!(
            pull_request("labeled", Some("Preview")).intent("preview"),
            Start
        );
        assert_eq!(
            pull_request("labeled", Some("bug")).intent("preview"),
            Ignore
        );
        assert_eq!(
            pull_request("unlabeled", Some("preview")).intent("preview"),
            Stop
        );
        assert_eq!(pull_request("closed", None).intent("preview"), Stop);
        assert_eq!(pull_request("synchronize", None).intent("preview"), Pushed);
        assert_eq!(pull_request("opened", None).intent("preview"), Ignore);
        assert_eq!(pull_request("closed", None).pull_request.head.sha, "abc");
    }
}
