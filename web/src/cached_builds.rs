//! Which PR heads have a cached build, for the launch form: ECR is asked at most once a minute,
//! so the page's AWS calls stay constant however often it is loaded.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preview_tasks::build_cache;
use preview_tasks::domain::build_cache::Side;

/// How long one answer from ECR is reused.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// The (side, head commit) pairs with a cached build.
pub type CachedHeads = Arc<BTreeSet<(Side, String)>>;

/// A memo of the build cache's contents.
#[derive(Debug, Default)]
pub struct CachedBuilds {
    memo: Mutex<Option<(Instant, CachedHeads)>>,
}

impl CachedBuilds {
    /// The cached heads; empty when the deployment has no cache or ECR does not answer (the form
    /// then just says nothing about caching).
    pub async fn heads(&self, ecr: &aws_sdk_ecr::Client, repository: Option<&str>) -> CachedHeads {
        let Some(repository) = repository else {
            return CachedHeads::default();
        };
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let heads: CachedHeads = match build_cache::list(ecr, repository).await {
            Ok(images) => Arc::new(
                images
                    .into_iter()
                    .map(|i| (i.key.side, i.key.head))
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "build cache not readable; the form shows no cached builds");
                CachedHeads::default()
            }
        };
        if let Ok(mut memo) = self.memo.lock() {
            *memo = Some((Instant::now(), heads.clone()));
        }
        heads
    }

    fn fresh(&self) -> Option<CachedHeads> {
        let memo = self.memo.lock().ok()?;
        let (at, heads) = memo.as_ref()?;
        (at.elapsed() < FRESH_FOR).then(|| heads.clone())
    }
}
