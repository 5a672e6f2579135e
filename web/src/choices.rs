//! The launch form's choices (open PRs and branches), and the checks of the chosen PRs and
//! branches at launch, from GitHub.

use preview_tasks::domain::build_cache::Side;
use preview_tasks::domain::request::{PreviewRequest, BACKEND_REPO, UI_REPO};

use crate::error::WebError;
use crate::github::Pull;
use crate::pages::FormChoices;
use crate::picker;
use crate::state::AppState;

/// The open PRs and the branches of both repositories as datalists; GitHub trouble becomes a
/// note, never an error, because a PR number or a branch can always be typed in. Four cached
/// lists: a page load costs no GitHub call while they are fresh, and 304s after.
pub async fn form_choices(state: &AppState) -> FormChoices {
    let github = &state.github;
    let (backend, ui, backend_branches, ui_branches, cached) = tokio::join!(
        github.open_pulls(BACKEND_REPO),
        github.open_pulls(UI_REPO),
        github.branches(BACKEND_REPO),
        github.branches(UI_REPO),
        state.cached_builds.heads(
            &state.ctx.clients.ecr,
            state.ctx.base.build_cache_repository.as_deref()
        )
    );
    let mut choices = FormChoices::default();
    for (list, id, side, out) in [
        (backend, "backend-prs", Side::Backend, &mut choices.backend),
        (ui, "ui-prs", Side::Ui, &mut choices.ui),
    ] {
        match list {
            Ok(list) => {
                let is_cached = |p: &Pull| cached.contains(&(side, p.head_sha.clone()));
                *out = picker::datalist(id, &list.pulls, &is_cached);
                choices.cached.extend(
                    list.pulls
                        .iter()
                        .filter(|p| is_cached(p))
                        .map(|p| format!("{} PR #{}", side_label(side), p.number)),
                );
                choices.notes.extend(list.note);
            }
            Err(e) => choices.notes.push(e.to_string()),
        }
    }
    for (list, id, out) in [
        (
            backend_branches,
            "backend-branches",
            &mut choices.backend_branches,
        ),
        (ui_branches, "ui-branches", &mut choices.ui_branches),
    ] {
        match list {
            Ok(list) => {
                *out = picker::branch_datalist(id, &list.branches);
                choices.notes.extend(list.note);
            }
            Err(e) => choices.notes.push(e.to_string()),
        }
    }
    choices
}

fn side_label(side: Side) -> &'static str {
    match side {
        Side::Backend => "backend",
        Side::Ui => "UI",
    }
}

/// Looks up a PR; `Ok(None)` when GitHub cannot be asked (the instance fetches it anyway).
async fn lookup(state: &AppState, repo: &str, number: u64) -> Result<Option<Pull>, WebError> {
    match state.github.pull(repo, number).await {
        Ok(Some(pull)) if pull.state == "open" => Ok(Some(pull)),
        Ok(Some(pull)) => Err(WebError::BadRequest(format!(
            "{repo}#{number} is {}: only open PRs can be previewed",
            pull.state
        ))),
        Ok(None) => Err(WebError::BadRequest(format!(
            "{repo} has no PR #{number}; pick one from the list of open PRs"
        ))),
        Err(WebError::BadRequest(m)) => Err(WebError::BadRequest(m)),
        Err(e) => {
            tracing::warn!(error = %e, %repo, number, "PR not checked: GitHub did not answer");
            Ok(None)
        }
    }
}

/// Refuses a branch GitHub does not have; when GitHub cannot be asked the launch goes on, as
/// for a PR (the instance fetches the branch and fails the preview clearly if it is gone).
async fn check_branch(state: &AppState, repo: &str, name: &str) -> Result<(), WebError> {
    match state.github.branch(repo, name).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(WebError::BadRequest(format!(
            "{repo} has no branch '{name}'; pick one from the list of branches"
        ))),
        Err(WebError::BadRequest(m)) => Err(WebError::BadRequest(m)),
        Err(e) => {
            tracing::warn!(error = %e, %repo, branch = name, "branch not checked: GitHub did not answer");
            Ok(())
        }
    }
}

/// Checks the request's PRs and branches on GitHub (the PRs exist, are open and share a base
/// branch; the branches exist) and records each PR's head commit and base branch. Also returns the backend PR a UI PR says it requires,
/// when the request builds no backend of its own, so the form can suggest it.
pub async fn check_sources(
    state: &AppState,
    mut request: PreviewRequest,
) -> Result<(PreviewRequest, Option<Pull>), WebError> {
    let mut found: Vec<(String, Pull)> = Vec::new();
    for source in &mut request.sources {
        if let Some(branch) = &source.branch {
            check_branch(state, &source.repo, branch).await?;
        }
        let Some(number) = source.pr else { continue };
        if let Some(pull) = lookup(state, &source.repo, number).await? {
            source.head_sha = Some(pull.head_sha.clone()).filter(|s| !s.is_empty());
            source.base = Some(pull.base.clone());
            found.push((source.repo.clone(), pull));
        }
    }
    let of = |repo: &str| found.iter().find(|(r, _)| r == repo).map(|(_, p)| p);
    if let (Some(backend), Some(ui)) = (of(BACKEND_REPO), of(UI_REPO)) {
        if let Some(message) = picker::base_mismatch(backend, ui) {
            return Err(WebError::BadRequest(message));
        }
    }
    let builds_backend = request.sources.iter().any(|s| s.repo == BACKEND_REPO);
    let pairing = match of(UI_REPO).and_then(|ui| ui.requires_backend) {
        Some(number) if !builds_backend => state
            .github
            .pull(BACKEND_REPO, number)
            .await
            .ok()
            .flatten()
            .filter(|p| p.state == "open"),
        _ => None,
    };
    Ok((request, pairing))
}
