//! The signed certificate document: its payload, the canonical bytes that are signed, the
//! Ed25519 signature and its verification, and the certificate number with its check
//! character. Pure: no I/O, no clock, no randomness (random bits come in as arguments), so a
//! third party, the server and `xcert certificate verify` run exactly the same code.
//!
//! The format is specified in `docs/CERTIFICATES.md`, precisely enough to verify a document
//! without this code. In short:
//!
//! - The **payload** is a JSON object whose values are strings and one non-negative integer
//!   (`credits`). Its **canonical bytes** are RFC 8785 (JCS): keys sorted, no whitespace,
//!   strings with only `"`, `\` and control characters escaped, UTF-8. With these value types
//!   that is exactly what serializing [`Payload`] (fields declared in sorted order) gives.
//! - The **signature** is Ed25519 (RFC 8032, checked with `verify_strict`) over those bytes,
//!   written as 128 lower-case hex digits.
//! - The **key id** is the first 16 hex digits of SHA-256 of the raw 32-byte public key. It is
//!   signed inside the payload and repeated outside it; both must name the trusted key.
//! - A document may carry the signer's public key for convenience, but verification never
//!   trusts it: the caller passes the key it trusts ([`PublicKey`]).

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey as DalekSigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `format` of every payload this version signs.
pub const PAYLOAD_FORMAT: &str = "xcert-certificate/1";
/// `format` of the signed document around the payload.
pub const DOCUMENT_FORMAT: &str = "xcert-signed-certificate/1";
/// The only signature algorithm.
pub const ALGORITHM: &str = "Ed25519";

/// What an issued certificate says, exactly as signed. Fields are declared in sorted order so
/// that serializing this struct gives the canonical (RFC 8785) bytes; a test keeps it so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The X certificate's code, e.g. `WEB-FE`.
    pub certificate_code: String,
    /// `junior`, `intermediate` or `senior`.
    pub certificate_level: String,
    /// The certificate's title.
    pub certificate_title: String,
    /// Credits the certificate carries into the holder's credit account.
    pub credits: u32,
    /// The sitting's date, `YYYY-MM-DD` (China Standard Time).
    pub exam_date: String,
    /// Always [`PAYLOAD_FORMAT`].
    pub format: String,
    /// The holder's identity document, masked (`1101**********002X`).
    pub holder_document: String,
    /// The holder's name.
    pub holder_name: String,
    /// When it was issued, RFC 3339 UTC to the second.
    pub issued_at: String,
    /// The issuing evaluation organization's code.
    pub issuer_code: String,
    /// The issuing evaluation organization's name.
    pub issuer_name: String,
    /// Id of the key that signs it (see [`PublicKey::key_id`]).
    pub key_id: String,
    /// The certificate number, e.g. `WEBFE-J-2026-K7QX-M9RT-5`.
    pub number: String,
}

impl Payload {
    /// The bytes that are signed: RFC 8785 canonical JSON of the payload.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serializing a struct of strings and an integer cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A payload with its signature: what the holder downloads and anyone verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedDocument {
    /// Always [`DOCUMENT_FORMAT`].
    pub format: String,
    /// What is signed.
    pub payload: Payload,
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// The signing key's id; must equal `payload.key_id`.
    pub key_id: String,
    /// The Ed25519 signature of the payload's canonical bytes, 128 lower-case hex digits.
    pub signature: String,
    /// The signer's public key (hex), for convenience only: never trusted by verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The server's signing key (an Ed25519 secret key). Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct SigningKey(DalekSigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(key_id {})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// The key of a 32-byte secret seed (from the operating system's CSPRNG, stored once).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(DalekSigningKey::from_bytes(seed))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `payload` (whose `key_id` must be this key's: [`Self::payload_key_id`]) and
    /// returns the document, carrying the public key for convenience.
    pub fn sign(&self, payload: Payload) -> SignedDocument {
        let signature = self.0.sign(&payload.canonical_bytes());
        let public_key = self.public_key();
        SignedDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            key_id: payload.key_id.clone(),
            payload,
            algorithm: ALGORITHM.to_owned(),
            signature: hex::encode(signature.to_bytes()),
            public_key: Some(public_key.to_hex()),
        }
    }
}

/// A public key a verifier trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses 64 hex digits (the raw 32-byte Ed25519 public key).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::NotHex)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| KeyError::WrongLength(bytes.len()))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::NotOnCurve)
    }

    /// The raw key as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The key id: the first 16 hex digits of SHA-256 of the raw 32-byte key.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex::encode(&digest[..8])
    }
}

/// Why a public key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not hexadecimal.
    #[error("the public key is not hexadecimal; give the 64 hex digits of the Ed25519 key")]
    NotHex,
    /// Not 32 bytes.
    #[error("the public key has {0} bytes; an Ed25519 public key has 32 (64 hex digits)")]
    WrongLength(usize),
    /// Not a point of the curve.
    #[error("the public key is not a valid Ed25519 point")]
    NotOnCurve,
}

/// Why a document does not verify. Every variant says what is wrong in words a holder or an
/// employer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a document of a format this version knows.
    #[error("unsupported format: {0}")]
    Format(String),
    /// The key id outside the payload differs from the signed one.
    #[error(
        "the key id beside the signature ({outside}) differs from the signed one ({signed}): the document was altered"
    )]
    KeyIdMismatch {
        /// `key_id` beside the signature.
        outside: String,
        /// `payload.key_id`.
        signed: String,
    },
    /// Signed with a key other than the trusted one.
    #[error(
        "the document names signing key {document}, but the trusted key is {trusted}: it was not signed by the trusted issuer's key"
    )]
    WrongKey {
        /// The document's key id.
        document: String,
        /// The trusted key's id.
        trusted: String,
    },
    /// The signature is not 64 bytes of hex.
    #[error("the signature is malformed ({0}): it must be 128 hex digits")]
    MalformedSignature(String),
    /// The signature does not match the payload under the trusted key.
    #[error(
        "the signature does not match the content under the trusted key: the document was altered or forged"
    )]
    BadSignature,
}

/// Checks `document` against the key the caller trusts: format, key ids, and the Ed25519
/// signature over the canonical bytes of the payload. Any altered field, a signature made
/// with another key, or a truncated signature is refused.
pub fn verify(document: &SignedDocument, trusted: &PublicKey) -> Result<(), VerifyError> {
    if document.format != DOCUMENT_FORMAT {
        return Err(VerifyError::Format(format!(
            "document format `{}`, expected `{DOCUMENT_FORMAT}`",
            document.format
        )));
    }
    if document.payload.format != PAYLOAD_FORMAT {
        return Err(VerifyError::Format(format!(
            "payload format `{}`, expected `{PAYLOAD_FORMAT}`",
            document.payload.format
        )));
    }
    if document.algorithm != ALGORITHM {
        return Err(VerifyError::Format(format!(
            "algorithm `{}`, expected `{ALGORITHM}`",
            document.algorithm
        )));
    }
    if document.key_id != document.payload.key_id {
        return Err(VerifyError::KeyIdMismatch {
            outside: document.key_id.clone(),
            signed: document.payload.key_id.clone(),
        });
    }
    let trusted_id = trusted.key_id();
    if document.key_id != trusted_id {
        return Err(VerifyError::WrongKey {
            document: document.key_id.clone(),
            trusted: trusted_id,
        });
    }
    let bytes = hex::decode(&document.signature)
        .map_err(|_| VerifyError::MalformedSignature("not hexadecimal".to_owned()))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        VerifyError::MalformedSignature(format!("{} bytes instead of 64", bytes.len()))
    })?;
    let signature = Signature::from_bytes(&bytes);
    trusted
        .0
        .verify_strict(&document.payload.canonical_bytes(), &signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// The symbols of a number's random part and check character: digits and capitals without
/// 0, O, 1 and I (as admission tickets), 32 symbols of 5 bits.
const NUMBER_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The level's letter in a number.
fn level_letter(level: &str) -> Option<char> {
    match level {
        "junior" => Some('J'),
        "intermediate" => Some('I'),
        "senior" => Some('S'),
        _ => None,
    }
}

/// A certificate number: `{code without dashes}-{J|I|S}-{exam year}-{4 symbols}-{4 symbols}-
/// {check}`, e.g. `WEBFE-J-2026-K7QX-M9RT-5`. The eight symbols are 40 random bits (from
/// `random`, one symbol per byte's low 5 bits); the check character is Luhn mod 32 over them,
/// so any one mistyped symbol and any swap of two neighbours (but `2` with `Z`) is caught
/// before a lookup.
pub fn new_number(code: &str, level: &str, exam_year: i16, random: [u8; 8]) -> String {
    let prefix: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
    let letter = level_letter(level).unwrap_or('X');
    let symbols: Vec<u8> = random
        .iter()
        .map(|byte| NUMBER_ALPHABET[usize::from(byte & 0x1f)])
        .collect();
    let check = NUMBER_ALPHABET[luhn_check(&symbols)];
    format!(
        "{prefix}-{letter}-{exam_year:04}-{}-{}-{}",
        String::from_utf8_lossy(&symbols[..4]),
        String::from_utf8_lossy(&symbols[4..]),
        char::from(check)
    )
}

/// The Luhn mod 32 check symbol's index for `symbols` (each in [`NUMBER_ALPHABET`]).
fn luhn_check(symbols: &[u8]) -> usize {
    let n = NUMBER_ALPHABET.len();
    let mut factor = 2;
    let mut sum = 0;
    for symbol in symbols.iter().rev() {
        let value = NUMBER_ALPHABET
            .iter()
            .position(|candidate| candidate == symbol)
            .unwrap_or(0);
        let addend = factor * value;
        sum += addend / n + addend % n;
        factor = if factor == 2 { 1 } else { 2 };
    }
    (n - sum % n) % n
}

/// Why typed text is not a certificate number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not the shape `CODE-L-YYYY-XXXX-XXXX-C`.
    #[error(
        "a certificate number looks like WEBFE-J-2026-K7QX-M9RT-5 (code, level letter, year, two groups of four, one check character)"
    )]
    Shape,
    /// A symbol that never appears in a number.
    #[error(
        "`{0}` never appears in the last three groups of a certificate number (no 0, O, 1 or I); check the number"
    )]
    Symbol(char),
    /// The check character does not match: a typo.
    #[error(
        "the check character does not match: one character is probably mistyped; check the number"
    )]
    Check,
}

/// Normalizes typed text to a number (upper case, no spaces) and checks its shape and check
/// character. Says which part is wrong; a well-formed number may still be unknown.
pub fn parse_number(typed: &str) -> Result<String, NumberError> {
    let text: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let groups: Vec<&str> = text.split('-').collect();
    let [prefix, level, year, first, second, check] = groups.as_slice() else {
        return Err(NumberError::Shape);
    };
    let shape_ok = !prefix.is_empty()
        && prefix.len() <= 32
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && matches!(*level, "J" | "I" | "S")
        && year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && first.len() == 4
        && second.len() == 4
        && check.len() == 1;
    if !shape_ok {
        return Err(NumberError::Shape);
    }
    let symbols: Vec<u8> = first.bytes().chain(second.bytes()).collect();
    for symbol in symbols.iter().chain(check.as_bytes()) {
        if !NUMBER_ALPHABET.contains(symbol) {
            return Err(NumberError::Symbol(char::from(*symbol)));
        }
    }
    if check.as_bytes()[0] != NUMBER_ALPHABET[luhn_check(&symbols)] {
        return Err(NumberError::Check);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_seed(&[7; 32])
    }

    fn payload(key: &SigningKey) -> Payload {
        Payload {
            certificate_code: "WEB-FE".to_owned(),
            certificate_level: "junior".to_owned(),
            certificate_title: "Web 前端开发 (初级)".to_owned(),
            credits: 4,
            exam_date: "2026-06-06".to_owned(),
            format: PAYLOAD_FORMAT.to_owned(),
            holder_document: "1101**********002X".to_owned(),
            holder_name: "张三 \"Sam\"".to_owned(),
            issued_at: "2026-06-20T08:00:00Z".to_owned(),
            issuer_code: "ACME".to_owned(),
            issuer_name: "ACME Evaluation".to_owned(),
            key_id: key.public_key().key_id(),
            number: new_number("WEB-FE", "junior", 2026, [1, 2, 3, 4, 5, 6, 7, 8]),
        }
    }

    fn signed() -> (SignedDocument, PublicKey) {
        let key = key();
        (key.sign(payload(&key)), key.public_key())
    }

    #[test]
    fn a_signed_document_verifies_under_its_key() {
        let (document, public) = signed();
        assert_eq!(verify(&document, &public), Ok(()));
    }

    #[test]
    fn the_canonical_bytes_have_sorted_keys_and_no_whitespace() {
        let key = key();
        let bytes = payload(&key).canonical_bytes();
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert!(text.starts_with("{\"certificate_code\":\"WEB-FE\",\"certificate_level\""));
        assert!(text.contains("\"credits\":4,"));
        assert!(text.contains("\"holder_name\":\"张三 \\\"Sam\\\"\""));
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
        let positions: Vec<usize> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).expect("present"))
            .collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        let mut by_position = keys.clone();
        by_position.sort_by_key(|key| positions[keys.iter().position(|k| k == key).unwrap_or(0)]);
        assert_eq!(by_position, sorted_keys, "keys appear in sorted order");
        assert!(!text.contains(": ") && !text.contains(", "));
    }

    #[test]
    fn altering_any_signed_field_makes_the_document_invalid() {
        let (document, public) = signed();
        type Alteration = (&'static str, fn(&mut Payload));
        let alterations: Vec<Alteration> = vec![
            ("certificate_code", |p| p.certificate_code.push('X')),
            ("certificate_level", |p| {
                p.certificate_level = "senior".to_owned();
            }),
            ("certificate_title", |p| p.certificate_title.push('!')),
            ("credits", |p| p.credits += 1),
            ("exam_date", |p| p.exam_date = "2026-06-07".to_owned()),
            ("holder_document", |p| {
                p.holder_document = "1101**********0031".to_owned();
            }),
            ("holder_name", |p| p.holder_name = "李四".to_owned()),
            ("issued_at", |p| {
                p.issued_at = "2026-06-20T08:00:01Z".to_owned();
            }),
            ("issuer_code", |p| p.issuer_code = "EVIL".to_owned()),
            ("issuer_name", |p| p.issuer_name.push(' ')),
            ("number", |p| {
                p.number = new_number("WEB-FE", "junior", 2026, [9; 8]);
            }),
        ];
        for (field, alter) in alterations {
            let mut altered = document.clone();
            alter(&mut altered.payload);
            assert_eq!(
                verify(&altered, &public),
                Err(VerifyError::BadSignature),
                "altered {field}"
            );
        }
        // The format and key id are signed too, and checked before the signature.
        let mut altered = document.clone();
        altered.payload.format = "xcert-certificate/2".to_owned();
        assert!(matches!(
            verify(&altered, &public),
            Err(VerifyError::Format(_))
        ));
        let mut altered = document;
        altered.payload.key_id = "0000000000000000".to_owned();
        assert!(matches!(
            verify(&altered, &public),
            Err(VerifyError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn a_flipped_signature_bit_or_a_truncated_signature_is_refused() {
        let (document, public) = signed();
        let mut flipped = document.clone();
        let mut bytes = hex::decode(&flipped.signature).expect("hex");
        bytes[10] ^= 1;
        flipped.signature = hex::encode(bytes);
        assert_eq!(verify(&flipped, &public), Err(VerifyError::BadSignature));
        let mut truncated = document.clone();
        truncated.signature.truncate(120);
        assert!(matches!(
            verify(&truncated, &public),
            Err(VerifyError::MalformedSignature(_))
        ));
        let mut garbage = document;
        garbage.signature = "zz".repeat(64);
        assert!(matches!(
            verify(&garbage, &public),
            Err(VerifyError::MalformedSignature(_))
        ));
    }

    #[test]
    fn a_document_signed_with_another_key_is_refused_even_when_it_carries_that_key() {
        let (genuine, public) = signed();
        let forger = SigningKey::from_seed(&[9; 32]);
        let mut forged_payload = genuine.payload;
        forged_payload.holder_name = "Mallory".to_owned();
        // The forger signs with their own key and names it honestly: the trusted key differs.
        forged_payload.key_id = forger.public_key().key_id();
        let forged = forger.sign(forged_payload.clone());
        assert!(matches!(
            verify(&forged, &public),
            Err(VerifyError::WrongKey { .. })
        ));
        // Or claims the genuine key id: the signature does not verify under the genuine key.
        forged_payload.key_id = public.key_id();
        let mut claimed = forger.sign(forged_payload);
        claimed.public_key = Some(public.to_hex());
        assert_eq!(verify(&claimed, &public), Err(VerifyError::BadSignature));
        // The key it carries is never what verification trusts.
        let carried =
            PublicKey::from_hex(claimed.public_key.as_deref().unwrap_or_default()).expect("a key");
        assert_eq!(verify(&claimed, &carried), Err(VerifyError::BadSignature));
    }

    #[test]
    fn unknown_fields_in_a_document_are_refused_when_it_is_read() {
        let (document, _) = signed();
        let mut value = serde_json::to_value(&document).expect("JSON");
        value["payload"]["grade"] = serde_json::json!("A+");
        assert!(serde_json::from_value::<SignedDocument>(value).is_err());
        let mut value = serde_json::to_value(&document).expect("JSON");
        value["note"] = serde_json::json!("trust me");
        assert!(serde_json::from_value::<SignedDocument>(value).is_err());
    }

    #[test]
    fn a_document_survives_a_json_round_trip_with_other_formatting() {
        let (document, public) = signed();
        let pretty = serde_json::to_string_pretty(&document).expect("JSON");
        let read: SignedDocument = serde_json::from_str(&pretty).expect("reads back");
        assert_eq!(verify(&read, &public), Ok(()));
    }

    #[test]
    fn a_public_key_round_trips_through_hex_and_bad_keys_are_named() {
        let public = key().public_key();
        assert_eq!(PublicKey::from_hex(&public.to_hex()), Ok(public));
        assert_eq!(public.key_id().len(), 16);
        assert_eq!(PublicKey::from_hex("xyz"), Err(KeyError::NotHex));
        assert_eq!(PublicKey::from_hex("abcd"), Err(KeyError::WrongLength(2)));
    }

    #[test]
    fn a_number_has_its_shape_and_parses_back_after_lower_case_and_spaces() {
        let number = new_number("WEB-FE", "junior", 2026, [0, 1, 2, 3, 29, 30, 31, 200]);
        assert!(number.starts_with("WEBFE-J-2026-2345-"), "{number}");
        assert_eq!(number.len(), "WEBFE-J-2026-XXXX-XXXX-C".len());
        assert_eq!(parse_number(&number), Ok(number.clone()));
        let typed = format!(" {} ", number.to_lowercase().replace('-', " - "));
        assert_eq!(parse_number(&typed), Ok(number));
        let senior = new_number("CLOUD-OPS", "senior", 2027, [5; 8]);
        assert!(senior.starts_with("CLOUDOPS-S-2027-"), "{senior}");
    }

    #[test]
    fn a_mistyped_or_swapped_symbol_is_caught_by_the_check_character() {
        let number = new_number("WEB-FE", "junior", 2026, [3, 14, 15, 9, 26, 5, 3, 5]);
        let bytes = number.as_bytes();
        let tail_start = number.len() - "XXXX-XXXX-C".len();
        for position in tail_start..number.len() {
            if bytes[position] == b'-' {
                continue;
            }
            for &replacement in NUMBER_ALPHABET {
                if replacement == bytes[position] {
                    continue;
                }
                let mut typo = bytes.to_vec();
                typo[position] = replacement;
                let typo = String::from_utf8(typo).expect("ASCII");
                assert_eq!(parse_number(&typo), Err(NumberError::Check), "{typo}");
            }
        }
        let symbols: Vec<usize> = (tail_start..number.len() - 2)
            .filter(|&i| bytes[i] != b'-')
            .collect();
        for pair in symbols.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b != a + 1 || bytes[a] == bytes[b] {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(a, b);
            let swapped = String::from_utf8(swapped).expect("ASCII");
            assert_eq!(parse_number(&swapped), Err(NumberError::Check), "{swapped}");
        }
    }

    #[test]
    fn text_that_is_not_a_number_says_what_is_wrong() {
        assert_eq!(parse_number(""), Err(NumberError::Shape));
        assert_eq!(parse_number("WEBFE-J-2026"), Err(NumberError::Shape));
        assert_eq!(
            parse_number("WEBFE-X-2026-2345-6789-2"),
            Err(NumberError::Shape)
        );
        assert_eq!(
            parse_number("WEBFE-J-2026-2345-67O9-2"),
            Err(NumberError::Symbol('O'))
        );
        assert_eq!(
            parse_number("WEB/FE-J-2026-2345-6789-2"),
            Err(NumberError::Shape)
        );
    }
}
