//! Who may use the service as a GitHub user: the sign-in with GitHub asks it, and the webhook can
//! ask the same question. A login is allowed when it is listed (`PREVIEW_GITHUB_ALLOWED_USERS` or
//! `PREVIEW_GITHUB_MAINTAINERS`, no GitHub call), a member of a configured org or an active
//! member of a configured team (`PREVIEW_GITHUB_ORGS`), or holds triage or more on one of the
//! DSpace repositories. The rules are pure ([`Membership`], [`permission_allows`]); only
//! [`is_allowed`] calls GitHub.

use hyper::{Method, StatusCode};
use serde::Deserialize;

use crate::error::WebError;
use crate::github::{Answer, Caller, GitHub};
use crate::webhook::allowed::AllowedUsers;

/// The repositories whose collaborators (triage and above) may use the service.
pub const REPOS: [&str; 2] = ["DSpace/DSpace", "DSpace/dspace-angular"];

/// One entry of `PREVIEW_GITHUB_ORGS`: a whole org, or one team of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// Every member of the org.
    Org(String),
    /// The active members of one team (`org/team-slug`).
    Team {
        /// The org.
        org: String,
        /// The team's slug.
        slug: String,
    },
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Group::Org(org) => write!(f, "the {org} organization"),
            Group::Team { org, slug } => write!(f, "the {org}/{slug} team"),
        }
    }
}

/// The rules: listed logins, maintainers, orgs and teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Allowed without asking GitHub (`PREVIEW_GITHUB_ALLOWED_USERS`).
    pub allowed: AllowedUsers,
    /// Allowed, and may stop or extend anyone's preview (`PREVIEW_GITHUB_MAINTAINERS`).
    pub maintainers: AllowedUsers,
    /// Orgs and teams whose members are allowed (`PREVIEW_GITHUB_ORGS`).
    pub groups: Vec<Group>,
}

/// Why a login may sign in, or that it may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// On the allowed list or a maintainer.
    Listed,
    /// A member of this org.
    Org(String),
    /// An active member of this team (`org/slug`).
    Team(String),
    /// This permission on this repository.
    Permission {
        /// `owner/name`.
        repo: String,
        /// The role GitHub reported (`triage`, `write`, …).
        role: String,
    },
    /// None of the rules let it in.
    Refused,
}

impl Allowed {
    /// True unless [`Allowed::Refused`].
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Allowed::Refused)
    }
}

/// GitHub's rule for a login: 1 to 39 letters, digits and single hyphens, not at either end.
/// Anything else could change a URL path it is put in, so it is never sent.
pub fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
}

/// An org name or team slug: letters, digits, `-` and `_` (what can sit in a URL path as is).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

impl Membership {
    /// The rules from the three comma lists; an org or team that cannot be one is an error
    /// naming it (a typo must not silently let nobody in).
    pub fn parse(allowed: &str, maintainers: &str, groups: &str) -> Result<Membership, WebError> {
        let groups = groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(|g| match g.split_once('/') {
                None if valid_name(g) => Ok(Group::Org(g.to_string())),
                Some((org, slug)) if valid_name(org) && valid_name(slug) => Ok(Group::Team {
                    org: org.to_string(),
                    slug: slug.to_string(),
                }),
                _ => Err(WebError::Config(format!(
                    "PREVIEW_GITHUB_ORGS: '{g}' is neither an org nor org/team-slug; fix the list"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Membership {
            allowed: AllowedUsers::parse(allowed),
            maintainers: AllowedUsers::parse(maintainers),
            groups,
        })
    }

    /// True when `login` may stop or extend any preview.
    pub fn is_maintainer(&self, login: &str) -> bool {
        self.maintainers.contains(login)
    }

    /// True when `login` is allowed without asking GitHub.
    pub fn is_listed(&self, login: &str) -> bool {
        self.allowed.contains(login) || self.is_maintainer(login)
    }

    /// Who may sign in, in words, for the page a refused person sees.
    pub fn describe(&self) -> String {
        let mut who: Vec<String> = self
            .groups
            .iter()
            .map(|g| format!("members of {g}"))
            .collect();
        who.push(format!(
            "people with triage, write, maintain or admin permission on {}",
            REPOS.join(" or ")
        ));
        who.push("the people the operators listed by name".into());
        who.join("; ")
    }
}

/// True when a repository permission lets its holder use the service: GitHub's
/// `GET /repos/{owner}/{repo}/collaborators/{username}/permission` answers `permission`
/// (`admin`, `write`, `read`, `none`; `maintain` and `triage` show as `write` and `read`) and the
/// finer `role_name`, so both are read.
pub fn permission_allows(permission: &str, role_name: Option<&str>) -> bool {
    const ALLOWED: [&str; 4] = ["admin", "maintain", "write", "triage"];
    ALLOWED.contains(&permission) || role_name.is_some_and(|r| ALLOWED.contains(&r))
}

/// The answer of the collaborator-permission endpoint.
#[derive(Debug, Deserialize)]
struct Permission {
    permission: String,
    #[serde(default)]
    role_name: Option<String>,
}

/// A team membership (`state` is `active` or `pending`).
#[derive(Debug, Deserialize)]
struct TeamMembership {
    state: String,
}

/// Whether `login` may use the service, and why: the lists first (no call), then the orgs and
/// teams (with `user_token` when given: it can see private memberships; else the service's
/// token), then the repository permissions (with the service's token when one is configured,
/// since only collaborators may read them). A GitHub failure is an error, never a refusal.
pub async fn is_allowed(
    github: &GitHub,
    rules: &Membership,
    login: &str,
    user_token: Option<&str>,
) -> Result<Allowed, WebError> {
    if !valid_login(login) {
        return Ok(Allowed::Refused);
    }
    if rules.is_listed(login) {
        return Ok(Allowed::Listed);
    }
    let member_caller = user_token.map_or(Caller::Service, Caller::User);
    for group in &rules.groups {
        if let Some(allowed) = in_group(github, group, login, member_caller).await? {
            return Ok(allowed);
        }
    }
    let permission_caller = if github.has_token() {
        Caller::Service
    } else {
        member_caller
    };
    for repo in REPOS {
        if let Some(allowed) = with_permission(github, repo, login, permission_caller).await? {
            return Ok(allowed);
        }
    }
    Ok(Allowed::Refused)
}

/// One org or team asked about `login`: `Some` when a member.
async fn in_group(
    github: &GitHub,
    group: &Group,
    login: &str,
    caller: Caller<'_>,
) -> Result<Option<Allowed>, WebError> {
    let url = match group {
        Group::Org(org) => format!("/orgs/{org}/members/{login}"),
        Group::Team { org, slug } => format!("/orgs/{org}/teams/{slug}/memberships/{login}"),
    };
    let answer = github.call(Method::GET, &url, caller, None).await?;
    // An org answers 204 for a member, a team 200 with the membership's state; 404 is no
    // member, and an org's 302 means the caller cannot see its private members.
    let member = match (group, answer.status) {
        (Group::Org(_), StatusCode::NO_CONTENT) => true,
        (Group::Team { .. }, StatusCode::OK) => answer.json::<TeamMembership>()?.state == "active",
        (_, s) if s == StatusCode::NOT_FOUND || s.is_redirection() => false,
        _ => return Err(failed(&answer, &format!("membership of {group}"))),
    };
    Ok(member.then(|| match group {
        Group::Org(org) => Allowed::Org(org.clone()),
        Group::Team { org, slug } => Allowed::Team(format!("{org}/{slug}")),
    }))
}

/// `login`'s permission on `repo`: `Some` when triage or above.
async fn with_permission(
    github: &GitHub,
    repo: &str,
    login: &str,
    caller: Caller<'_>,
) -> Result<Option<Allowed>, WebError> {
    let url = format!("/repos/{repo}/collaborators/{login}/permission");
    let answer = github.call(Method::GET, &url, caller, None).await?;
    match answer.status {
        StatusCode::OK => {
            let p = answer.json::<Permission>()?;
            Ok(
                permission_allows(&p.permission, p.role_name.as_deref()).then(|| {
                    Allowed::Permission {
                        repo: repo.to_string(),
                        role: p.role_name.unwrap_or(p.permission),
                    }
                }),
            )
        }
        // 404: not a collaborator (or a user token that may not look): no permission to count.
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::FORBIDDEN if !answer.describe().to_lowercase().contains("rate limit") => {
            Ok(None)
        }
        _ => Err(failed(&answer, &format!("permission on {repo}"))),
    }
}

fn failed(answer: &Answer, what: &str) -> WebError {
    WebError::GitHub(format!(
        "could not check your {what} on GitHub ({}); nothing was changed. Try again in a minute.",
        answer.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triage_and_above_are_allowed() {
        assert!(permission_allows("admin", Some("admin")));
        assert!(permission_allows("write", Some("maintain")));
        assert!(permission_allows("read", Some("triage")));
        assert!(!permission_allows("read", Some("read")));
        assert!(!permission_allows("none", None));
    }

    #[test]
    fn orgs_and_teams_are_parsed_and_typos_refused() {
        let m = Membership::parse("alice", "@Mo", " DSpace , DSpace/dspace-committers,").unwrap();
        assert_eq!(
            m.groups,
            [
                Group::Org("DSpace".into()),
                Group::Team {
                    org: "DSpace".into(),
                    slug: "dspace-committers".into()
                }
            ]
        );
        assert!(m.is_listed("ALICE") && m.is_listed("mo") && m.is_maintainer("MO"));
        assert!(!m.is_maintainer("alice"));
        for bad in ["a/b/c", "a b", "/x", "x/"] {
            assert!(Membership::parse("", "", bad).is_err(), "{bad}");
        }
        assert!(m.describe().contains("the DSpace/dspace-committers team"));
    }

    #[test]
    fn only_github_logins_are_asked_about() {
        assert!(valid_login("octo-cat1"));
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a/b",
            "a.b",
            "../x",
            &"a".repeat(40),
        ] {
            assert!(!valid_login(bad), "{bad}");
        }
    }
}
