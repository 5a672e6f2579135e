//! What the app told GitHub about a preview, read from the recorded server's log: the PR's
//! sticky comment and the preview's deployment.

use std::time::Duration;

use super::World;

impl World {
    /// Waits until the PR's comment says `text`; returns the comments.
    pub async fn comment_saying(&self, repo: &str, pr: u64, text: &str) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let comments = self.github_log.comments(repo, pr);
            if comments
                .iter()
                .any(|c| c["body"].as_str().unwrap_or_default().contains(text))
            {
                return comments;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no comment saying {text}: {comments:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The states of the deployment of preview `id`, oldest first.
    pub fn deployment_states(&self, repo: &str, id: &str) -> Vec<(String, Option<String>)> {
        let deployments = self.github_log.deployments(repo);
        let ours: Vec<_> = deployments
            .iter()
            .filter(|(d, _)| d["payload"]["preview_id"] == serde_json::json!(id))
            .collect();
        assert!(
            ours.len() <= 1,
            "one deployment per preview: {deployments:?}"
        );
        ours.first()
            .map(|(_, statuses)| {
                statuses
                    .iter()
                    .rev()
                    .map(|s| {
                        (
                            s["state"].as_str().unwrap_or_default().to_string(),
                            s["environment_url"].as_str().map(str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
