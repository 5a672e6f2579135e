//! The `/preview` comment grammar. The first line of a comment is the command; the rest is free
//! text, so people can explain what they want checked.
//!
//! ```text
//! /preview [ttl=MINUTES] [with DSpace/DSpace#N | with DSpace/dspace-angular#N]
//! /preview stop
//! /preview extend MINUTES
//! ```

use preview_tasks::domain::request::{BACKEND_REPO, UI_REPO};

/// A command from a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Launch a preview of the PR commented on.
    Start {
        /// Minutes to live (the default TTL when absent).
        ttl: Option<u32>,
        /// A PR of the other repository to pair with: `(repository, number)`.
        with: Option<(&'static str, u64)>,
    },
    /// Stop the PR's live previews.
    Stop,
    /// Extend the PR's live previews by this many minutes.
    Extend(u32),
}

/// What is wrong with a `/preview` command, worded for the reply on the PR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `ttl=` without a whole number of minutes.
    #[error("`ttl={0}` is not a whole number of minutes")]
    BadTtl(String),
    /// `extend` without a whole number of minutes.
    #[error("`extend` needs a whole number of minutes, as in `/preview extend 60`")]
    BadExtend,
    /// `with` not followed by `DSpace/DSpace#N` or `DSpace/dspace-angular#N`.
    #[error("`with` needs `DSpace/DSpace#N` or `DSpace/dspace-angular#N`")]
    BadWith,
    /// The same option twice.
    #[error("`{0}` is given twice")]
    Repeated(&'static str),
    /// Anything else.
    #[error("`{0}` is not understood; say `/preview`, `/preview ttl=MINUTES`, `/preview with DSpace/DSpace#N`, `/preview stop` or `/preview extend MINUTES`")]
    Unknown(String),
}

/// The command in a comment: `None` when the comment is not a `/preview` command at all.
pub fn parse(body: &str) -> Option<Result<Command, CommandError>> {
    let line = body.trim_start().lines().next()?.trim();
    let rest = line.strip_prefix("/preview")?;
    // `/previewing` is a word, not the command.
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    Some(parse_words(&words))
}

fn parse_words(words: &[&str]) -> Result<Command, CommandError> {
    match words {
        ["stop"] => return Ok(Command::Stop),
        ["extend", minutes] => return minutes_of(minutes).map(Command::Extend),
        ["extend", ..] => return Err(CommandError::BadExtend),
        _ => {}
    }
    let (mut ttl, mut with) = (None, None);
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("ttl=") {
            let minutes = value
                .parse::<u32>()
                .map_err(|_| CommandError::BadTtl(value.to_string()))?;
            if ttl.replace(minutes).is_some() {
                return Err(CommandError::Repeated("ttl"));
            }
        } else if *word == "with" {
            let target = words.next().ok_or(CommandError::BadWith)?;
            if with.replace(pr_ref(target)?).is_some() {
                return Err(CommandError::Repeated("with"));
            }
        } else {
            return Err(CommandError::Unknown(word.to_string()));
        }
    }
    Ok(Command::Start { ttl, with })
}

fn minutes_of(text: &str) -> Result<u32, CommandError> {
    text.parse::<u32>()
        .ok()
        .filter(|m| *m > 0)
        .ok_or(CommandError::BadExtend)
}

/// `owner/repo#N` for one of the two DSpace repositories (names are case-insensitive on GitHub).
fn pr_ref(text: &str) -> Result<(&'static str, u64), CommandError> {
    let (repo, number) = text.split_once('#').ok_or(CommandError::BadWith)?;
    let repo = canonical_repo(repo).ok_or(CommandError::BadWith)?;
    let number = number.parse::<u64>().map_err(|_| CommandError::BadWith)?;
    Ok((repo, number))
}

/// The repository's name as the requests spell it, if it is one of the two DSpace repositories.
pub fn canonical_repo(name: &str) -> Option<&'static str> {
    [BACKEND_REPO, UI_REPO]
        .into_iter()
        .find(|r| r.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Command {
        parse(body).unwrap().unwrap()
    }

    fn err(body: &str) -> CommandError {
        parse(body).unwrap().unwrap_err()
    }

    #[test]
    fn commands_are_read_from_the_first_line() {
        let start = Command::Start {
            ttl: None,
            with: None,
        };
        assert_eq!(ok("/preview"), start);
        assert_eq!(ok("  /preview  \nplease check the search page"), start);
        assert_eq!(ok("/preview stop"), Command::Stop);
        assert_eq!(ok("/preview extend 60"), Command::Extend(60));
        assert_eq!(
            ok("/preview ttl=90 with dspace/dspace-angular#4321"),
            Command::Start {
                ttl: Some(90),
                with: Some((UI_REPO, 4321)),
            }
        );
        assert_eq!(
            ok("/preview with DSpace/DSpace#9876 ttl=30"),
            Command::Start {
                ttl: Some(30),
                with: Some((BACKEND_REPO, 9876)),
            }
        );
    }

    #[test]
    fn other_comments_are_not_commands() {
        assert_eq!(parse("LGTM"), None);
        assert_eq!(parse("thanks\n/preview"), None);
        assert_eq!(parse("/previewing this now"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        assert_eq!(err("/preview ttl=abc"), CommandError::BadTtl("abc".into()));
        assert_eq!(err("/preview ttl=-5"), CommandError::BadTtl("-5".into()));
        assert_eq!(err("/preview extend"), CommandError::BadExtend);
        assert_eq!(err("/preview extend soon"), CommandError::BadExtend);
        assert_eq!(err("/preview extend 0"), CommandError::BadExtend);
        assert_eq!(err("/preview extend 5 more"), CommandError::BadExtend);
        assert_eq!(err("/preview with"), CommandError::BadWith);
        assert_eq!(err("/preview with DSpace/other#1"), CommandError::BadWith);
        assert_eq!(err("/preview with DSpace/DSpace#x"), CommandError::BadWith);
        assert_eq!(err("/preview ttl=5 ttl=6"), CommandError::Repeated("ttl"));
        assert_eq!(
            err("/preview stop now"),
            CommandError::Unknown("stop".into())
        );
        assert!(err("/preview please").to_string().contains("`please`"));
    }
}
