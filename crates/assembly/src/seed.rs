//! Seeds: 32 bytes written as 64 hex digits, and the documented derivation of a candidate's
//! paper seed from a sitting secret.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::AssemblyError;

/// A 32-byte seed for `ChaCha20Rng`: a paper seed, or a sitting secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed([u8; 32]);

impl Seed {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Seed {
        Seed(bytes)
    }

    /// Parses exactly 64 hexadecimal digits (either case).
    pub fn parse_hex(text: &str) -> Result<Seed, AssemblyError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(AssemblyError::InvalidSeed(format!(
                "a seed is 64 hexadecimal digits (32 bytes); got {} characters",
                text.chars().count()
            )));
        }
        let mut bytes = [0u8; 32];
        for (index, pair) in text.as_bytes().chunks(2).enumerate() {
            let high = hex_digit(pair[0]);
            let low = hex_digit(pair[1]);
            match (high, low) {
                (Some(high), Some(low)) => bytes[index] = (high << 4) | low,
                _ => {
                    return Err(AssemblyError::InvalidSeed(format!(
                        "a seed is 64 hexadecimal digits; `{}` at position {} is not one",
                        String::from_utf8_lossy(pair),
                        index * 2 + 1
                    )));
                }
            }
        }
        Ok(Seed(bytes))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The seed of candidate `candidate_id`'s paper in a sitting whose secret is `self`:
    /// `HMAC-SHA256(key = secret, message = "paper" || 0x00 || UTF-8(candidate_id))`.
    pub fn paper_seed(&self, candidate_id: &str) -> Seed {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail for 32 bytes.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"paper");
        mac.update(&[0u8]);
        mac.update(candidate_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&digest);
        Seed(bytes)
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Seed {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_round_trips_through_hex() {
        let text = "00ff".repeat(16);
        let seed = Seed::parse_hex(&text).expect("valid");
        assert_eq!(seed.to_string(), text);
        assert_eq!(seed.as_bytes()[1], 0xff);
    }

    #[test]
    fn a_short_seed_is_rejected_with_its_length() {
        let error = Seed::parse_hex("abcd").expect_err("too short");
        assert!(error.to_string().contains("got 4 characters"), "{error}");
    }

    #[test]
    fn a_seed_with_a_non_hex_digit_is_rejected_with_its_position() {
        let mut text = "1".repeat(64);
        text.replace_range(10..11, "g");
        let error = Seed::parse_hex(&text).expect_err("bad digit");
        assert!(error.to_string().contains("position 11"), "{error}");
    }

    #[test]
    fn paper_seeds_follow_the_documented_hmac_derivation() {
        // An independent check: HMAC-SHA256 with a key of 32 0x0b bytes
        // over "paper\0C1". The value was computed with Python's hmac module.
        let secret = Seed::from_bytes([0x0b; 32]);
        let derived = secret.paper_seed("C1");
        assert_eq!(
            derived.to_string(),
            "3f467ba3e9f0c00d1dc41b8f454c15010e6c2be968aa819ab3b303b807c95a04"
        );
        assert_ne!(secret.paper_seed("C1"), secret.paper_seed("C2"));
    }
}
