//! `POST /github/webhook`: `/preview` commands in PR comments. Only a delivery signed with the
//! webhook secret is read at all; a new `/preview` comment on a DSpace PR, from an allowed
//! login, is acted on once per delivery id. The answer comes as soon as the execution is started
//! (GitHub gives a hook 10 seconds): the capacity check's verdict is not awaited.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{PreviewRequest, SourceInput, BACKEND_REPO};

use super::launch::{self, Admission, Back, Message};
use crate::error::WebError;
use crate::state::AppState;
use crate::webhook::command::{self, canonical_repo, Command};
use crate::webhook::event::IssueCommentEvent;
use crate::webhook::{deliveries, signature};
use crate::workflow::{self, Action, Callback};

/// The webhook.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/github/webhook", post(receive))
}

/// The answer to GitHub: a status and a line of text (shown in the hook's delivery log).
fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (status, text.into()).into_response()
}

/// The PR a command came from, for the log and the (future) reply.
struct Origin<'a> {
    repo: &'static str,
    pr: u64,
    login: &'a str,
}

impl Origin<'_> {
    /// Where the reply on the PR goes once replies are posted; until then the log says it.
    fn reply(&self, text: &str) {
        tracing::info!(
            repo = self.repo,
            pr = self.pr,
            to = self.login,
            reply = text,
            "webhook reply (not posted on the PR yet)"
        );
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
    match header("x-github-event") {
        Some("ping") => return Ok(answer(StatusCode::OK, "pong")),
        Some("issue_comment") => {}
        _ => return Ok(answer(StatusCode::OK, "ignored: not an issue comment")),
    }
    let event: IssueCommentEvent = serde_json::from_slice(&body)
        .map_err(|e| WebError::BadRequest(format!("not an issue_comment payload: {e}")))?;
    let Some(repo) = canonical_repo(&event.repository.full_name) else {
        return Ok(answer(StatusCode::OK, "ignored: not a DSpace repository"));
    };
    if !event.is_new_pr_comment() {
        return Ok(answer(StatusCode::OK, "ignored: not a new comment on a PR"));
    }
    let Some(parsed) = command::parse(&event.comment.body) else {
        return Ok(answer(StatusCode::OK, "ignored: not a /preview command"));
    };
    let origin = Origin {
        repo,
        pr: event.issue.number,
        login: &event.sender.login,
    };
    let command = match parsed {
        Ok(command) => command,
        Err(e) => {
            origin.reply(&e.to_string());
            return Ok(answer(StatusCode::OK, format!("ignored: {e}")));
        }
    };
    if !hook.allowed_users.contains(origin.login) {
        origin.reply("you are not among the people allowed to command previews");
        return Ok(answer(StatusCode::OK, "ignored: the sender is not allowed"));
    }
    let delivery = header(deliveries::HEADER)
        .ok_or_else(|| WebError::BadRequest("no X-GitHub-Delivery header".into()))?;
    if !deliveries::first_time(&state, delivery).await? {
        return Ok(answer(StatusCode::OK, "ignored: this delivery was handled"));
    }
    match act(&state, &origin, command).await {
        Ok(text) => {
            origin.reply(&text);
            Ok(answer(StatusCode::ACCEPTED, text))
        }
        // A refusal is an answer (the reply says why), not a failed delivery.
        Err(WebError::BadRequest(text)) => {
            origin.reply(&text);
            Ok(answer(StatusCode::OK, format!("refused: {text}")))
        }
        Err(e) => {
            // Acting failed part-way (AWS, GitHub): let a redelivery try again.
            deliveries::forget(&state, delivery).await;
            Err(e)
        }
    }
}

/// Carries out a command from an allowed person; the text says what happened.
async fn act(state: &AppState, origin: &Origin<'_>, command: Command) -> Result<String, WebError> {
    match command {
        Command::Start { ttl, with } => start(state, origin, ttl, with).await,
        Command::Stop => callback(state, origin, Action::Stop).await,
        Command::Extend(minutes) => callback(state, origin, Action::Extend(minutes)).await,
    }
}

/// Launches a preview of the PR (and the paired one) through the launch form's checks.
async fn start(
    state: &AppState,
    origin: &Origin<'_>,
    ttl: Option<u32>,
    with: Option<(&'static str, u64)>,
) -> Result<String, WebError> {
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
        requester: origin.login.to_string(),
        ..Default::default()
    };
    request.precheck(state.ctx.base.min_ttl_minutes)?;
    let overview = workflow::overview(state).await?;
    let rules = overview.config.request_rules();
    request.validate(&rules)?;
    let admission = launch::admit_request(state, origin.login, &overview, request, |backend| {
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
            tracing::info!(preview = %id, by = origin.login, pr = origin.pr, "launched from a PR comment");
            Ok(format!("started preview {id}"))
        }
        Admission::FormBack(Back(_, Message::Error(text) | Message::Notice(text))) => {
            Err(WebError::BadRequest(text))
        }
    }
}

/// Sends `action` to every live preview of the PR.
async fn callback(
    state: &AppState,
    origin: &Origin<'_>,
    action: Action,
) -> Result<String, WebError> {
    let overview = workflow::overview(state).await?;
    let tag = format!("#{}", origin.pr);
    let ids: Vec<PreviewId> = overview
        .live
        .iter()
        .filter(|p| match origin.repo {
            BACKEND_REPO => p.backend == tag,
            _ => p.ui == tag,
        })
        .filter_map(|p| PreviewId::parse(&p.id).ok())
        .collect();
    if ids.is_empty() {
        return Err(WebError::BadRequest(format!(
            "no live preview of {}#{} has an instance yet",
            origin.repo, origin.pr
        )));
    }
    let mut done = Vec::new();
    for id in ids {
        let outcome = match workflow::callback(state, &id, action, origin.login).await? {
            Callback::Sent => "done",
            Callback::Ended => "had already ended",
            Callback::NotWaiting => "is not ready for that yet; try again in a minute",
            Callback::StopRequested => "will stop at its next check",
        };
        done.push(format!("preview {id} {outcome}"));
    }
    Ok(done.join("; "))
}
