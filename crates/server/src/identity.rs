//! Identity documents: validation and one normalized form, so one person is one person across
//! sittings (retake bans follow the person, not the spelling of their number).
//!
//! Pure: no I/O, no clock. A birth date in the future cannot be seen here; a caller that knows
//! today's date checks [`IdDocument::birth_date`] against it.
//!
//! Kinds and the shapes accepted (after trimming, removing spaces and upper-casing):
//!
//! - **Mainland resident identity card** (GB 11643-1999): 18 characters: a 6-digit
//!   administrative region code whose first two digits name a province-level division
//!   (including 81/82/83 used on residence permits for Hong Kong, Macau and Taiwan residents,
//!   which follow the same format), an 8-digit birth date `YYYYMMDD` that exists on the
//!   calendar, a 3-digit sequence number, and an ISO 7064 MOD 11-2 check character (`0`-`9`
//!   or `X`; a lower-case `x` is accepted and normalized to `X`).
//! - **Passport**: the issuing country as an ISO 3166-1 alpha-3 code plus the number, 5 to 20
//!   letters and digits. Numbers are unique only per issuing country, hence the pair.
//! - **Mainland travel permit for Hong Kong and Macau residents** ("home return permit"):
//!   `H` (Hong Kong) or `M` (Macau) followed by 8 digits (cards since 2013) or 10 digits
//!   (older issues).
//! - **Mainland travel permit for Taiwan residents**: 8 digits (cards since 2015) or 10 digits
//!   (older issues).

use std::fmt;

/// A validated identity document in normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdDocument {
    /// Mainland resident identity card number, 18 characters, check character upper-case.
    ResidentId(String),
    /// Passport: issuing country (ISO 3166-1 alpha-3) and number.
    Passport {
        /// ISO 3166-1 alpha-3, upper-case.
        country: String,
        /// Letters and digits, upper-case.
        number: String,
    },
    /// Mainland travel permit for Hong Kong and Macau residents.
    HongKongMacauPermit(String),
    /// Mainland travel permit for Taiwan residents.
    TaiwanPermit(String),
}

/// Why a document number was refused; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Wrong number of characters.
    #[error("{kind} must have {expected} characters, this has {actual}")]
    Length {
        /// The document kind.
        kind: &'static str,
        /// What the kind requires.
        expected: &'static str,
        /// What was given.
        actual: usize,
    },
    /// A character that the kind does not allow at that position.
    #[error("{kind}: {message}")]
    Shape {
        /// The document kind.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The first two digits name no province-level division.
    #[error("resident ID number: region code {0} names no province-level division")]
    Region(String),
    /// The embedded birth date does not exist.
    #[error("resident ID number: birth date {0} does not exist")]
    BirthDate(String),
    /// The check character does not match the other 17.
    #[error(
        "resident ID number: the check character should be {expected}, not {actual}; the number has a typo"
    )]
    CheckDigit {
        /// The check character the first 17 digits give.
        expected: char,
        /// The one given.
        actual: char,
    },
}

/// Province-level division codes (GB/T 2260), plus 81, 82, 83 for residence permits.
const PROVINCES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83",
];

const RESIDENT_ID: &str = "resident ID number";

/// Trims, drops inner spaces and upper-cases, so `110105 19491231 002x` reads as one number.
fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The ISO 7064 MOD 11-2 check character for the first 17 digits of a resident ID number.
pub fn resident_id_check_character(first_17: &[u8; 17]) -> char {
    // Weight of position i is 2^(17 - i) mod 11, as GB 11643 specifies.
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first_17
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(*digit) * weight)
        .sum();
    CHECK[(sum % 11) as usize]
}

impl IdDocument {
    /// Validates a mainland resident identity card number.
    pub fn resident_id(raw: &str) -> Result<Self, IdError> {
        let number = normalize(raw);
        let count = number.chars().count();
        if count != 18 {
            return Err(IdError::Length {
                kind: RESIDENT_ID,
                expected: "18",
                actual: count,
            });
        }
        let bytes = number.as_bytes();
        let mut digits = [0_u8; 17];
        for (position, byte) in bytes[..17].iter().enumerate() {
            if !byte.is_ascii_digit() {
                return Err(IdError::Shape {
                    kind: RESIDENT_ID,
                    message: format!("character {} must be a digit", position + 1),
                });
            }
            digits[position] = byte - b'0';
        }
        let last = char::from(bytes[17]);
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(IdError::Shape {
                kind: RESIDENT_ID,
                message: "the last character must be a digit or X".to_owned(),
            });
        }
        if !PROVINCES.contains(&&number[..2]) {
            return Err(IdError::Region(number[..6].to_owned()));
        }
        let birth = &number[6..14];
        if Self::parse_birth_date(birth).is_none() {
            return Err(IdError::BirthDate(birth.to_owned()));
        }
        let expected = resident_id_check_character(&digits);
        if expected != last {
            return Err(IdError::CheckDigit {
                expected,
                actual: last,
            });
        }
        Ok(IdDocument::ResidentId(number))
    }

    /// Validates a passport number with its issuing country (ISO 3166-1 alpha-3).
    pub fn passport(country: &str, raw: &str) -> Result<Self, IdError> {
        let country = normalize(country);
        if country.len() != 3 || !country.bytes().all(|byte| byte.is_ascii_uppercase()) {
            return Err(IdError::Shape {
                kind: "passport",
                message: format!(
                    "issuing country `{country}` must be an ISO 3166-1 alpha-3 code such as CHN"
                ),
            });
        }
        let number = normalize(raw);
        let count = number.chars().count();
        if !(5..=20).contains(&count) {
            return Err(IdError::Length {
                kind: "passport number",
                expected: "5 to 20",
                actual: count,
            });
        }
        if !number
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        {
            return Err(IdError::Shape {
                kind: "passport",
                message: "the number must be letters and digits only".to_owned(),
            });
        }
        Ok(IdDocument::Passport { country, number })
    }

    /// Validates a mainland travel permit for Hong Kong and Macau residents.
    pub fn hong_kong_macau_permit(raw: &str) -> Result<Self, IdError> {
        const KIND: &str = "Hong Kong/Macau travel permit";
        let number = normalize(raw);
        let count = number.chars().count();
        if count != 9 && count != 11 {
            return Err(IdError::Length {
                kind: KIND,
                expected: "9 or 11",
                actual: count,
            });
        }
        let (prefix, rest) = number.split_at(1);
        if prefix != "H" && prefix != "M" {
            return Err(IdError::Shape {
                kind: KIND,
                message: "must start with H (Hong Kong) or M (Macau)".to_owned(),
            });
        }
        if !rest.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(IdError::Shape {
                kind: KIND,
                message: "after the letter come only digits".to_owned(),
            });
        }
        Ok(IdDocument::HongKongMacauPermit(number))
    }

    /// Validates a mainland travel permit for Taiwan residents.
    pub fn taiwan_permit(raw: &str) -> Result<Self, IdError> {
        const KIND: &str = "Taiwan travel permit";
        let number = normalize(raw);
        let count = number.chars().count();
        if count != 8 && count != 10 {
            return Err(IdError::Length {
                kind: KIND,
                expected: "8 or 10",
                actual: count,
            });
        }
        if !number.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(IdError::Shape {
                kind: KIND,
                message: "must be digits only".to_owned(),
            });
        }
        Ok(IdDocument::TaiwanPermit(number))
    }

    /// The kind's stable name: `resident_id`, `passport`, `hk_macau_permit`, `taiwan_permit`.
    pub fn kind(&self) -> &'static str {
        match self {
            IdDocument::ResidentId(_) => "resident_id",
            IdDocument::Passport { .. } => "passport",
            IdDocument::HongKongMacauPermit(_) => "hk_macau_permit",
            IdDocument::TaiwanPermit(_) => "taiwan_permit",
        }
    }

    /// The key that identifies the person across sittings, e.g. `resident_id:11010519491231002X`
    /// or `passport:CHN:E12345678`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// The birth date a resident ID number carries, as `(year, month, day)`.
    pub fn birth_date(&self) -> Option<(i16, i8, i8)> {
        match self {
            IdDocument::ResidentId(number) => Self::parse_birth_date(&number[6..14])
                .map(|date| (date.year(), date.month(), date.day())),
            _ => None,
        }
    }

    fn parse_birth_date(text: &str) -> Option<jiff::civil::Date> {
        let year: i16 = text.get(0..4)?.parse().ok()?;
        let month: i8 = text.get(4..6)?.parse().ok()?;
        let day: i8 = text.get(6..8)?.parse().ok()?;
        if !(1850..=2199).contains(&year) {
            return None;
        }
        jiff::civil::Date::new(year, month, day).ok()
    }
}

impl fmt::Display for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdDocument::ResidentId(number) => write!(f, "resident_id:{number}"),
            IdDocument::Passport { country, number } => write!(f, "passport:{country}:{number}"),
            IdDocument::HongKongMacauPermit(number) => write!(f, "hk_macau_permit:{number}"),
            IdDocument::TaiwanPermit(number) => write!(f, "taiwan_permit:{number}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both are the worked examples of GB 11643-1999; their check characters were recomputed
    // with the MOD 11-2 weights independently of this code.
    const STANDARD_EXAMPLE_X: &str = "11010519491231002X";
    const STANDARD_EXAMPLE_4: &str = "440524188001010014";

    #[test]
    fn the_standards_worked_examples_are_valid() {
        assert_eq!(
            IdDocument::resident_id(STANDARD_EXAMPLE_X),
            Ok(IdDocument::ResidentId(STANDARD_EXAMPLE_X.to_owned()))
        );
        assert!(IdDocument::resident_id(STANDARD_EXAMPLE_4).is_ok());
    }

    #[test]
    fn a_lower_case_x_and_spaces_normalize_to_the_same_person() {
        let spaced = IdDocument::resident_id(" 110105 19491231 002x ").expect("valid");
        assert_eq!(
            spaced,
            IdDocument::resident_id(STANDARD_EXAMPLE_X).expect("valid")
        );
        assert_eq!(spaced.key(), "resident_id:11010519491231002X");
    }

    #[test]
    fn the_check_character_is_computed_with_iso_7064_mod_11_2() {
        let digits = |text: &str| -> [u8; 17] {
            let mut out = [0; 17];
            for (slot, byte) in out.iter_mut().zip(text.bytes()) {
                *slot = byte - b'0';
            }
            out
        };
        assert_eq!(
            resident_id_check_character(&digits("11010519491231002")),
            'X'
        );
        assert_eq!(
            resident_id_check_character(&digits("44052418800101001")),
            '4'
        );
        assert_eq!(
            resident_id_check_character(&digits("31011520081231001")),
            '2'
        );
        assert_eq!(
            resident_id_check_character(&digits("51012419960709002")),
            '0'
        );
    }

    #[test]
    fn a_wrong_check_character_is_rejected_and_the_right_one_named() {
        let error = IdDocument::resident_id("110105194912310021").expect_err("typo");
        assert_eq!(
            error,
            IdError::CheckDigit {
                expected: 'X',
                actual: '1'
            }
        );
    }

    #[test]
    fn a_number_of_the_wrong_length_is_rejected() {
        assert!(matches!(
            IdDocument::resident_id("11010519491231002"),
            Err(IdError::Length { actual: 17, .. })
        ));
        assert!(matches!(
            IdDocument::resident_id("wrong"),
            Err(IdError::Length { .. })
        ));
    }

    #[test]
    fn a_letter_inside_the_number_is_rejected() {
        assert!(matches!(
            IdDocument::resident_id("1101051949A231002X"),
            Err(IdError::Shape { .. })
        ));
    }

    #[test]
    fn an_unknown_province_code_is_rejected() {
        // 99 is no province; the check character is right for these digits, so only the
        // region rule can refuse it.
        assert!(matches!(
            IdDocument::resident_id("990105194912310023"),
            Err(IdError::Region(_))
        ));
    }

    #[test]
    fn a_birth_date_that_does_not_exist_is_rejected() {
        // February 2001 has no 29th; check character 7 is right for these digits.
        assert!(matches!(
            IdDocument::resident_id("110101200102291237"),
            Err(IdError::BirthDate(_))
        ));
        // 29 February 2000 exists (a leap year), check character X.
        assert!(IdDocument::resident_id("11010120000229123X").is_ok());
    }

    #[test]
    fn the_birth_date_is_read_from_the_number() {
        let document = IdDocument::resident_id(STANDARD_EXAMPLE_X).expect("valid");
        assert_eq!(document.birth_date(), Some((1949, 12, 31)));
    }

    #[test]
    fn a_passport_needs_a_country_and_a_plain_number() {
        let document = IdDocument::passport("chn", "e1234 5678").expect("valid");
        assert_eq!(document.key(), "passport:CHN:E12345678");
        assert!(IdDocument::passport("CN", "E12345678").is_err());
        assert!(IdDocument::passport("CHN", "E12-345678").is_err());
        assert!(IdDocument::passport("CHN", "E12").is_err());
    }

    #[test]
    fn hong_kong_and_macau_permits_start_with_h_or_m() {
        assert_eq!(
            IdDocument::hong_kong_macau_permit("h12345678")
                .expect("valid")
                .key(),
            "hk_macau_permit:H12345678"
        );
        assert!(IdDocument::hong_kong_macau_permit("M1234567890").is_ok());
        assert!(IdDocument::hong_kong_macau_permit("K12345678").is_err());
        assert!(IdDocument::hong_kong_macau_permit("H1234567").is_err());
    }

    #[test]
    fn taiwan_permits_are_eight_or_ten_digits() {
        assert!(IdDocument::taiwan_permit("12345678").is_ok());
        assert!(IdDocument::taiwan_permit("1234567890").is_ok());
        assert!(IdDocument::taiwan_permit("1234567").is_err());
        assert!(IdDocument::taiwan_permit("1234567A").is_err());
    }
}
