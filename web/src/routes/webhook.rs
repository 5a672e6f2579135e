//! `POST /github/webhook`: `/preview` commands in PR comments, and the preview label, closing and
//! pushes of PRs. Only a delivery signed with the webhook secret is read at all; each delivery id
//! is acted on once. Starting needs an allowed login (listed, a configured org or team, or triage
//! and above on the DSpace repositories: [`membership`]); closing a PR or removing the label stops
//! its previews whoever does it. The answer comes as soon as the execution is started (GitHub
//! gives a hook 10 seconds): the capacity check's verdict is not awaited.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{
    ExecutionInput, PreviewRequest, SourceInput, BACKEND_REPO, UI_REPO,
};

use super::launch::{self, Admission, Back, Message};
use crate::error::WebError;
use crate::membership::{self, Membership};
use crate::state::AppState;
use crate::webhook::command::{self, canonical_repo, Command};
use crate::webhook::event::{IssueCommentEvent, PullRequestEvent, PullRequestIntent};
use crate::webhook::{deliveries, signature};
use crate::workflow::{self, Action, Callback, LivePreview};

/// The webhook.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/github/webhook", post(receive))
}

/// The answer to GitHub: a status and a line of text (shown in the hook's delivery log).
fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

/// The PR a delivery is about and who acted, for the log and the reply.
struct Origin {
    repo: &'static str,
    pr: u64,
    login: String,
}

impl Origin {
    /// Logs what was done; what was refused, and why, is also answered on the PR (when a
    /// GitHub token is configured), after GitHub has had its answer: a started, stopped or
    /// extended preview is told by the PR's status comment instead.
    fn reply(&self, state: &AppState, text: &str, refused: bool) {
        tracing::info!(
            repo = self.repo,
            pr = self.pr,
            to = %self.login,
            reply = text,
            refused,
            "webhook reply"
        );
        if !refused || !state.github.has_token() {
            return;
        }
        let github = state.github.clone();
        let (repo, pr) = (self.repo, self.pr);
        let body = format!(
            "@{} {text}\n\n<sub>dspace-preview: `/preview [ttl=MINUTES] [with REPO#N]`, \
             `/preview stop`, `/preview extend MINUTES`</sub>",
            self.login
        );
        tokio::spawn(async move {
            if let Err(e) = crate::pr_status::deliver::comment(&github, repo, pr, &body).await {
                tracing::warn!(repo, pr, error = %e, "the reply was not posted; giving up");
            }
        });
    }
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let Some(hook) = state.webhook.as_ref() else {
        return Err(WebError::NotFound("no webhook is configured".into()));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if !signature::verify(&hook.secret, &body, header(signature::HEADER)) {
        return Err(WebError::Unauthorized(
            "the X-Hub-Signature-256 is missing or does not match".into(),
        ));
    }
    let delivery = header(deliveries::HEADER);
    let (origin, work) = match header("x-github-event") {
        Some("ping") => return Ok(answer(StatusCode::OK, "pong")),
        Some("issue_comment") => match comment_work(&state, hook, &body).await? {
            Ok(found) => found,
            Err(ignored) => return Ok(ignored),
        },
        Some("pull_request") => match pull_request_work(hook, &body)? {
            Ok(found) => found,
            Err(ignored) => return Ok(ignored),
        },
        _ => {
            return Ok(answer(
                StatusCode::OK,
                "ignored: not an event previews follow",
            ))
        }
    };
    let delivery =
        delivery.ok_or_else(|| WebError::BadRequest("no X-GitHub-Delivery header".into()))?;
    if !deliveries::first_time(&state, delivery).await? {
        return Ok(answer(StatusCode::OK, "ignored: this delivery was handled"));
    }
    match act(&state, &origin, work).await {
        Ok(text) => {
            origin.reply(&state, &text, false);
            Ok(answer(StatusCode::ACCEPTED, text))
        }
        // A refusal is an answer (the reply says why), not a failed delivery.
        Err(WebError::BadRequest(text)) => {
            origin.reply(&state, &text, true);
            Ok(answer(StatusCode::OK, format!("refused: {text}")))
        }
        Err(e) => {
            // Acting failed part-way (AWS, GitHub): let a redelivery try again.
            deliveries::forget(&state, delivery).await;
            Err(e)
        }
    }
}

/// What a delivery asks, once it is known to be for us; `Err` is the answer to an ignored one.
type Found = Result<(Origin, Work), Response>;

/// What to do for a PR.
enum Work {
    /// A `/preview` command.
    Command(Command),
    /// Replace the PR's live previews with its new head.
    Replace,
}

/// A new `/preview` comment on a DSpace PR from an allowed login.
async fn comment_work(
    state: &AppState,
    hook: &crate::webhook::WebhookSettings,
    body: &[u8],
) -> Result<Found, WebError> {
    let ignored = |why: &str| Ok(Err(answer(StatusCode::OK, format!("ignored: {why}"))));
    let event: IssueCommentEvent = serde_json::from_slice(body)
        .map_err(|e| WebError::BadRequest(format!("not an issue_comment payload: {e}")))?;
    let Some(repo) = canonical_repo(&event.repository.full_name) else {
        return ignored("not a DSpace repository");
    };
    if !event.is_new_pr_comment() {
        return ignored("not a new comment on a PR");
    }
    let Some(parsed) = command::parse(&event.comment.body) else {
        return ignored("not a /preview command");
    };
    let origin = Origin {
        repo,
        pr: event.issue.number,
        login: event.sender.login,
    };
    let command = match parsed {
        Ok(command) => command,
        Err(e) => {
            origin.reply(state, &e.to_string(), true);
            return ignored(&e.to_string());
        }
    };
    if !allowed(state, hook, &origin.login).await? {
        origin.reply(
            state,
            "thanks for asking! Previews can be started by the people listed by the project, \
             members of its configured GitHub teams, and those with triage access or more on \
             the DSpace repositories; please ask one of them.",
            true,
        );
        return ignored("the sender is not allowed");
    }
    Ok(Ok((origin, Work::Command(command))))
}

/// A `pull_request` event that asks something of the PR's previews.
fn pull_request_work(
    hook: &crate::webhook::WebhookSettings,
    body: &[u8],
) -> Result<Found, WebError> {
    let ignored = |why: &str| Ok(Err(answer(StatusCode::OK, format!("ignored: {why}"))));
    let event: PullRequestEvent = serde_json::from_slice(body)
        .map_err(|e| WebError::BadRequest(format!("not a pull_request payload: {e}")))?;
    let Some(repo) = canonical_repo(&event.repository.full_name) else {
        return ignored("not a DSpace repository");
    };
    let work = match event.intent(&hook.label) {
        PullRequestIntent::Start => Work::Command(Command::Start {
            ttl: None,
            with: None,
        }),
        PullRequestIntent::Stop => Work::Command(Command::Stop),
        PullRequestIntent::Pushed if hook.replace_on_push => Work::Replace,
        PullRequestIntent::Pushed => return ignored("replacing previews on push is off"),
        PullRequestIntent::Ignore => return ignored("not a preview label, a close or a push"),
    };
    let origin = Origin {
        repo,
        pr: event.number,
        login: event.sender.login,
    };
    Ok(Ok((origin, work)))
}

/// Whether `login` may start previews: listed, or a member or collaborator GitHub vouches for.
async fn allowed(
    state: &AppState,
    hook: &crate::webhook::WebhookSettings,
    login: &str,
) -> Result<bool, WebError> {
    if hook.allowed_users.contains(login) {
        return Ok(true);
    }
    let own;
    let rules = match state.signin.github() {
        Some(github) => &github.rules,
        None => {
            own = Membership {
                allowed: hook.allowed_users.clone(),
                maintainers: Default::default(),
                groups: Vec::new(),
            };
            &own
        }
    };
    Ok(membership::is_allowed(&state.github, rules, login, None)
        .await?
        .is_allowed())
}

/// Carries out what a delivery asks; the text says what happened.
async fn act(state: &AppState, origin: &Origin, work: Work) -> Result<String, WebError> {
    match work {
        Work::Command(command) => command_act(state, origin, command).await,
        Work::Replace => replace(state, origin).await,
    }
}

/// Carries out a command; the text says what happened.
async fn command_act(
    state: &AppState,
    origin: &Origin,
    command: Command,
) -> Result<String, WebError> {
    match command {
        Command::Start { ttl, with } => start(state, origin, ttl, with).await,
        Command::Stop => callback(state, origin, Action::Stop).await,
        Command::Extend(minutes) => callback(state, origin, Action::Extend(minutes)).await,
    }
}

/// Launches a preview of the PR (and the paired one) through the launch form's checks.
async fn start(
    state: &AppState,
    origin: &Origin,
    ttl: Option<u32>,
    with: Option<(&'static str, u64)>,
) -> Result<String, WebError> {
    let login = origin.login.as_str();
    let mut sources = vec![(origin.repo, origin.pr)];
    if let Some((repo, pr)) = with {
        if repo == origin.repo {
            return Err(WebError::BadRequest(format!(
                "`with` pairs the other repository's PR; this PR is already {repo}'s"
            )));
        }
        sources.push((repo, pr));
    }
    let request = PreviewRequest {
        sources: sources
            .into_iter()
            .map(|(repo, pr)| SourceInput {
                repo: repo.into(),
                pr: Some(pr),
                ..Default::default()
            })
            .collect(),
        ttl_minutes: ttl,
        requester: login.to_string(),
        ..Default::default()
    };
    request.precheck(state.ctx.base.min_ttl_minutes)?;
    let overview = workflow::overview(state).await?;
    let rules = overview.config.request_rules();
    request.validate(&rules)?;
    let admission = launch::admit_request(state, login, &overview, request, |backend| {
        let text = format!(
            "this UI PR requires {BACKEND_REPO}#{n}; comment `/preview with {BACKEND_REPO}#{n}` to launch them together",
            n = backend.number
        );
        Some(Back(StatusCode::OK, Message::Notice(text)))
    })
    .await?;
    match admission {
        Admission::Admitted(admitted) => {
            let id = launch::start(state, &admitted).await?;
            tracing::info!(preview = %id, by = login, pr = origin.pr, "launched from GitHub");
            Ok(format!("started preview {id}"))
        }
        Admission::FormBack(Back(_, Message::Error(text) | Message::Notice(text))) => {
            Err(WebError::BadRequest(text))
        }
    }
}

/// The live previews of the PR. Their instances' tags say which PRs they build; a preview
/// without an instance yet (the capacity check, the launch) is read from its execution input.
async fn live_of(state: &AppState, origin: &Origin) -> Result<Vec<LivePreview>, WebError> {
    let overview = workflow::overview(state).await?;
    let tag = format!("#{}", origin.pr);
    let mut found = Vec::new();
    for mut p in overview.live {
        if p.instance_id.is_none() {
            if let Ok(id) = PreviewId::parse(&p.id) {
                fill_from_input(&mut p, workflow::input(state, &id).await?);
            }
        }
        let ours = match origin.repo {
            BACKEND_REPO => p.backend == tag,
            _ => p.ui == tag,
        };
        if ours {
            found.push(p);
        }
    }
    Ok(found)
}

/// The PRs and requester of a preview with no instance, as its tags would say them.
fn fill_from_input(p: &mut LivePreview, input: Option<ExecutionInput>) {
    let Some(input) = input else { return };
    for source in &input.request.sources {
        let Some(n) = source.pr else { continue };
        match canonical_repo(&source.repo) {
            Some(BACKEND_REPO) => p.backend = format!("#{n}"),
            Some(_) => p.ui = format!("#{n}"),
            None => {}
        }
    }
    p.requester = input.request.requester;
}

/// Sends `action` to every live preview of the PR.
async fn callback(state: &AppState, origin: &Origin, action: Action) -> Result<String, WebError> {
    let ids: Vec<PreviewId> = live_of(state, origin)
        .await?
        .iter()
        .filter_map(|p| PreviewId::parse(&p.id).ok())
        .collect();
    if ids.is_empty() {
        return Err(WebError::BadRequest(format!(
            "no live preview of {}#{}",
            origin.repo, origin.pr
        )));
    }
    let mut done = Vec::new();
    for id in ids {
        done.push(format!(
            "preview {id} {}",
            sent(state, &id, action, &origin.login).await?
        ));
    }
    Ok(done.join("; "))
}

/// Sends one callback; says how it went.
async fn sent(
    state: &AppState,
    id: &PreviewId,
    action: Action,
    by: &str,
) -> Result<&'static str, WebError> {
    Ok(match workflow::callback(state, id, action, by).await? {
        Callback::Sent => "done",
        Callback::Ended => "had already ended",
        Callback::NotWaiting => "is not ready for that yet; try again in a minute",
        Callback::StopRequested => "will stop at its next check",
    })
}

/// A push to the PR: each live preview of it is stopped and started again on the new head, for
/// the same requester, paired PR and remaining time.
async fn replace(state: &AppState, origin: &Origin) -> Result<String, WebError> {
    let live = live_of(state, origin).await?;
    if live.is_empty() {
        return Ok(format!(
            "no live preview of {}#{} to replace",
            origin.repo, origin.pr
        ));
    }
    let min_ttl = i64::from(state.ctx.base.min_ttl_minutes);
    let mut done = Vec::new();
    for p in live {
        let Ok(id) = PreviewId::parse(&p.id) else {
            continue;
        };
        let left = p
            .expires_at
            .map_or(0, |t| (t - chrono::Utc::now()).num_minutes())
            .max(min_ttl);
        let paired = match origin.repo {
            BACKEND_REPO => (UI_REPO, p.ui.as_str()),
            _ => (BACKEND_REPO, p.backend.as_str()),
        };
        let with = paired
            .1
            .strip_prefix('#')
            .and_then(|n| n.parse().ok())
            .map(|n| (paired.0, n));
        let stopped = sent(state, &id, Action::Stop, &origin.login).await?;
        let requester = Origin {
            repo: origin.repo,
            pr: origin.pr,
            login: if p.requester.is_empty() {
                origin.login.clone()
            } else {
                p.requester.clone()
            },
        };
        let ttl = u32::try_from(left).unwrap_or(u32::MAX);
        let started = start(state, &requester, Some(ttl), with).await?;
        done.push(format!(
            "preview {id} stop {stopped}; {started} on the new head"
        ));
    }
    Ok(done.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preview_tasks::domain::preview_id::PreviewId;

    #[test]
    fn a_preview_without_an_instance_is_known_by_its_input() {
        let mut p = LivePreview {
            id: "dsp-b9876-u4321-202612031000-ab12".into(),
            ..LivePreview::default()
        };
        let input = ExecutionInput {
            preview_id: PreviewId::parse(&p.id).unwrap(),
            request: PreviewRequest {
                sources: vec![
                    SourceInput {
                        repo: "dspace/dspace".into(),
                        pr: Some(9876),
                        ..Default::default()
                    },
                    SourceInput {
                        repo: UI_REPO.into(),
                        pr: Some(4321),
                        ..Default::default()
                    },
                ],
                requester: "alice".into(),
                ..Default::default()
            },
        };
        fill_from_input(&mut p, Some(input));
        assert_eq!((p.backend.as_str(), p.ui.as_str()), ("#9876", "#4321"));
        assert_eq!(p.requester, "alice");
        let mut unread = LivePreview::default();
        fill_from_input(&mut unread, None);
        assert!(unread.backend.is_empty());
    }
}
