//! What previews cost: the instance's hourly price plus its root volume, per preview and for the
//! month's worst case. Prices are estimates shown to people, never billed from.

use std::fmt;
use std::str::FromStr;

/// An amount of US dollars, kept in micro-dollars so estimates add up without float drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Usd(u64);

impl Usd {
    /// From micro-dollars.
    pub const fn micros(m: u64) -> Usd {
        Usd(m)
    }

    /// This amount over `minutes` when it is an hourly rate.
    pub fn for_minutes(self, minutes: u64) -> Usd {
        Usd(self.0.saturating_mul(minutes) / 60)
    }

    /// This amount `n` times.
    pub fn times(self, n: u64) -> Usd {
        Usd(self.0.saturating_mul(n))
    }

    /// The sum of two amounts.
    pub fn plus(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Usd {
    /// Cents for amounts under $100, whole dollars above (an estimate, not an invoice).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = (self.0 + 5_000) / 10_000;
        if cents >= 10_000 {
            write!(f, "${}", (cents + 50) / 100)
        } else {
            write!(f, "${}.{:02}", cents / 100, cents % 100)
        }
    }
}

impl FromStr for Usd {
    type Err = String;

    /// Parses `0.0832` or `$0.0832` (at most six decimals).
    fn from_str(s: &str) -> Result<Usd, String> {
        let t = s.trim().trim_start_matches('$');
        let bad = || format!("'{s}' is not a dollar amount like 0.0832");
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 6 {
            return Err(bad());
        }
        let digits = |d: &str| d.is_empty() || d.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) {
            return Err(bad());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let frac_micros: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
        whole
            .checked_mul(1_000_000)
            .and_then(|w| w.checked_add(frac_micros))
            .map(Usd)
            .ok_or_else(bad)
    }
}

/// Linux on-demand prices in us-east-1 (USD per hour) of the types a preview fits on; a deployment
/// elsewhere or on spot sets the `hourly-price-usd` dial instead.
const ON_DEMAND: [(&str, u64); 12] = [
    ("t3.large", 83_200),
    ("t3.xlarge", 166_400),
    ("t3a.large", 75_200),
    ("t3a.xlarge", 150_400),
    ("m6i.large", 96_000),
    ("m6i.xlarge", 192_000),
    ("m7i.large", 100_800),
    ("m7i.xlarge", 201_600),
    ("m7g.large", 81_600),
    ("m7g.xlarge", 163_200),
    ("r6i.large", 126_000),
    ("c7i.xlarge", 178_500),
];

/// gp3 storage: $0.08 per GiB-month, a month being 730 hours.
const GP3_MICROS_PER_GIB_MONTH: u64 = 80_000;
/// Hours in the month AWS bills by.
pub const HOURS_PER_MONTH: u64 = 730;

/// The hourly price of an instance type, if we know it.
pub fn on_demand_hourly(instance_type: &str) -> Option<Usd> {
    ON_DEMAND
        .iter()
        .find(|(t, _)| *t == instance_type)
        .map(|(_, m)| Usd(*m))
}

/// What one preview costs per hour: the instance plus its root volume.
pub fn preview_hourly(instance_hourly: Usd, volume_gib: u64) -> Usd {
    instance_hourly.plus(Usd(
        volume_gib.saturating_mul(GP3_MICROS_PER_GIB_MONTH) / HOURS_PER_MONTH
    ))
}

/// The figures the launch form shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// One preview for one hour.
    pub per_hour: Usd,
    /// One preview for the TTL asked for.
    pub this_preview: Usd,
    /// Every slot busy for the longest lifetime at once.
    pub all_slots_max_lifetime: Usd,
    /// Every slot busy for the whole month: the ceiling of the month's bill.
    pub month_worst_case: Usd,
}

/// The estimate for `slots` slots, a TTL and the longest lifetime.
pub fn estimate(
    per_hour: Usd,
    slots: u32,
    ttl_minutes: u32,
    max_lifetime_minutes: u32,
) -> Estimate {
    Estimate {
        per_hour,
        this_preview: per_hour.for_minutes(u64::from(ttl_minutes)),
        all_slots_max_lifetime: per_hour
            .for_minutes(u64::from(max_lifetime_minutes))
            .times(u64::from(slots)),
        month_worst_case: per_hour.times(HOURS_PER_MONTH * u64::from(slots)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_print() {
        assert_eq!("0.0832".parse::<Usd>(), Ok(Usd(83_200)));
        assert_eq!("$1.5".parse::<Usd>(), Ok(Usd(1_500_000)));
        assert!("1.2345678".parse::<Usd>().is_err());
        assert!("abc".parse::<Usd>().is_err());
        assert!(".".parse::<Usd>().is_err());
        assert_eq!(Usd(83_200).to_string(), "$0.08");
        assert_eq!(Usd(123_456_000_000).to_string(), "$123456");
    }

    #[test]
    fn a_two_hour_t3_large_preview_costs_about_seventeen_cents() {
        let hourly = preview_hourly(on_demand_hourly("t3.large").unwrap(), 60);
        // 0.0832 + 60 × 0.08 / 730 = 0.08977 per hour
        assert_eq!(hourly, Usd(89_775));
        let e = estimate(hourly, 3, 120, 480);
        assert_eq!(e.this_preview.to_string(), "$0.18");
        assert_eq!(e.all_slots_max_lifetime.to_string(), "$2.15");
        assert_eq!(e.month_worst_case.to_string(), "$197");
    }

    #[test]
    fn unknown_types_have_no_price() {
        assert_eq!(on_demand_hourly("p5.48xlarge"), None);
    }
}
