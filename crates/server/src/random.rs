//! Secrets and identifiers from the operating system's CSPRNG.
//!
//! The server is the one place that may use ambient randomness (the domain crates take seeds):
//! ids, session ids, generated passwords and the generated signing secret all come from here.

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut buffer = [0_u8; N];
    // A machine without a working OS random source cannot run this server safely at all.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buffer).expect("the operating system's random number generator failed");
    buffer
}

/// A 128-bit random id as 32 lower-case hex digits.
pub(crate) fn hex_id() -> String {
    hex::encode(bytes::<16>())
}

/// Letters and digits without look-alikes (no 0/O, 1/l/I), for passwords a person types.
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random password of `length` characters (about 5.8 bits each).
pub(crate) fn password(length: usize) -> String {
    let alphabet_len = PASSWORD_ALPHABET.len();
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % alphabet_len;
    let mut out = String::with_capacity(length);
    while out.len() < length {
        for byte in bytes::<32>() {
            if usize::from(byte) < limit && out.len() < length {
                out.push(char::from(
                    PASSWORD_ALPHABET[usize::from(byte) % alphabet_len],
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_differ() {
        let (a, b) = (hex_id(), hex_id());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_generated_password_has_the_asked_length_and_only_unambiguous_characters() {
        let generated = password(24);
        assert_eq!(generated.len(), 24);
        assert!(generated.bytes().all(|c| PASSWORD_ALPHABET.contains(&c)));
    }
}
