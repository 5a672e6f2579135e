//! Shareable callback links: `/l/<preview id>.<action>.<expiry>.<signature>`.
//!
//! GET shows a confirmation page and only POST acts, so mail and chat link scanners that fetch
//! every URL cannot extend or stop anything. The HMAC covers the preview id, the action and the
//! expiry; anything forged, altered or expired is refused with 403.

use chrono::{DateTime, TimeZone, Utc};
use preview_tasks::domain::preview_id::PreviewId;

use crate::error::WebError;
use crate::sign::Signer;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Extend by 30 minutes.
    Extend30,
    /// Extend by 60 minutes.
    Extend60,
    /// Stop now.
    Stop,
}

impl LinkAction {
    /// Every action, in the order pages list them.
    pub const ALL: [LinkAction; 3] = [LinkAction::Extend30, LinkAction::Extend60, LinkAction::Stop];

    /// The name in the link.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Extend30 => "extend-30",
            LinkAction::Extend60 => "extend-60",
            LinkAction::Stop => "stop",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            LinkAction::Extend30 => "Extend by 30 minutes",
            LinkAction::Extend60 => "Extend by 60 minutes",
            LinkAction::Stop => "Stop the preview",
        }
    }

    fn parse(s: &str) -> Option<LinkAction> {
        LinkAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A verified link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Whose preview.
    pub id: PreviewId,
    /// What it does.
    pub action: LinkAction,
    /// Until when it works.
    pub expires: DateTime<Utc>,
}

/// Every action's link to preview `id`, valid until `expires`, under `base` (the public URL, or
/// "" for links relative to the app).
pub fn all_for(
    signer: &Signer,
    id: &PreviewId,
    expires: DateTime<Utc>,
    base: &str,
) -> Vec<(LinkAction, String)> {
    LinkAction::ALL
        .into_iter()
        .map(|action| {
            let link = Link {
                id: id.clone(),
                action,
                expires,
            };
            (action, format!("{base}/l/{}", encode(signer, &link)))
        })
        .collect()
}

/// The link token (the path segment after `/l/`).
pub fn encode(signer: &Signer, link: &Link) -> String {
    let body = format!(
        "{}.{}.{}",
        link.id,
        link.action.as_str(),
        link.expires.timestamp()
    );
    format!("{body}.{}", signer.sign("link", &body))
}

/// The link a token stands for, or 403 when it is forged, altered, malformed or expired.
pub fn decode(signer: &Signer, token: &str, now: DateTime<Utc>) -> Result<Link, WebError> {
    let forbidden =
        || WebError::Forbidden("this link is not valid: it was altered or forged".into());
    let (body, sig) = token.rsplit_once('.').ok_or_else(forbidden)?;
    if !signer.verify("link", body, sig) {
        return Err(forbidden());
    }
    let mut parts = body.splitn(3, '.');
    let (Some(id), Some(action), Some(expires)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(forbidden());
    };
    let id = PreviewId::parse(id).map_err(|_| forbidden())?;
    let action = LinkAction::parse(action).ok_or_else(forbidden)?;
    let expires = expires
        .parse::<i64>()
        .ok()
        .and_then(|t| Utc.timestamp_opt(t, 0).single())
        .ok_or_else(forbidden)?;
    if expires <= now {
        return Err(WebError::Forbidden(format!(
            "this link expired at {}",
            expires.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(Link {
        id,
        action,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn signer() -> Signer {
        Signer::new(&[3u8; 32]).unwrap()
    }

    fn link(now: DateTime<Utc>) -> Link {
        Link {
            id: PreviewId::parse("dsp-b1-202601010000-0001").unwrap(),
            action: LinkAction::Extend60,
            expires: Utc.timestamp_opt(now.timestamp() + 3600, 0).unwrap(),
        }
    }

    #[test]
    fn a_link_round_trips() {
        let now = Utc::now();
        let token = encode(&signer(), &link(now));
        assert_eq!(decode(&signer(), &token, now).unwrap(), link(now));
    }

    #[test]
    fn altered_forged_and_expired_links_are_forbidden() {
        let now = Utc::now();
        let token = encode(&signer(), &link(now));
        let altered = token.replace("extend-60", "stop");
        let other_key = encode(&Signer::new(&[4u8; 32]).unwrap(), &link(now));
        for bad in [
            altered.as_str(),
            other_key.as_str(),
            "",
            "x.y",
            "dsp-a.stop.1.zz",
        ] {
            let err = decode(&signer(), bad, now).unwrap_err();
            assert!(matches!(err, WebError::Forbidden(_)), "{bad}: {err}");
        }
        let err = decode(&signer(), &token, now + Duration::hours(2)).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }
}
