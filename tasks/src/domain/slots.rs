//! Slot rules: N numbered reservations, taken by an atomic create-if-absent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a slot parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The preview holding the slot (kept as text: a hand-edited slot still counts).
    pub preview_id: String,
    /// The execution that reserved it (the reaper checks it still runs).
    pub execution: String,
    /// When it was taken.
    pub reserved_at: DateTime<Utc>,
}

/// The order to try slots 1..=max, starting at `start` so concurrent launches spread out.
pub fn try_order(max: u32, start: u32) -> Vec<u32> {
    if max == 0 {
        return Vec::new();
    }
    (0..max).map(|i| (start + i) % max + 1).collect()
}

/// The slot number at the end of a slot parameter name, if it is within `max`.
pub fn slot_number(parameter_name: &str, max: u32) -> Option<u32> {
    parameter_name
        .rsplit('/')
        .next()
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=max).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_covers_every_slot_once() {
        assert_eq!(try_order(3, 0), vec![1, 2, 3]);
        assert_eq!(try_order(3, 4), vec![2, 3, 1]);
        assert!(try_order(0, 1).is_empty());
    }

    #[test]
    fn slot_numbers_beyond_max_do_not_count() {
        assert_eq!(slot_number("/dspace-preview/x/slots/2", 3), Some(2));
        assert_eq!(slot_number("/dspace-preview/x/slots/4", 3), None);
        assert_eq!(slot_number("/dspace-preview/x/slots/z", 3), None);
    }
}
