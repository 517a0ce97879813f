//! Synthetic mainland resident ID numbers for simulated candidates: valid (region, birth date,
//! ISO 7064 MOD 11-2 check character) and distinct within a run.

use xcert_server::identity::resident_id_check_character;

/// Real district codes of a few provinces, so the numbers look like a national sitting's.
const REGIONS: [&str; 8] = [
    "110105", "310104", "440106", "330106", "510107", "420111", "320102", "610113",
];

/// Birth dates from 1990-01-01 for this many days (to 2009-12-31): vocational students and
/// adult learners.
const DAYS: u64 = 7_305;

/// Sequence numbers 000-999 per region and birth date.
const SEQUENCES: u64 = 1_000;

/// How many distinct numbers [`resident_id`] can produce.
pub(super) const SPACE: u64 = REGIONS.len() as u64 * DAYS * SEQUENCES;

/// The `index`-th number of the space (taken modulo [`SPACE`]); different indexes below
/// [`SPACE`] give different numbers.
pub(super) fn resident_id(index: u64) -> String {
    let index = index % SPACE;
    let region = REGIONS[(index % REGIONS.len() as u64) as usize];
    let rest = index / REGIONS.len() as u64;
    let sequence = rest % SEQUENCES;
    let day = rest / SEQUENCES;
    let (year, month, date) = civil_from_days(days_from_civil(1990, 1, 1) + day as i64);
    let first_17 = format!("{region}{year:04}{month:02}{date:02}{sequence:03}");
    let mut digits = [0_u8; 17];
    for (digit, byte) in digits.iter_mut().zip(first_17.bytes()) {
        *digit = byte - b'0';
    }
    format!("{first_17}{}", resident_id_check_character(&digits))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use xcert_server::identity::IdDocument;

    use super::*;

    #[test]
    fn every_number_passes_the_servers_validation() {
        // The first and last indexes, and a stride through the whole space (every region,
        // month ends, leap days).
        let indexes = (0..2_000)
            .chain((0..SPACE).step_by(9_973))
            .chain([SPACE - 1]);
        for index in indexes {
            let number = resident_id(index);
            assert_eq!(number.len(), 18);
            assert_eq!(
                IdDocument::resident_id(&number),
                Ok(IdDocument::ResidentId(number.clone())),
                "index {index}"
            );
        }
    }

    #[test]
    fn consecutive_indexes_give_distinct_numbers() {
        let numbers: HashSet<String> = (5_000_000..5_050_000).map(resident_id).collect();
        assert_eq!(numbers.len(), 50_000);
    }

    #[test]
    fn the_calendar_round_trips_across_leap_years() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        assert_eq!(
            civil_from_days(days_from_civil(1990, 1, 1) + DAYS as i64 - 1),
            (2009, 12, 31)
        );
    }
}
