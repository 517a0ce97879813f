//! The bottom-10% retake rule and pass/fail, as pure functions: totals in, ranks, the cut and
//! bans out. No I/O, no clock; dates come in as values.
//!
//! The rule (CONTRACT section 3, DOMAIN "ban"), for a sitting with `n` graded attempts and a
//! certificate's `percent` and `years`:
//!
//! - **The cut** is `floor(n × percent / 100)`, in integers: 9 attempts at 10% ban nobody, 10
//!   ban one, 19 ban one, 20 ban two.
//! - **Who is under it.** An attempt is banned when the number of attempts whose total is lower
//!   than or equal to its own is at most the cut. So the lowest totals are banned one tie
//!   group at a time, and a group of equal totals that would cross the cut is banned as a
//!   whole by nobody: when equal totals straddle the cut, none of them is banned (the doubt
//!   goes to the candidate), and fewer than `cut` people may be banned. Everyone equal bans
//!   nobody (unless the cut is everyone, i.e. 100%).
//! - **Rank** is the competition rank, 1 = best: one plus the number of strictly higher
//!   totals; equal totals share a rank.
//! - **Until** is the exam date plus `years` calendar years, on the CST calendar
//!   ([`ban_until`]); a ban is in force for a sitting whose exam date is before `until`
//!   (registration compares `exam_date < until`), so on `until` itself the person may sit
//!   again. A ban from 29 February ends on 28 February of a non-leap year (the date is
//!   clamped to the month's last day, as the Civil Code counts periods in years).
//! - **Pass** is `total >= pass score`, independent of the ban.
//!
//! All totals are integer hundredths of a point: no floating point anywhere.

use std::fmt;

/// A certificate's retake-ban settings, checked: `percent` in `0..=100`, `years` in `0..=10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanPolicy {
    percent: u8,
    years: u8,
}

/// A value the rule cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The percent is outside `0..=100`.
    #[error("retake_ban_percent {0} is outside 0..=100")]
    Percent(i64),
    /// The years are outside `0..=10`.
    #[error("retake_ban_years {0} is outside 0..=10")]
    Years(i64),
    /// The exam date is not a `YYYY-MM-DD` date, or the ban's end is out of range.
    #[error("exam date `{0}` is not a YYYY-MM-DD date a ban can be counted from")]
    Date(String),
}

impl BanPolicy {
    /// Checks the certificate's stored settings.
    pub fn new(percent: i64, years: i64) -> Result<Self, RuleError> {
        let percent = u8::try_from(percent)
            .ok()
            .filter(|percent| *percent <= 100)
            .ok_or(RuleError::Percent(percent))?;
        let years = u8::try_from(years)
            .ok()
            .filter(|years| *years <= 10)
            .ok_or(RuleError::Years(years))?;
        Ok(Self { percent, years })
    }

    /// The share of graded attempts, from the bottom, that is banned.
    pub fn percent(self) -> u8 {
        self.percent
    }

    /// How many calendar years a ban lasts.
    pub fn years(self) -> u8 {
        self.years
    }

    /// Whether this policy bans anyone at all (a zero percent or zero years bans nobody).
    pub fn bans(self) -> bool {
        self.percent > 0 && self.years > 0
    }
}

/// How many of `n` graded attempts fall under the cut: `floor(n × percent / 100)`.
pub fn cut(n: usize, percent: u8) -> usize {
    // n × 100 cannot overflow for any count a database can hold.
    n.saturating_mul(usize::from(percent)) / 100
}

/// The rule's verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Competition rank, 1 = best; equal totals share it.
    pub rank: u64,
    /// How many attempts have a total lower than or equal to this one (this one included).
    pub from_bottom: u64,
    /// Whether the bottom rule bans this attempt's candidate.
    pub banned: bool,
}

/// The rule applied to a whole sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// `n`: the graded attempts.
    pub graded: usize,
    /// `floor(n × percent / 100)`.
    pub cut: usize,
    /// One per total, in the order given.
    pub standings: Vec<Standing>,
}

impl Evaluation {
    /// How many are banned (at most the cut; fewer when a tie straddles it).
    pub fn banned(&self) -> usize {
        self.standings
            .iter()
            .filter(|standing| standing.banned)
            .count()
    }
}

/// Ranks `totals` (hundredths, one per graded attempt) and applies the bottom rule of
/// `policy`. The result does not depend on the order of `totals`, only on their values.
pub fn evaluate(totals: &[i64], policy: BanPolicy) -> Evaluation {
    let n = totals.len();
    let cut = cut(n, policy.percent);
    let mut sorted: Vec<i64> = totals.to_vec();
    sorted.sort_unstable();
    let standings = totals
        .iter()
        .map(|total| {
            // Attempts with a total <= this one, and attempts with a higher one.
            let at_or_below = sorted.partition_point(|other| other <= total);
            let above = n - at_or_below;
            Standing {
                rank: as_u64(above) + 1,
                from_bottom: as_u64(at_or_below),
                banned: policy.bans() && at_or_below <= cut,
            }
        })
        .collect();
    Evaluation {
        graded: n,
        cut,
        standings,
    }
}

fn as_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Whether a total passes: `total >= pass score`, both in hundredths.
pub fn passed(total: i64, pass_score: i64) -> bool {
    total >= pass_score
}

/// The first day a banned person may sit again: `exam_date` (`YYYY-MM-DD`, CST) plus `years`
/// calendar years, a 29 February landing on 28 February of a common year.
pub fn ban_until(exam_date: &str, years: u8) -> Result<String, RuleError> {
    let date: jiff::civil::Date = exam_date
        .parse()
        .map_err(|_| RuleError::Date(exam_date.to_owned()))?;
    let until = date
        .checked_add(jiff::Span::new().years(i64::from(years)))
        .map_err(|_| RuleError::Date(exam_date.to_owned()))?;
    Ok(until.to_string())
}

/// Whether a ban ending on `until` is in force for a sitting on `exam_date` (both
/// `YYYY-MM-DD`): the exam date is before `until`. ISO dates compare as text, as the
/// registration query compares them.
pub fn in_force(until: &str, exam_date: &str) -> bool {
    exam_date < until
}

/// Hundredths of a point printed as points, e.g. `1250` as `12.5`, `-3` as `-0.03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Points(pub i64);

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let (whole, part) = (magnitude / 100, magnitude % 100);
        match part {
            0 => write!(f, "{sign}{whole}"),
            part if part % 10 == 0 => write!(f, "{sign}{whole}.{}", part / 10),
            part => write!(f, "{sign}{whole}.{part:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ten_percent() -> BanPolicy {
        BanPolicy::new(10, 3).expect("valid")
    }

    fn banned_count(totals: &[i64]) -> usize {
        evaluate(totals, ten_percent()).banned()
    }

    /// Distinct totals 0, 100, 200, ... (n of them).
    fn distinct(n: usize) -> Vec<i64> {
        (0..n)
            .map(|index| i64::try_from(index).unwrap_or(0) * 100)
            .collect()
    }

    #[test]
    fn the_cut_is_the_floor_of_n_times_the_percent_at_every_size_the_issue_names() {
        for (n, expected) in [
            (0, 0),
            (1, 0),
            (9, 0),
            (10, 1),
            (11, 1),
            (19, 1),
            (20, 2),
            (101, 10),
        ] {
            assert_eq!(cut(n, 10), expected, "n = {n}");
            assert_eq!(banned_count(&distinct(n)), expected, "n = {n}");
        }
    }

    #[test]
    fn with_distinct_totals_exactly_the_lowest_are_banned() {
        let totals = distinct(20);
        let evaluation = evaluate(&totals, ten_percent());
        let banned: Vec<i64> = totals
            .iter()
            .zip(&evaluation.standings)
            .filter(|(_, standing)| standing.banned)
            .map(|(total, _)| *total)
            .collect();
        assert_eq!(banned, vec![0, 100]);
        assert_eq!(evaluation.standings[0].rank, 20);
        assert_eq!(evaluation.standings[19].rank, 1);
    }

    #[test]
    fn a_tie_straddling_the_cut_bans_none_of_the_tied_but_those_below_it() {
        // n = 20, cut 2: the lowest is alone, then three tie for places 2-4.
        let mut totals = vec![100, 500, 500, 500];
        totals.extend((0..16).map(|index| 1000 + index));
        let evaluation = evaluate(&totals, ten_percent());
        assert_eq!(evaluation.cut, 2);
        let flags: Vec<bool> = evaluation
            .standings
            .iter()
            .map(|standing| standing.banned)
            .collect();
        assert_eq!(&flags[..4], &[true, false, false, false]);
        assert_eq!(evaluation.banned(), 1);
        assert!(evaluation.standings[1..4].iter().all(|s| s.rank == 17));
    }

    #[test]
    fn a_tie_ending_exactly_at_the_cut_is_banned_whole() {
        // n = 20, cut 2: two tie for the lowest total, the next is higher.
        let mut totals = vec![300, 300];
        totals.extend((0..18).map(|index| 1000 + index));
        assert_eq!(banned_count(&totals), 2);
        // ... and a tie just above the cut is untouched.
        let mut totals = vec![100, 200, 300, 300];
        totals.extend((0..16).map(|index| 1000 + index));
        let evaluation = evaluate(&totals, ten_percent());
        let flags: Vec<bool> = evaluation.standings[..4]
            .iter()
            .map(|standing| standing.banned)
            .collect();
        assert_eq!(flags, vec![true, true, false, false]);
    }

    #[test]
    fn a_tie_at_the_very_bottom_larger_than_the_cut_bans_nobody() {
        let mut totals = vec![0, 0, 0];
        totals.extend((0..17).map(|index| 1000 + index));
        assert_eq!(banned_count(&totals), 0);
    }

    #[test]
    fn everyone_equal_bans_nobody_unless_the_cut_is_everyone() {
        assert_eq!(banned_count(&[700; 101]), 0);
        let everyone = BanPolicy::new(100, 3).expect("valid");
        assert_eq!(evaluate(&[700; 5], everyone).banned(), 5);
        let ranks: Vec<u64> = evaluate(&[700; 5], ten_percent())
            .standings
            .iter()
            .map(|standing| standing.rank)
            .collect();
        assert_eq!(ranks, vec![1; 5]);
    }

    #[test]
    fn zero_percent_or_zero_years_bans_nobody() {
        let totals = distinct(50);
        assert_eq!(
            evaluate(&totals, BanPolicy::new(0, 3).expect("valid")).banned(),
            0
        );
        let no_years = evaluate(&totals, BanPolicy::new(10, 0).expect("valid"));
        assert_eq!(no_years.cut, 5);
        assert_eq!(no_years.banned(), 0);
    }

    #[test]
    fn a_policy_outside_its_ranges_is_refused() {
        assert_eq!(BanPolicy::new(101, 3), Err(RuleError::Percent(101)));
        assert_eq!(BanPolicy::new(-1, 3), Err(RuleError::Percent(-1)));
        assert_eq!(BanPolicy::new(10, 11), Err(RuleError::Years(11)));
    }

    #[test]
    fn pass_is_a_total_at_or_above_the_pass_score() {
        assert!(passed(6000, 6000));
        assert!(!passed(5999, 6000));
    }

    #[test]
    fn a_ban_ends_on_the_same_calendar_day_years_later_and_is_in_force_only_before_it() {
        let until = ban_until("2026-06-06", 3).expect("a date");
        assert_eq!(until, "2029-06-06");
        assert!(in_force(&until, "2029-06-05"));
        assert!(!in_force(&until, "2029-06-06"));
        assert!(!in_force(&until, "2029-06-07"));
        assert!(in_force(&until, "2026-06-06"));
    }

    #[test]
    fn a_ban_from_the_29th_of_february_ends_on_the_28th_in_a_common_year() {
        assert_eq!(ban_until("2024-02-29", 3).expect("a date"), "2027-02-28");
        assert_eq!(ban_until("2024-02-29", 4).expect("a date"), "2028-02-29");
        assert_eq!(ban_until("2023-02-28", 1).expect("a date"), "2024-02-28");
        assert_eq!(ban_until("2025-12-31", 3).expect("a date"), "2028-12-31");
        assert!(in_force("2027-02-28", "2027-02-27"));
        assert!(!in_force("2027-02-28", "2027-02-28"));
    }

    #[test]
    fn a_bad_exam_date_is_an_error_not_a_panic() {
        assert!(matches!(
            ban_until("2026-13-01", 3),
            Err(RuleError::Date(_))
        ));
        assert!(matches!(
            ban_until("9999-06-06", 3),
            Err(RuleError::Date(_))
        ));
    }

    #[test]
    fn points_print_without_trailing_zeros() {
        assert_eq!(Points(1250).to_string(), "12.5");
        assert_eq!(Points(1205).to_string(), "12.05");
        assert_eq!(Points(1200).to_string(), "12");
        assert_eq!(Points(-3).to_string(), "-0.03");
    }

    proptest! {
        #[test]
        fn the_rule_never_bans_more_than_the_cut_and_never_splits_a_tie(
            totals in proptest::collection::vec(0_i64..40, 0..150),
            percent in 0_u8..=100,
        ) {
            let policy = BanPolicy::new(i64::from(percent), 3).expect("valid");
            let evaluation = evaluate(&totals, policy);
            prop_assert_eq!(evaluation.graded, totals.len());
            prop_assert_eq!(evaluation.cut, totals.len() * usize::from(percent) / 100);
            prop_assert!(evaluation.banned() <= evaluation.cut);
            for (i, (a, sa)) in totals.iter().zip(&evaluation.standings).enumerate() {
                for (b, sb) in totals.iter().zip(&evaluation.standings).skip(i + 1) {
                    // Equal totals: same rank, same verdict.
                    if a == b {
                        prop_assert_eq!(sa, sb);
                    }
                    // A lower total is never better placed, and is banned whenever a higher one is.
                    if a < b {
                        prop_assert!(sa.rank > sb.rank);
                        prop_assert!(sa.banned || !sb.banned);
                    }
                    if b < a {
                        prop_assert!(sb.rank > sa.rank);
                        prop_assert!(sb.banned || !sa.banned);
                    }
                }
            }
        }

        #[test]
        fn the_rule_bans_as_many_as_it_can_without_splitting_a_tie(
            totals in proptest::collection::vec(0_i64..40, 1..150),
            percent in 0_u8..=100,
        ) {
            let policy = BanPolicy::new(i64::from(percent), 3).expect("valid");
            let evaluation = evaluate(&totals, policy);
            // The lowest total not banned: banning its whole group would pass the cut.
            let lowest_free = totals
                .iter()
                .zip(&evaluation.standings)
                .filter(|(_, standing)| !standing.banned)
                .map(|(total, _)| *total)
                .min();
            if let Some(free) = lowest_free {
                let at_or_below = totals.iter().filter(|total| **total <= free).count();
                prop_assert!(at_or_below > evaluation.cut);
            }
        }

        #[test]
        fn the_order_of_the_totals_does_not_matter(
            totals in proptest::collection::vec(-50_i64..50, 0..80),
            percent in 0_u8..=100,
        ) {
            let policy = BanPolicy::new(i64::from(percent), 3).expect("valid");
            let forward = evaluate(&totals, policy);
            let mut reversed_totals = totals;
            reversed_totals.reverse();
            let mut reversed = evaluate(&reversed_totals, policy).standings;
            reversed.reverse();
            prop_assert_eq!(forward.standings, reversed);
        }

        #[test]
        fn a_ban_lasts_exactly_the_years_on_the_calendar(
            days in 0_i32..40_000,
            years in 1_u8..=10,
        ) {
            let start = jiff::civil::date(1990, 1, 1)
                .checked_add(jiff::Span::new().days(days))
                .expect("in range");
            let until: jiff::civil::Date = ban_until(&start.to_string(), years)
                .expect("a date")
                .parse()
                .expect("ISO");
            prop_assert_eq!(i32::from(until.year() - start.year()), i32::from(years));
            prop_assert_eq!(until.month(), start.month());
            prop_assert!(until.day() == start.day() || (start.month() == 2 && start.day() == 29 && until.day() == 28));
            let day_before = until.yesterday().expect("in range").to_string();
            prop_assert!(in_force(&until.to_string(), &day_before));
            prop_assert!(!in_force(&until.to_string(), &until.to_string()));
        }
    }
}
