//! The public URLs of a preview and links to the AWS consoles.

use serde::{Deserialize, Serialize};

/// Where a running preview answers (one reverse proxy on the instance: port 80 on its EC2 name,
/// or HTTPS on its own name when the deployment has a domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewUrls {
    /// The Angular UI.
    pub ui_url: String,
    /// The REST API root.
    pub rest_url: String,
}

impl PreviewUrls {
    /// URLs for an instance's public DNS name.
    pub fn for_host(public_dns: &str) -> PreviewUrls {
        let host = public_dns.trim().trim_end_matches('.');
        PreviewUrls {
            ui_url: format!("http://{host}/"),
            rest_url: format!("http://{host}/server"),
        }
    }

    /// URLs for a preview's own DNS name, served over HTTPS by the instance's proxy.
    pub fn for_public_name(name: &str) -> PreviewUrls {
        let host = name.trim().trim_end_matches('.');
        PreviewUrls {
            ui_url: format!("https://{host}/"),
            rest_url: format!("https://{host}/server"),
        }
    }
}

/// The Step Functions console page of an execution.
pub fn execution_console_url(region: &str, execution_arn: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}")
}

/// The CloudWatch Logs console page of a preview's streams.
pub fn logs_console_url(region: &str, log_group: &str, stream_prefix: &str) -> String {
    // The console wants its own escaping: '/' as $252F inside the fragment.
    let esc = |s: &str| s.replace('/', "$252F");
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}$3FlogStreamNameFilter$3D{}",
        esc(log_group),
        esc(stream_prefix)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ui_and_rest_urls() {
        let u = PreviewUrls::for_host("ec2-54-1-2-3.compute-1.amazonaws.com");
        assert_eq!(u.ui_url, "http://ec2-54-1-2-3.compute-1.amazonaws.com/");
        assert_eq!(
            u.rest_url,
            "http://ec2-54-1-2-3.compute-1.amazonaws.com/server"
        );
    }

    #[test]
    fn a_public_name_is_served_over_https() {
        let u = PreviewUrls::for_public_name("b1-u2-ab12.previews.example.org.");
        assert_eq!(u.ui_url, "https://b1-u2-ab12.previews.example.org/");
        assert_eq!(u.rest_url, "https://b1-u2-ab12.previews.example.org/server");
    }

    #[test]
    fn console_links_name_region_and_resource() {
        let e = execution_console_url("eu-west-1", "arn:aws:states:eu-west-1:1:execution:sm:x");
        assert!(e.starts_with("https://eu-west-1.console.aws.amazon.com/states/"));
        assert!(e.ends_with("execution:sm:x"));
        let l = logs_console_url("us-east-1", "/dspace-preview/p", "dsp-1/");
        assert!(l.contains("$252Fdspace-preview$252Fp"), "{l}");
    }
}
