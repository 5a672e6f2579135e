//! Where a deployment keeps things: SSM parameter paths and CloudWatch Logs names.

use super::preview_id::PreviewId;

/// The naming scheme of one deployment (stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    stack: String,
}

impl Names {
    /// Names for the deployment called `stack`.
    pub fn new(stack: &str) -> Names {
        Names {
            stack: stack.to_string(),
        }
    }

    /// The stack name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Root of all our parameters: `/dspace-preview/<stack>`.
    pub fn parameter_root(&self) -> String {
        format!("/dspace-preview/{}", self.stack)
    }

    /// Where operators override dials at run time.
    pub fn config_path(&self) -> String {
        format!("{}/config/", self.parameter_root())
    }

    /// Where slot reservations live.
    pub fn slots_path(&self) -> String {
        format!("{}/slots/", self.parameter_root())
    }

    /// The reservation parameter of slot `k` (1-based).
    pub fn slot(&self, k: u32) -> String {
        format!("{}{k}", self.slots_path())
    }

    /// Where every preview's parameters live (one folder per preview id).
    pub fn previews_path(&self) -> String {
        format!("{}/previews/", self.parameter_root())
    }

    /// The preview a parameter under [`Names::previews_path`] belongs to.
    pub fn preview_of_parameter<'a>(&self, name: &'a str) -> Option<&'a str> {
        let rest = name.strip_prefix(&self.previews_path())?;
        rest.split('/').next().filter(|id| !id.is_empty())
    }

    /// Everything that belongs to one preview (removed at terminate).
    pub fn preview_path(&self, id: &PreviewId) -> String {
        format!("{}/previews/{id}", self.parameter_root())
    }

    /// The waiting task token of a preview (SecureString).
    pub fn task_token(&self, id: &PreviewId) -> String {
        format!("{}/task-token", self.preview_path(id))
    }

    /// A stop asked for while no task token waits (building, or between two waits): the health
    /// step and the await-expiry step honour it.
    pub fn stop_request(&self, id: &PreviewId) -> String {
        format!("{}/stop-request", self.preview_path(id))
    }

    /// The preview's DSpace admin password (SecureString), made by the launch step.
    pub fn admin_password(&self, id: &PreviewId) -> String {
        format!("{}/admin-password", self.preview_path(id))
    }

    /// The recent launch times of one person (`user_key` is already parameter-name safe).
    pub fn user_launches(&self, user_key: &str) -> String {
        format!("{}/users/{user_key}/launches", self.parameter_root())
    }

    /// The CloudWatch Logs group of all previews.
    pub fn log_group(&self) -> String {
        format!("/dspace-preview/{}", self.stack)
    }

    /// The ECR repository of built images (the CDK app creates it with this name).
    pub fn build_cache_repository(&self) -> String {
        format!("{}/preview-cache", self.stack)
    }

    /// Every stream of a preview starts with this.
    pub fn log_stream_prefix(&self, id: &PreviewId) -> String {
        format!("{id}/")
    }

    /// The boot script's own stream.
    pub fn boot_log_stream(&self, id: &PreviewId) -> String {
        format!("{id}/boot")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest_under_the_stack() {
        let n = Names::new("prod");
        let id = PreviewId::parse("dsp-b1-202601010000-0001").unwrap();
        assert_eq!(n.slot(2), "/dspace-preview/prod/slots/2");
        assert_eq!(
            n.task_token(&id),
            "/dspace-preview/prod/previews/dsp-b1-202601010000-0001/task-token"
        );
        assert!(n.admin_password(&id).starts_with(&n.preview_path(&id)));
        assert_eq!(
            n.preview_of_parameter(&n.stop_request(&id)),
            Some(id.as_str())
        );
        assert_eq!(n.preview_of_parameter(&n.slot(1)), None);
        assert_eq!(n.log_group(), "/dspace-preview/prod");
        assert_eq!(n.boot_log_stream(&id), "dsp-b1-202601010000-0001/boot");
        assert!(n
            .boot_log_stream(&id)
            .starts_with(&n.log_stream_prefix(&id)));
    }
}
