//! Reading the recordings: repositories (pulls, branches, permissions), organizations (members,
//! teams) and people's names.

use std::collections::HashMap;
use std::io::{Error, ErrorKind};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Everything recorded under a fixtures folder. Keys are lowercased: GitHub's names and logins
/// are case-insensitive.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    /// `owner/repo` → what is recorded of it.
    pub repos: HashMap<String, Repo>,
    /// Organization login → its members and teams.
    pub orgs: HashMap<String, Org>,
    /// Login → display name, for `/user`.
    pub names: HashMap<String, String>,
}

impl Recorded {
    /// A recorded repository by its (any-case) owner and name.
    pub fn repo(&self, owner: &str, repo: &str) -> Option<&Repo> {
        self.repos.get(&format!("{owner}/{repo}").to_lowercase())
    }

    /// A recorded pull request, by its number as written in a path.
    pub fn pull(&self, owner: &str, repo: &str, number: &str) -> Option<&Value> {
        let number = number.parse::<u64>().ok()?;
        self.repo(owner, repo)?
            .pulls
            .iter()
            .find(|p| p["number"].as_u64() == Some(number))
    }

    /// The commit a ref names: a full sha as is, a recorded branch (`main`,
    /// `refs/heads/main`), a recorded PR's head branch or `refs/pull/{n}/head`.
    pub fn sha_of(&self, owner: &str, repo: &str, git_ref: &str) -> Option<String> {
        if git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(git_ref.to_lowercase());
        }
        let recorded = self.repo(owner, repo)?;
        let name = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
        let branch = recorded
            .branches
            .iter()
            .find(|b| b["name"].as_str() == Some(name))
            .map(|b| &b["commit"]["sha"]);
        let pull = || {
            let number = git_ref
                .strip_prefix("refs/pull/")
                .and_then(|r| r.strip_suffix("/head"))
                .and_then(|n| n.parse::<u64>().ok());
            recorded
                .pulls
                .iter()
                .find(|p| p["number"].as_u64() == number || p["head"]["ref"].as_str() == Some(name))
                .map(|p| &p["head"]["sha"])
        };
        branch.or_else(pull)?.as_str().map(str::to_string)
    }
}

/// One recorded repository.
#[derive(Debug, Default)]
pub(super) struct Repo {
    /// GitHub's pull-request objects, any order, any state.
    pub pulls: Vec<Value>,
    /// GitHub's branch objects, in the order listed.
    pub branches: Vec<Value>,
    /// Lowercased login → role name (`admin`, `maintain`, `write`, `triage`, `read`).
    pub roles: HashMap<String, String>,
}

/// One recorded organization.
#[derive(Debug, Default)]
pub(super) struct Org {
    /// Lowercased logins of its members.
    pub members: Vec<String>,
    /// Lowercased team slug → lowercased logins of its members.
    pub teams: HashMap<String, Vec<String>>,
}

/// The role names GitHub knows, for checking `permissions.json`.
pub(super) const ROLES: [&str; 5] = ["admin", "maintain", "write", "triage", "read"];

/// Every recording under `fixtures`; at least one repository must be there.
pub(super) fn load(fixtures: &Path) -> std::io::Result<Recorded> {
    let root = fixtures.join("repos");
    let mut recorded = Recorded::default();
    let owners = std::fs::read_dir(&root).map_err(|e| {
        Error::new(
            e.kind(),
            format!("no recorded repositories in {}: {e}", root.display()),
        )
    })?;
    for owner in owners {
        let owner = owner?;
        if !owner.file_type()?.is_dir() {
            continue;
        }
        for repo in std::fs::read_dir(owner.path())? {
            let dir = repo?.path();
            if let Some(repo) = load_repo(&dir)? {
                let name = format!("{}/{}", file_name(&owner.path()), file_name(&dir));
                recorded.repos.insert(name.to_lowercase(), repo);
            }
        }
    }
    if recorded.repos.is_empty() {
        return Err(invalid(&root, "no repos/{owner}/{repo}/*.json"));
    }
    recorded.orgs = load_orgs(&fixtures.join("orgs"))?;
    recorded.names = read_optional::<HashMap<String, String>>(&fixtures.join("users.json"))?
        .unwrap_or_default()
        .into_iter()
        .map(|(login, name)| (login.to_lowercase(), name))
        .collect();
    Ok(recorded)
}

/// A repository folder's recordings, or `None` when it holds none.
fn load_repo(dir: &Path) -> std::io::Result<Option<Repo>> {
    let pulls = read_optional::<Vec<Value>>(&dir.join("pulls.json"))?;
    let branches = read_optional::<Vec<Value>>(&dir.join("branches.json"))?;
    let roles = read_optional::<HashMap<String, String>>(&dir.join("permissions.json"))?;
    if pulls.is_none() && branches.is_none() && roles.is_none() {
        return Ok(None);
    }
    let repo = Repo {
        pulls: pulls.unwrap_or_default(),
        branches: branches.unwrap_or_default(),
        roles: lowercase_keys(roles.unwrap_or_default()),
    };
    if repo.pulls.iter().any(|p| p["number"].as_u64().is_none()) {
        return Err(invalid(
            &dir.join("pulls.json"),
            "a pull request without a number",
        ));
    }
    if repo
        .branches
        .iter()
        .any(|b| b["name"].as_str().is_none() || b["commit"]["sha"].as_str().is_none())
    {
        return Err(invalid(
            &dir.join("branches.json"),
            "a branch without a name or commit.sha",
        ));
    }
    if let Some(role) = repo.roles.values().find(|r| !ROLES.contains(&r.as_str())) {
        return Err(invalid(
            &dir.join("permissions.json"),
            &format!("unknown role '{role}' (one of {})", ROLES.join(", ")),
        ));
    }
    Ok(Some(repo))
}

/// `orgs/{org}/members.json` and `orgs/{org}/teams/{slug}.json`, if there are any.
fn load_orgs(root: &Path) -> std::io::Result<HashMap<String, Org>> {
    let mut orgs = HashMap::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(orgs);
    };
    for entry in entries {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        let members = read_optional::<Vec<String>>(&dir.join("members.json"))?.unwrap_or_default();
        let mut org = Org {
            members: lowercase(members),
            teams: HashMap::new(),
        };
        if let Ok(teams) = std::fs::read_dir(dir.join("teams")) {
            for team in teams {
                let path = team?.path();
                let Some(slug) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                else {
                    continue;
                };
                let logins = read_optional::<Vec<String>>(&path)?.unwrap_or_default();
                org.teams.insert(slug.to_lowercase(), lowercase(logins));
            }
        }
        orgs.insert(file_name(&dir).to_lowercase(), org);
    }
    Ok(orgs)
}

/// A JSON file's contents, `None` when it does not exist.
fn read_optional<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    if !path.is_file() {
        return Ok(None);
    }
    serde_json::from_slice(&std::fs::read(path)?)
        .map(Some)
        .map_err(|e| invalid(path, &e.to_string()))
}

fn lowercase(logins: Vec<String>) -> Vec<String> {
    logins.into_iter().map(|l| l.to_lowercase()).collect()
}

fn lowercase_keys(map: HashMap<String, String>) -> HashMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn invalid(path: &Path, why: &str) -> Error {
    Error::new(ErrorKind::InvalidData, format!("{}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/github")
    }

    #[test]
    fn the_recordings_load() {
        let recorded = load(&dir()).unwrap();
        let backend = &recorded.repos["dspace/dspace"];
        assert!(backend.pulls.len() >= 25);
        assert!(recorded.repos["dspace/dspace-angular"].pulls.len() >= 25);
        assert!(backend.branches.iter().any(|b| b["name"] == "main"));
        assert_eq!(backend.roles["tdonohue"], "admin");
        let dspace = &recorded.orgs["dspace"];
        assert!(dspace.members.contains(&"octo-member".to_string()));
        assert!(dspace.teams["dspace-committers"].contains(&"octo-committer".to_string()));
        assert!(load(Path::new("/nonexistent")).is_err());
    }
}
