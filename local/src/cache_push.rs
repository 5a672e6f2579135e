//! What an instance's `docker push` leaves in the build cache, for emulated ECR: an image
//! manifest under a tag (moto keeps manifests, not layers).

use preview_tasks::StepError;

use crate::error::Result;

/// Records an image tagged `tag` in `repository`, as a push after a build would.
pub async fn push_manifest(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str) -> Result<()> {
    // Distinct layer digests per tag, so each push is its own image.
    let digest = |seed: &str| {
        let hex: String = seed.bytes().map(|b| format!("{:02x}", b)).collect();
        format!("sha256:{:0<64.64}", hex)
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7, "digest": digest("config")},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 9, "digest": digest(tag)}]
    });
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(manifest.to_string())
        .image_tag(tag)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::from_sdk("ecr:PutImage", e).into())
}
