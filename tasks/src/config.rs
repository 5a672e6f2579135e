//! The dials of a deployment: defaults here, then the environment, then SSM overrides at run time.

use crate::domain::cost::{self, Usd};
use crate::domain::names::Names;
use crate::domain::request::RequestRules;
use crate::domain::ttl::Lifetime;
use crate::error::StepError;

/// Every dial. Each has a kebab-case key: `PREVIEW_<KEY>` in the environment and
/// `/dspace-preview/<stack>/config/<key>` in SSM Parameter Store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The deployment's name (tags, parameter paths, log group).
    pub stack: String,
    /// At most this many live previews.
    pub max_live: u32,
    /// EC2 instance type.
    pub instance_type: String,
    /// SSM parameter holding the AMI id.
    pub ami_parameter: String,
    /// Subnet to launch into (default VPC when unset).
    pub subnet_id: Option<String>,
    /// Security groups of the instance.
    pub security_group_ids: Vec<String>,
    /// Instance profile name (SSM core + its own log group).
    pub instance_profile: Option<String>,
    /// Try spot first, on-demand when spot has no capacity.
    pub use_spot: bool,
    /// TTL when a request names none.
    pub default_ttl_minutes: u32,
    /// Shortest TTL.
    pub min_ttl_minutes: u32,
    /// Hard maximum lifetime, extensions included.
    pub max_lifetime_minutes: u32,
    /// The most a preview may take from launch to healthy; each preview's own deadline follows
    /// what it builds (`domain::boot_budget`), at most this.
    pub health_deadline_minutes: u32,
    /// How long one health-check invocation keeps polling before reporting "not yet".
    pub health_poll_budget_seconds: u64,
    /// Pause between two health checks within one invocation.
    pub health_poll_interval_seconds: u64,
    /// Root volume size.
    pub volume_gib: i32,
    /// The admin account's e-mail on every preview.
    pub admin_email: String,
    /// Backend environment keys a request may set (trailing `*` = prefix).
    pub env_allowlist: Vec<String>,
    /// The state machine whose executions own previews (the reaper checks them).
    pub state_machine_arn: Option<String>,
    /// The instance's price per hour for cost estimates; the us-east-1 on-demand price when unset.
    pub hourly_price_usd: Option<Usd>,
    /// How many previews one person may launch within an hour (the web app enforces it).
    pub launches_per_user_per_hour: u32,
    /// How many previews may be launched within an hour in all (the web app enforces it).
    pub launches_per_hour: u32,
    /// The ECR repository URI where instances keep built images (`…/preview-cache`); no cache when unset.
    pub build_cache_repository: Option<String>,
    /// Run-time dials that were set but could not be used (their defaults apply instead).
    pub ignored_dials: Vec<IgnoredDial>,
}

/// A run-time dial an operator set that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredDial {
    /// The SSM parameter's name.
    pub parameter: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stack: "dspace-preview".into(),
            max_live: 3,
            // 4 vCPUs and 16 GB: the backend and UI builds run side by side (ami/README.md).
            instance_type: "m7i.xlarge".into(),
            ami_parameter: "/dspace-preview/ami-id".into(),
            subnet_id: None,
            security_group_ids: Vec::new(),
            instance_profile: None,
            use_spot: false,
            default_ttl_minutes: 120,
            min_ttl_minutes: 30,
            max_lifetime_minutes: 480,
            health_deadline_minutes: 90,
            health_poll_budget_seconds: 600,
            health_poll_interval_seconds: 20,
            volume_gib: 60,
            admin_email: "admin@preview.dspace.invalid".into(),
            env_allowlist: [
                "dspace__P__name",
                "webui__P__*",
                "researcher__D__profile__P__*",
                "orcid__P__*",
                "authority__P__*",
                "identifiers__P__*",
                "logging__P__level__P__*",
            ]
            .map(String::from)
            .to_vec(),
            state_machine_arn: None,
            hourly_price_usd: None,
            launches_per_user_per_hour: 4,
            launches_per_hour: 20,
            build_cache_repository: None,
            ignored_dials: Vec::new(),
        }
    }
}

/// The keys operators may change at run time through SSM (the rest is deployment structure).
pub const RUNTIME_KEYS: [&str; 10] = [
    "max-live",
    "hourly-price-usd",
    "launches-per-user-per-hour",
    "launches-per-hour",
    "instance-type",
    "default-ttl-minutes",
    "max-lifetime-minutes",
    "health-deadline-minutes",
    "use-spot",
    "env-allowlist",
];

impl Config {
    /// Defaults overlaid with `PREVIEW_*` environment variables.
    pub fn from_env() -> Result<Config, StepError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Defaults overlaid with whatever `lookup` finds for each `PREVIEW_<KEY>`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, StepError> {
        let mut config = Config::default();
        for key in ALL_KEYS {
            if let Some(value) = lookup(&env_name(key)) {
                config.set(key, &value)?;
            }
        }
        Ok(config)
    }

    /// Applies one dial by key; the error names the key and what it expects.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), StepError> {
        let v = value.trim();
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let list = |v: &str| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        match key {
            "stack" => self.stack = nonempty(key, v)?,
            "max-live" => self.max_live = number(key, v)?,
            "instance-type" => self.instance_type = nonempty(key, v)?,
            "ami-parameter" => self.ami_parameter = nonempty(key, v)?,
            "subnet-id" => self.subnet_id = opt(v),
            "security-group-ids" => self.security_group_ids = list(v),
            "instance-profile" => self.instance_profile = opt(v),
            "use-spot" => self.use_spot = boolean(key, v)?,
            "default-ttl-minutes" => self.default_ttl_minutes = number(key, v)?,
            "min-ttl-minutes" => self.min_ttl_minutes = number(key, v)?,
            "max-lifetime-minutes" => self.max_lifetime_minutes = number(key, v)?,
            "health-deadline-minutes" => self.health_deadline_minutes = number(key, v)?,
            "health-poll-budget-seconds" => self.health_poll_budget_seconds = number(key, v)?,
            "health-poll-interval-seconds" => self.health_poll_interval_seconds = number(key, v)?,
            "volume-gib" => self.volume_gib = number(key, v)?,
            "admin-email" => self.admin_email = nonempty(key, v)?,
            "env-allowlist" => self.env_allowlist = list(v),
            "state-machine-arn" => self.state_machine_arn = opt(v),
            "hourly-price-usd" => {
                self.hourly_price_usd =
                    match v {
                        "" => None,
                        v => Some(v.parse().map_err(|e| {
                            StepError::Config(format!("dial hourly-price-usd: {e}"))
                        })?),
                    }
            }
            "launches-per-user-per-hour" => self.launches_per_user_per_hour = number(key, v)?,
            "launches-per-hour" => self.launches_per_hour = number(key, v)?,
            "build-cache-repository" => self.build_cache_repository = opt(v),
            other => {
                return Err(StepError::Config(format!(
                    "unknown dial '{other}'; known: {}",
                    ALL_KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Applies run-time overrides read from SSM (`name` is the full parameter name). An operator's
    /// typo must not stop live previews or the home page: a dial that is unknown or malformed is
    /// skipped (its default stays), and TTL dials that contradict each other fall back together.
    /// What was skipped is logged and kept in [`Config::ignored_dials`] for the home page.
    pub fn apply_overrides<'a>(&mut self, params: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let defaults = self.clone();
        for (name, value) in params {
            let key = name.rsplit('/').next().unwrap_or(name);
            let applied = if RUNTIME_KEYS.contains(&key) {
                self.set(key, value).map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "not a run-time dial; allowed: {}",
                    RUNTIME_KEYS.join(", ")
                ))
            };
            if let Err(reason) = applied {
                self.ignore(name, reason);
            }
        }
        if let Err(e) = self.check() {
            self.min_ttl_minutes = defaults.min_ttl_minutes;
            self.default_ttl_minutes = defaults.default_ttl_minutes;
            self.max_lifetime_minutes = defaults.max_lifetime_minutes;
            self.health_poll_interval_seconds = defaults.health_poll_interval_seconds;
            self.ignore("TTL dials", format!("{e}; the deployment's values apply"));
        }
    }

    fn ignore(&mut self, parameter: &str, reason: String) {
        tracing::warn!(%parameter, %reason, "run-time dial ignored");
        self.ignored_dials.push(IgnoredDial {
            parameter: parameter.to_string(),
            reason,
        });
    }

    /// Cross-field sanity, so a bad override fails loudly instead of misbehaving.
    pub fn check(&self) -> Result<(), StepError> {
        if self.min_ttl_minutes > self.default_ttl_minutes
            || self.default_ttl_minutes > self.max_lifetime_minutes
        {
            return Err(StepError::Config(format!(
                "TTLs must satisfy min ({}) <= default ({}) <= max lifetime ({})",
                self.min_ttl_minutes, self.default_ttl_minutes, self.max_lifetime_minutes
            )));
        }
        if self.health_poll_interval_seconds == 0 {
            return Err(StepError::Config(
                "health-poll-interval-seconds must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The naming scheme of this deployment.
    pub fn names(&self) -> Names {
        Names::new(&self.stack)
    }

    /// The validation rules for requests.
    pub fn request_rules(&self) -> RequestRules {
        RequestRules {
            default_ttl_minutes: self.default_ttl_minutes,
            min_ttl_minutes: self.min_ttl_minutes,
            max_lifetime_minutes: self.max_lifetime_minutes,
            env_allowlist: self.env_allowlist.clone(),
        }
    }

    /// One preview's price per hour (instance and volume), if the instance type's price is known.
    pub fn preview_hourly(&self) -> Option<Usd> {
        let instance = self
            .hourly_price_usd
            .or_else(|| cost::on_demand_hourly(&self.instance_type))?;
        Some(cost::preview_hourly(
            instance,
            u64::try_from(self.volume_gib).unwrap_or(0),
        ))
    }

    /// The lifetime limits.
    pub fn lifetime(&self) -> Lifetime {
        Lifetime {
            max_lifetime_minutes: self.max_lifetime_minutes,
        }
    }
}

/// Every dial's key, in the order the documentation lists them.
pub const ALL_KEYS: [&str; 22] = [
    "stack",
    "max-live",
    "instance-type",
    "ami-parameter",
    "subnet-id",
    "security-group-ids",
    "instance-profile",
    "use-spot",
    "default-ttl-minutes",
    "min-ttl-minutes",
    "max-lifetime-minutes",
    "health-deadline-minutes",
    "health-poll-budget-seconds",
    "health-poll-interval-seconds",
    "volume-gib",
    "admin-email",
    "env-allowlist",
    "state-machine-arn",
    "hourly-price-usd",
    "launches-per-user-per-hour",
    "launches-per-hour",
    "build-cache-repository",
];

/// `max-live` → `PREVIEW_MAX_LIVE`.
pub fn env_name(key: &str) -> String {
    format!("PREVIEW_{}", key.replace('-', "_").to_ascii_uppercase())
}

fn nonempty(key: &str, v: &str) -> Result<String, StepError> {
    if v.is_empty() {
        Err(StepError::Config(format!(
            "{} must not be empty",
            env_name(key)
        )))
    } else {
        Ok(v.to_string())
    }
}

fn number<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, StepError> {
    v.parse().map_err(|_| {
        StepError::Config(format!(
            "{} must be a whole number, got '{v}'",
            env_name(key)
        ))
    })
}

fn boolean(key: &str, v: &str) -> Result<bool, StepError> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(StepError::Config(format!(
            "{} must be true or false, got '{v}'",
            env_name(key)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_match_the_documentation() {
        let c = Config::default();
        assert_eq!(
            (c.max_live, c.instance_type.as_str(), c.default_ttl_minutes),
            (3, "m7i.xlarge", 120)
        );
        assert_eq!((c.min_ttl_minutes, c.max_lifetime_minutes), (30, 480));
        c.check().unwrap();
    }

    #[test]
    fn environment_overrides_defaults() {
        let env: HashMap<&str, &str> = [
            ("PREVIEW_MAX_LIVE", "5"),
            ("PREVIEW_SECURITY_GROUP_IDS", "sg-1, sg-2"),
            ("PREVIEW_USE_SPOT", "true"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.max_live, 5);
        assert_eq!(c.security_group_ids, vec!["sg-1", "sg-2"]);
        assert!(c.use_spot);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err =
            Config::from_lookup(|k| (k == "PREVIEW_MAX_LIVE").then(|| "three".into())).unwrap_err();
        assert!(
            err.to_string()
                .contains("PREVIEW_MAX_LIVE must be a whole number"),
            "{err}"
        );
    }

    #[test]
    fn ssm_overrides_only_runtime_dials() {
        let mut c = Config::default();
        c.apply_overrides([("/dspace-preview/x/config/max-live", "1")]);
        assert_eq!((c.max_live, c.ignored_dials.len()), (1, 0));
        c.apply_overrides([("/dspace-preview/x/config/stack", "y")]);
        assert_eq!(c.stack, "dspace-preview");
        assert!(c.ignored_dials[0].reason.contains("not a run-time dial"));
    }

    #[test]
    fn a_malformed_dial_is_ignored_and_the_others_apply() {
        let mut c = Config::default();
        c.apply_overrides([
            ("/dspace-preview/x/config/max-live", "three"),
            ("/dspace-preview/x/config/launches-per-user-per-hour", "9"),
        ]);
        assert_eq!((c.max_live, c.launches_per_user_per_hour), (3, 9));
        assert_eq!(c.ignored_dials.len(), 1);
        assert_eq!(
            c.ignored_dials[0].parameter,
            "/dspace-preview/x/config/max-live"
        );
        assert!(
            c.ignored_dials[0].reason.contains("whole number"),
            "{:?}",
            c.ignored_dials
        );
    }

    #[test]
    fn contradicting_ttl_dials_fall_back_together() {
        let mut c = Config::default();
        c.apply_overrides([
            ("/dspace-preview/x/config/default-ttl-minutes", "10"),
            ("/dspace-preview/x/config/max-live", "5"),
        ]);
        assert_eq!((c.default_ttl_minutes, c.max_live), (120, 5));
        assert!(c.ignored_dials[0]
            .reason
            .contains("min (30) <= default (10)"));
        c.check().unwrap();
    }

    #[test]
    fn every_key_is_settable() {
        for key in ALL_KEYS {
            let mut c = Config::default();
            let value = match key {
                "use-spot" => "true",
                k if k.ends_with("minutes")
                    || k.ends_with("seconds")
                    || k == "max-live"
                    || k == "volume-gib"
                    || k == "launches-per-user-per-hour"
                    || k == "launches-per-hour" =>
                {
                    "31"
                }
                "hourly-price-usd" => "0.0832",
                _ => "x",
            };
            c.set(key, value).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }
}
