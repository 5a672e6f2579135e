//! The build cache's vocabulary: which image tag holds which merged commits, and which cached
//! build a launch reuses. The instance computes the same tags (`ami/files/lib/build_cache.sh`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The side of a preview an image was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The DSpace backend (`dspace` image).
    Backend,
    /// The Angular UI (`dspace-angular` image).
    Ui,
}

impl Side {
    /// The tag prefix and the boot script's name for the side.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Backend => "backend",
            Side::Ui => "ui",
        }
    }

    /// The config-block prefix of the side's variables (`BACKEND_BASE_SHA`).
    pub fn var_prefix(self) -> &'static str {
        match self {
            Side::Backend => "BACKEND",
            Side::Ui => "UI",
        }
    }
}

/// The merged commits a built image was made from: the PR head merged into a base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// Which side.
    pub side: Side,
    /// The PR head (or branch) commit, 40 hex digits.
    pub head: String,
    /// The base commit the head was merged into (the head itself for a branch).
    pub base: String,
}

impl CacheKey {
    /// The image tag: `<side>-<head>-<base>` (89 characters, under ECR's 128).
    pub fn tag(&self) -> String {
        format!("{}-{}-{}", self.side.as_str(), self.head, self.base)
    }

    /// The key a tag stands for; `None` for tags we did not write.
    pub fn parse(tag: &str) -> Option<CacheKey> {
        let (side, rest) = tag.split_once('-')?;
        let side = match side {
            "backend" => Side::Backend,
            "ui" => Side::Ui,
            _ => return None,
        };
        let (head, base) = rest.split_once('-')?;
        (is_sha(head) && is_sha(base)).then(|| CacheKey {
            side,
            head: head.to_string(),
            base: base.to_string(),
        })
    }
}

/// A full lowercase commit id.
pub fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One image in the cache repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedImage {
    /// What it was built from.
    pub key: CacheKey,
    /// When the instance pushed it.
    pub pushed_at: Option<DateTime<Utc>>,
}

/// The cached build a launch of `head` reuses: the newest push of that head, whatever base it was
/// merged into then (the launch pins that base, so the instance merges the very same commits).
pub fn newest_for<'a>(
    side: Side,
    head: &str,
    images: impl IntoIterator<Item = &'a CachedImage>,
) -> Option<&'a CachedImage> {
    images
        .into_iter()
        .filter(|i| i.key.side == side && i.key.head == head)
        .max_by_key(|i| i.pushed_at)
}

/// What a launch found in the cache for one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    /// A build of these commits exists: the instance pulls it.
    Hit,
    /// No build of this head yet: the instance builds and pushes.
    Miss,
    /// The deployment has no cache repository.
    Off,
    /// Not checked before launch (a branch, or the registry did not answer); the instance checks.
    Unchecked,
}

/// One side's cache lookup, as the launch step reports it in the execution history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheLookup {
    /// Hit, miss, off or unchecked.
    pub status: CacheStatus,
    /// The image tag found (hits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The repository name in a repository URI (`<registry>/<name>`).
pub fn repository_name(uri: &str) -> Option<&str> {
    uri.split_once('/')
        .map(|(_, name)| name)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(side: Side, head: char, base: char) -> CacheKey {
        CacheKey {
            side,
            head: head.to_string().repeat(40),
            base: base.to_string().repeat(40),
        }
    }

    #[test]
    fn tags_round_trip_and_fit_ecr() {
        let k = key(Side::Ui, 'a', 'b');
        let tag = k.tag();
        assert!(tag.starts_with("ui-aaaa") && tag.len() <= 128, "{tag}");
        assert_eq!(CacheKey::parse(&tag), Some(k));
    }

    #[test]
    fn foreign_tags_are_ignored() {
        for tag in [
            "latest",
            "backend-abc-def",
            "solr-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &format!("backend-{}-{}", "A".repeat(40), "a".repeat(40)),
        ] {
            assert_eq!(CacheKey::parse(tag), None, "{tag}");
        }
    }

    #[test]
    fn the_newest_push_of_the_head_wins() {
        let at = |m: i64| DateTime::<Utc>::from_timestamp(m * 60, 0);
        let images = [
            CachedImage {
                key: key(Side::Backend, 'a', '1'),
                pushed_at: at(1),
            },
            CachedImage {
                key: key(Side::Backend, 'a', '2'),
                pushed_at: at(5),
            },
            CachedImage {
                key: key(Side::Ui, 'a', '3'),
                pushed_at: at(9),
            },
            CachedImage {
                key: key(Side::Backend, 'b', '4'),
                pushed_at: at(9),
            },
        ];
        let found = newest_for(Side::Backend, &"a".repeat(40), &images).unwrap();
        assert_eq!(found.key.base, "2".repeat(40));
        assert!(newest_for(Side::Ui, &"b".repeat(40), &images).is_none());
    }

    #[test]
    fn repository_names_come_from_uris() {
        assert_eq!(
            repository_name("1.dkr.ecr.us-east-1.amazonaws.com/dspace-preview/preview-cache"),
            Some("dspace-preview/preview-cache")
        );
        assert_eq!(repository_name("no-slash"), None);
    }
}
