//! The dials of a deployment: defaults here, then the environment, then SSM overrides at run time.
//! Each dial is declared once, in `dials!` below; the struct, the defaults, the keys, the
//! parsing and the CDK's catalog (`cdk/lib/catalog.json`) all come from that declaration.

use crate::domain::cost::{self, Usd};
use crate::domain::names::Names;
use crate::domain::public_name;
use crate::domain::request::RequestRules;
use crate::domain::ttl::Lifetime;
use crate::error::StepError;

/// Declares the dials: `field: Type, "key", when = default;`, where `when` is `run_time` for
/// the dials operators may change through SSM and `deploy` for deployment structure. How a value
/// is parsed follows its type ([`DialValue`]).
macro_rules! dials {
    (@run_time run_time) => { true };
    (@run_time deploy) => { false };
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty, $key:literal, $when:ident = $default:expr;
    )*) => {
        /// Every dial. Each has a kebab-case key: `PREVIEW_<KEY>` in the environment and
        /// `/dspace-preview/<stack>/config/<key>` in SSM Parameter Store.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Config {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
            /// Run-time dials that were set but could not be used (their defaults apply instead).
            pub ignored_dials: Vec<IgnoredDial>,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($field: $default,)*
                    ignored_dials: Vec::new(),
                }
            }
        }

        /// Every dial, in the order the documentation lists them.
        pub const DIALS: [Dial; [$($key),*].len()] = [$(Dial {
            key: $key,
            run_time: dials!(@run_time $when),
            kind: <$ty as DialValue>::KIND,
            doc: concat!($($doc),*),
        }),*];

        impl Config {
            /// Parses `v` (trimmed) into the dial `key`; false when no dial has that key.
            fn set_known(&mut self, key: &str, v: &str) -> Result<bool, StepError> {
                match key {
                    $($key => self.$field = DialValue::parse($key, v)?,)*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            /// The dial `key`'s value written the way [`Config::set`] reads it.
            fn render(&self, key: &str) -> Option<String> {
                match key {
                    $($key => Some(self.$field.render()),)*
                    _ => None,
                }
            }
        }
    };
}

dials! {
    /// The deployment's name (tags, parameter paths, log group).
    stack: String, "stack", deploy = "dspace-preview".into();
    /// At most this many live previews.
    max_live: u32, "max-live", run_time = 3;
    /// EC2 instance type.
    // 4 vCPUs and 16 GB: the backend and UI builds run side by side (ami/README.md).
    instance_type: String, "instance-type", run_time = "m7i.xlarge".into();
    /// SSM parameter holding the AMI id.
    ami_parameter: String, "ami-parameter", deploy = "/dspace-preview/ami-id".into();
    /// Subnet to launch into (default VPC when unset).
    subnet_id: Option<String>, "subnet-id", deploy = None;
    /// Security groups of the instance.
    security_group_ids: Vec<String>, "security-group-ids", deploy = Vec::new();
    /// Instance profile name (SSM core + its own log group).
    instance_profile: Option<String>, "instance-profile", deploy = None;
    /// Try spot first, on-demand when spot has no capacity.
    use_spot: bool, "use-spot", run_time = false;
    /// TTL when a request names none.
    default_ttl_minutes: u32, "default-ttl-minutes", run_time = 120;
    /// Shortest TTL.
    min_ttl_minutes: u32, "min-ttl-minutes", deploy = 30;
    /// Hard maximum lifetime, extensions included.
    max_lifetime_minutes: u32, "max-lifetime-minutes", run_time = 480;
    /// The most a preview may take from launch to healthy; each preview's own deadline follows
    /// what it builds (`domain::boot_budget`), at most this.
    health_deadline_minutes: u32, "health-deadline-minutes", run_time = 90;
    /// How long one health-check invocation keeps polling before reporting "not yet".
    health_poll_budget_seconds: u64, "health-poll-budget-seconds", deploy = 600;
    /// Pause between two health checks within one invocation.
    health_poll_interval_seconds: u64, "health-poll-interval-seconds", deploy = 20;
    /// Root volume size.
    volume_gib: i32, "volume-gib", deploy = 60;
    /// The admin account's e-mail on every preview.
    admin_email: String, "admin-email", deploy = "admin@preview.dspace.invalid".into();
    /// Backend environment keys a request may set (trailing `*` = prefix).
    env_allowlist: Vec<String>, "env-allowlist", run_time = [
        "dspace__P__name",
        "webui__P__*",
        "researcher__D__profile__P__*",
        "orcid__P__*",
        "authority__P__*",
        "identifiers__P__*",
        "logging__P__level__P__*",
    ]
    .map(String::from)
    .to_vec();
    /// The state machine whose executions own previews (the reaper checks them).
    state_machine_arn: Option<String>, "state-machine-arn", deploy = None;
    /// The instance's price per hour for cost estimates; the us-east-1 on-demand price when unset.
    hourly_price_usd: Option<Usd>, "hourly-price-usd", run_time = None;
    /// How many previews one person may launch within an hour (the web app enforces it).
    launches_per_user_per_hour: u32, "launches-per-user-per-hour", run_time = 4;
    /// How many previews may be launched within an hour in all (the web app enforces it).
    launches_per_hour: u32, "launches-per-hour", run_time = 20;
    /// The ECR repository URI where instances keep built images (`…/preview-cache`); no cache when unset.
    build_cache_repository: Option<String>, "build-cache-repository", deploy = None;
    /// The Route 53 hosted zone (`Z…`) that holds `domain-name`; set both or neither.
    hosted_zone_id: Option<String>, "hosted-zone-id", deploy = None;
    /// The previews' DNS suffix (`previews.example.org`): each preview is served over HTTPS as
    /// `https://<name>.<suffix>/` with an A record in `hosted-zone-id`; plain HTTP on the
    /// instance's EC2 name when unset. One suffix per deployment: the reaper deletes A records
    /// under it shaped like a preview's name that no live preview of this deployment names.
    domain_name: Option<String>, "domain-name", deploy = None;
    /// The ACME directory the instances get their certificates from (Let's Encrypt when unset).
    acme_ca: Option<String>, "acme-ca", deploy = None;
}

/// Where previews get their HTTPS names: a Route 53 zone and the suffix under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicDomain {
    /// The hosted zone id, without `/hostedzone/`.
    pub hosted_zone_id: String,
    /// The suffix, lower case, without a trailing dot.
    pub suffix: String,
}

/// What one dial is, apart from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dial {
    /// The kebab-case key (`max-live`).
    pub key: &'static str,
    /// Whether operators may change it at run time through SSM.
    pub run_time: bool,
    /// How its value is written: `text`, `number`, `bool`, `optional`, `list` or `dollars`.
    pub kind: &'static str,
    /// Its documentation.
    pub doc: &'static str,
}

/// A run-time dial an operator set that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredDial {
    /// The SSM parameter's name.
    pub parameter: String,
    /// What is wrong with it.
    pub reason: String,
}

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
        // Fail at deploy (the first invocation), not halfway through a preview.
        config.public_domain()?;
        Ok(config)
    }

    /// Applies one dial by key; the error names the key and what it expects.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), StepError> {
        if self.set_known(key, value.trim())? {
            Ok(())
        } else {
            Err(StepError::Config(format!(
                "unknown dial '{key}'; known: {}",
                ALL_KEYS.join(", ")
            )))
        }
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

    /// The hosted zone and suffix that give previews HTTPS names, when both are set; a
    /// config error when only one is, or when the suffix cannot hold a preview's name.
    pub fn public_domain(&self) -> Result<Option<PublicDomain>, StepError> {
        match (&self.hosted_zone_id, &self.domain_name) {
            (None, None) => Ok(None),
            (Some(zone), Some(suffix)) => {
                public_name::check_suffix(suffix).map_err(|e| {
                    StepError::Config(format!("{}: {e}", env_name("domain-name")))
                })?;
                Ok(Some(PublicDomain {
                    // The console and CloudFormation write it as `/hostedzone/Z…`; the API takes `Z…`.
                    hosted_zone_id: zone.trim_start_matches("/hostedzone/").to_string(),
                    suffix: public_name::normalize(suffix),
                }))
            }
            (Some(_), None) => Err(StepError::Config(format!(
                "{} is set but {} is not: set both (the previews' DNS suffix in that zone) or neither",
                env_name("hosted-zone-id"),
                env_name("domain-name")
            ))),
            (None, Some(_)) => Err(StepError::Config(format!(
                "{} is set but {} is not: set both (the Route 53 zone that holds the suffix) or neither",
                env_name("domain-name"),
                env_name("hosted-zone-id")
            ))),
        }
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
pub const ALL_KEYS: [&str; DIALS.len()] = {
    let mut keys = [""; DIALS.len()];
    let mut i = 0;
    while i < DIALS.len() {
        keys[i] = DIALS[i].key;
        i += 1;
    }
    keys
};

const RUNTIME_COUNT: usize = {
    let (mut n, mut i) = (0, 0);
    while i < DIALS.len() {
        if DIALS[i].run_time {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The keys operators may change at run time through SSM (the rest is deployment structure).
pub const RUNTIME_KEYS: [&str; RUNTIME_COUNT] = {
    let mut keys = [""; RUNTIME_COUNT];
    let (mut n, mut i) = (0, 0);
    while i < DIALS.len() {
        if DIALS[i].run_time {
            keys[n] = DIALS[i].key;
            n += 1;
        }
        i += 1;
    }
    keys
};

/// Every dial as the CDK app reads it: key, environment variable, run-time flag, kind, default
/// (written the way the dial is set) and documentation.
pub fn catalog_json() -> serde_json::Value {
    let defaults = Config::default();
    DIALS
        .iter()
        .map(|dial| {
            serde_json::json!({
                "key": dial.key,
                "env": env_name(dial.key),
                "runTime": dial.run_time,
                "kind": dial.kind,
                "default": defaults.render(dial.key).unwrap_or_default(),
                "doc": dial.doc.trim(),
            })
        })
        .collect()
}

/// `max-live` → `PREVIEW_MAX_LIVE`.
pub fn env_name(key: &str) -> String {
    format!("PREVIEW_{}", key.replace('-', "_").to_ascii_uppercase())
}

/// How a dial's type is read from text and written back.
trait DialValue: Sized {
    /// What the catalog calls the kind.
    const KIND: &'static str;
    /// Parses a trimmed value; the error names the dial's environment variable.
    fn parse(key: &str, v: &str) -> Result<Self, StepError>;
    /// The value as [`DialValue::parse`] reads it.
    fn render(&self) -> String;
}

impl DialValue for String {
    const KIND: &'static str = "text";

    fn parse(key: &str, v: &str) -> Result<Self, StepError> {
        if v.is_empty() {
            Err(StepError::Config(format!(
                "{} must not be empty",
                env_name(key)
            )))
        } else {
            Ok(v.to_string())
        }
    }

    fn render(&self) -> String {
        self.clone()
    }
}

impl DialValue for Option<String> {
    const KIND: &'static str = "optional";

    fn parse(_: &str, v: &str) -> Result<Self, StepError> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }

    fn render(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl DialValue for Vec<String> {
    const KIND: &'static str = "list";

    fn parse(_: &str, v: &str) -> Result<Self, StepError> {
        Ok(v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }

    fn render(&self) -> String {
        self.join(",")
    }
}

impl DialValue for bool {
    const KIND: &'static str = "bool";

    fn parse(key: &str, v: &str) -> Result<Self, StepError> {
        match v {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            _ => Err(StepError::Config(format!(
                "{} must be true or false, got '{v}'",
                env_name(key)
            ))),
        }
    }

    fn render(&self) -> String {
        self.to_string()
    }
}

impl DialValue for Option<Usd> {
    const KIND: &'static str = "dollars";

    fn parse(key: &str, v: &str) -> Result<Self, StepError> {
        match v {
            "" => Ok(None),
            v => {
                Ok(Some(v.parse().map_err(|e| {
                    StepError::Config(format!("dial {key}: {e}"))
                })?))
            }
        }
    }

    /// `Usd` shows cents only; exact enough for a default, which is unset anyway.
    fn render(&self) -> String {
        self.map(|usd| usd.to_string()).unwrap_or_default()
    }
}

/// Whole numbers of every width the dials use.
macro_rules! whole_number_dials {
    ($($t:ty),*) => {$(
        impl DialValue for $t {
            const KIND: &'static str = "number";

            fn parse(key: &str, v: &str) -> Result<Self, StepError> {
                v.parse().map_err(|_| {
                    StepError::Config(format!(
                        "{} must be a whole number, got '{v}'",
                        env_name(key)
                    ))
                })
            }

            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

whole_number_dials!(u32, u64, i32);

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
    fn the_domain_dials_come_in_pairs() {
        let with = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::from_lookup(|k| env.get(k).cloned())
        };
        assert_eq!(with(&[]).unwrap().public_domain().unwrap(), None);
        let c = with(&[
            ("PREVIEW_HOSTED_ZONE_ID", "/hostedzone/Z123"),
            ("PREVIEW_DOMAIN_NAME", "Previews.Example.org."),
        ])
        .unwrap();
        assert_eq!(
            c.public_domain().unwrap(),
            Some(PublicDomain {
                hosted_zone_id: "Z123".into(),
                suffix: "previews.example.org".into()
            })
        );
        let err = with(&[("PREVIEW_HOSTED_ZONE_ID", "Z1")]).unwrap_err();
        assert!(err.to_string().contains("set both"), "{err}");
        assert!(err.to_string().contains("PREVIEW_DOMAIN_NAME"), "{err}");
        let err = with(&[("PREVIEW_DOMAIN_NAME", "p.example.org")]).unwrap_err();
        assert!(err.to_string().contains("PREVIEW_HOSTED_ZONE_ID"), "{err}");
        let err = with(&[
            ("PREVIEW_HOSTED_ZONE_ID", "Z1"),
            ("PREVIEW_DOMAIN_NAME", "bad_name.org"),
        ])
        .unwrap_err();
        assert_eq!(err.error_type(), "ConfigError");
    }

    #[test]
    fn every_default_reads_back_as_itself() {
        let defaults = Config::default();
        for key in ALL_KEYS {
            let mut c = Config::default();
            let written = defaults.render(key).expect("a dial");
            c.set(key, &written)
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(c, defaults, "{key} written as '{written}'");
        }
    }

    #[test]
    fn the_run_time_dials_are_the_ones_operators_may_set() {
        let mut keys = RUNTIME_KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "default-ttl-minutes",
                "env-allowlist",
                "health-deadline-minutes",
                "hourly-price-usd",
                "instance-type",
                "launches-per-hour",
                "launches-per-user-per-hour",
                "max-lifetime-minutes",
                "max-live",
                "use-spot",
            ]
        );
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
