//! Who may command previews from a PR comment: logins configured in
//! `PREVIEW_GITHUB_ALLOWED_USERS`, and (once the GitHub client asks for it) people with at least
//! triage permission on the repository.

/// Logins allowed without asking GitHub; compared case-insensitively, as GitHub does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedUsers(Vec<String>);

impl AllowedUsers {
    /// The comma-separated list of `PREVIEW_GITHUB_ALLOWED_USERS` (spaces and `@` ignored).
    pub fn parse(list: &str) -> AllowedUsers {
        AllowedUsers(
            list.split(',')
                .map(|l| l.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect(),
        )
    }

    /// True when `login` is on the list.
    pub fn contains(&self, login: &str) -> bool {
        self.0.iter().any(|l| l.eq_ignore_ascii_case(login))
    }
}

/// The permission rule, shared with the sign-in with GitHub (it lives in `membership`).
pub use crate::membership::permission_allows;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_read_loosely_and_matched_case_insensitively() {
        let list = AllowedUsers::parse(" alice, @Bob ,,");
        assert!(list.contains("Alice"));
        assert!(list.contains("bob"));
        assert!(!list.contains("carol"));
        assert!(!AllowedUsers::parse("").contains(""));
    }
}
