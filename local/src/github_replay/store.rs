//! What is written to the replay while it runs (comments, deployments, OAuth codes and tokens),
//! and the user objects it answers with.

use std::collections::HashMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::BOT_LOGIN;

/// The in-memory state of one replay.
#[derive(Debug, Default)]
pub(super) struct Store {
    last_id: u64,
    /// Every comment, oldest first.
    pub comments: Vec<Comment>,
    /// Every deployment, oldest first.
    pub deployments: Vec<Deployment>,
    /// One-time OAuth codes not yet exchanged.
    pub codes: HashMap<String, Grant>,
    /// Access token → login.
    pub tokens: HashMap<String, String>,
}

/// A comment on an issue or PR.
#[derive(Debug)]
pub(super) struct Comment {
    /// Lowercased `owner/repo`.
    pub repo: String,
    /// The issue or PR number.
    pub number: u64,
    /// GitHub's comment object.
    pub value: Value,
}

/// A deployment and its statuses.
#[derive(Debug)]
pub(super) struct Deployment {
    /// Lowercased `owner/repo`.
    pub repo: String,
    /// GitHub's deployment object.
    pub value: Value,
    /// GitHub's deployment-status objects, oldest first.
    pub statuses: Vec<Value>,
}

/// What a one-time OAuth code stands for.
#[derive(Clone, Debug)]
pub(super) struct Grant {
    /// Who signed in.
    pub login: String,
    /// The app that asked.
    pub client_id: String,
    /// Where the code was sent.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scope: String,
}

impl Store {
    /// A new id, unique in this replay.
    pub fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        // Real ids are large; tests that confuse an id with a PR number should fail.
        1_000_000_000 + self.last_id
    }

    /// The comments on one issue, oldest first.
    pub fn comments_on(&self, repo: &str, number: u64) -> Vec<Value> {
        self.comments
            .iter()
            .filter(|c| c.repo == repo && c.number == number)
            .map(|c| c.value.clone())
            .collect()
    }

    /// A repository's deployments, newest first, each with its statuses, newest first.
    pub fn deployments_of(&self, repo: &str) -> Vec<(Value, Vec<Value>)> {
        self.deployments
            .iter()
            .rev()
            .filter(|d| d.repo == repo)
            .map(|d| (d.value.clone(), d.statuses.iter().rev().cloned().collect()))
            .collect()
    }

    /// A deployment of `repo` by id.
    pub fn deployment(&mut self, repo: &str, id: u64) -> Option<&mut Deployment> {
        self.deployments
            .iter_mut()
            .find(|d| d.repo == repo && d.value["id"].as_u64() == Some(id))
    }
}

/// A stable made-up numeric id for a login (GitHub's are stable too).
pub(super) fn user_id(login: &str) -> u64 {
    let digest = Sha256::digest(login.to_lowercase().as_bytes());
    digest
        .iter()
        .take(3)
        .fold(1_000_000, |n, b| n * 256 + u64::from(*b))
}

/// GitHub's simple user object for `login`.
pub(super) fn user(login: &str) -> Value {
    let id = user_id(login);
    if login == BOT_LOGIN {
        return json!({
            "login": login,
            "id": id,
            "node_id": format!("BOT_{id}"),
            "avatar_url": format!("https://avatars.githubusercontent.com/in/{id}?v=4"),
            "html_url": "https://github.com/apps/dspace-preview",
            "type": "Bot",
            "site_admin": false,
        });
    }
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "html_url": format!("https://github.com/{login}"),
        "type": "User",
        "site_admin": false,
    })
}
