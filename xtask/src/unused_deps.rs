//! Unused dependencies, found the way `cargo machete` finds them: a dependency of a workspace
//! member whose crate name appears nowhere in that member's Rust sources. Run in the test
//! command so a dependency dropped from the code is dropped from the manifest too.

use std::fs;
use std::path::{Path, PathBuf};

use crate::shell::root;

/// Manifest sections whose entries must be used by the member's code.
const SECTIONS: [&str; 3] = [
    "[dependencies]",
    "[dev-dependencies]",
    "[build-dependencies]",
];

/// Dependencies used only through Cargo (features, linking), never named in code.
const USED_WITHOUT_NAMING: [&str; 0] = [];

/// Fails listing every member's unused dependencies.
pub fn check() -> Result<(), String> {
    let root = root();
    let members = members(&root.join("Cargo.toml"))?;
    let mut unused = Vec::new();
    for member in members {
        let dir = root.join(&member);
        let manifest = fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| format!("{member}/Cargo.toml: {e}"))?;
        let mut sources = String::new();
        read_rust(&dir, &mut sources);
        for dep in dependencies(&manifest) {
            let ident = dep.replace('-', "_");
            if !USED_WITHOUT_NAMING.contains(&dep.as_str()) && !mentions(&sources, &ident) {
                unused.push(format!("{member}: {dep}"));
            }
        }
    }
    match unused.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "unused dependencies (remove them from the manifest): {}",
            unused.join(", ")
        )),
    }
}

/// The workspace members listed in the root manifest.
fn members(manifest: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .ok_or("no workspace members in Cargo.toml")?;
    Ok(line
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect())
}

/// The dependency names of a member's manifest (optional ones included).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_section = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = SECTIONS.contains(&line);
            continue;
        }
        if !in_section || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(key) = line.split(['=', '.']).next() {
            names.push(key.trim().trim_matches('"').to_string());
        }
    }
    names
}

fn read_rust(dir: &Path, out: &mut String) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "node_modules" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            read_rust(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            if let Ok(text) = fs::read_to_string(&path) {
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
}

/// True when `ident` occurs as a whole word (a path segment) in `text`.
fn mentions(text: &str, ident: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ident).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + ident.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dependency_names() {
        let m = "[package]\nname = \"x\"\n[dependencies]\nserde.workspace = true\naws-sdk-ssm = { workspace = true }\n# c\n[features]\nf = []\n[dev-dependencies]\ntokio = \"1\"\n";
        assert_eq!(dependencies(m), ["serde", "aws-sdk-ssm", "tokio"]);
    }

    #[test]
    fn matches_whole_words_only() {
        assert!(mentions("use serde_json::Value;", "serde_json"));
        assert!(!mentions("use serde_json::Value;", "serde"));
        assert!(mentions("serde::Deserialize", "serde"));
    }
}
