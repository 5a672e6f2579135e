//! The crate lines of the design, checked with `cargo tree` (what Cargo really links, features
//! unified): the engine knows nothing of previews, and a Lambda links neither the local service
//! nor SDKs only the local set-up uses.

use crate::shell::cargo;

/// Packages that must never be among a package's normal (linked) dependencies, and why.
const FORBIDDEN: [(&str, &str, &str); 6] = [
    (
        "preview-statemachine",
        "preview-tasks",
        "the engine is a standalone ASL engine; the preview wiring lives in preview-local",
    ),
    (
        "preview-statemachine",
        "preview-local",
        "the engine is a standalone ASL engine",
    ),
    (
        "preview-tasks",
        "preview-local",
        "the Lambdas must not link the local service",
    ),
    (
        "preview-tasks",
        "aws-sdk-iam",
        "only the local set-up creates IAM resources; a Lambda never does",
    ),
    (
        "preview-tasks",
        "aws-smithy-mocks",
        "test doubles are never linked into a Lambda",
    ),
    (
        "preview-web",
        "preview-local",
        "the web Lambda must not link the local service",
    ),
];

/// Fails naming each forbidden dependency `cargo tree` finds.
pub fn check() -> Result<(), String> {
    let mut found = Vec::new();
    for (package, dependency, why) in FORBIDDEN {
        let tree = linked(package)?;
        if tree.iter().any(|name| name == dependency) {
            found.push(format!("{package} links {dependency} ({why})"));
        }
    }
    match found.is_empty() {
        true => Ok(()),
        false => Err(format!("crate lines broken: {}", found.join("; "))),
    }
}

/// The names of every package `package` links (normal edges only, build scripts included).
fn linked(package: &str) -> Result<Vec<String>, String> {
    let out = cargo()
        .args(["tree", "--quiet", "-p", package, "-e", "normal,build"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(names(&String::from_utf8_lossy(&out.stdout)))
}

/// Package names from `cargo tree --prefix none --format {p}` lines (`name vX.Y.Z (path) (*)`).
fn names(tree: &str) -> Vec<String> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_names() {
        let tree = "preview-tasks v0.1.0 (/w/tasks)\naws-sdk-ec2 v1.274.0\nserde v1.0.1 (*)\n";
        assert_eq!(names(tree), ["preview-tasks", "aws-sdk-ec2", "serde"]);
    }
}
