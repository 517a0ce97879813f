//! Issued certificates (Ed25519-signed, verifiable, revocable) and the credit bank ledger.
//!
//! Design choices, and why:
//!
//! - **The document is pure** ([`document`]): payload, canonical bytes, signature, number and
//!   check character live in a module without I/O, shared by the server and the CLI's offline
//!   `xcert certificate verify`, and specified in `docs/CERTIFICATES.md` for third parties.
//! - **One signing key per installation**, generated once from the operating system's CSPRNG
//!   and stored in `settings` (as the JWT secret is); when two replicas start at once both end
//!   with the first one's key. Its id is a hash of the public key, published at
//!   `GET /api/v1/certificates/signing-keys`.
//! - **Issuance follows the results** ([`reconcile_sitting`]): result publication and score
//!   corrections call it; it issues to every passing result without a certificate and revokes
//!   certificates whose result no longer passes. It is idempotent and safe on many replicas:
//!   a unique index allows one live certificate per registration (see
//!   [`crate::storage::credentials`]).
//! - **The credit bank is append-only**: issuance posts `+credits`, revocation `-credits`, in
//!   the same transaction as the certificate change and its audit entry; balances are sums.

pub mod document;

use crate::app::{AppState, audit_entry, rfc3339};
use crate::error::AppError;
use crate::random;
use crate::storage::credentials::{
    IssuingContext, NewIssuedCertificate, PassingHolder, Revocation, RevocationOutcome,
};
use crate::storage::{AuditEntry, Storage};
use document::{PAYLOAD_FORMAT, Payload, SigningKey};

/// The `settings` key holding the signing key's 32-byte seed as hex.
const SIGNING_KEY_SETTING: &str = "certificate_signing_key";

/// The public revocation reason of a certificate whose result was corrected below the pass.
pub const RESULT_CORRECTED: &str = "result corrected";

/// How many times issuance retries when fresh numbers collide with existing ones (40 random
/// bits per certificate code, level and year make that all but impossible).
const ISSUE_ROUNDS: usize = 3;

/// What [`reconcile_sitting`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Numbers of the certificates issued now.
    pub issued: Vec<String>,
    /// Numbers of the certificates revoked now (result corrected).
    pub revoked: Vec<String>,
}

/// The installation's signing key: read from `settings`, or generated and stored once.
pub async fn signing_key(storage: &Storage) -> Result<SigningKey, AppError> {
    let generated = hex::encode(random::bytes::<32>());
    let stored = storage
        .setting_or_insert(SIGNING_KEY_SETTING, &generated)
        .await?;
    let seed: [u8; 32] = hex::decode(stored.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            AppError::Internal(format!(
                "the `{SIGNING_KEY_SETTING}` setting is not 64 hex digits"
            ))
        })?;
    Ok(SigningKey::from_seed(&seed))
}

/// Brings a sitting's issued certificates in line with its results: issues a certificate to
/// every result with `passed` that has no live certificate (and none revoked by hand), and
/// revokes (reason "result corrected", with a credit reversal) every live certificate whose
/// result no longer passes. Idempotent; safe when replicas run it at once. Result publication
/// calls it after its commit, and again after a score correction.
pub async fn reconcile_sitting(
    state: &AppState,
    sitting_id: &str,
    actor: &str,
    now: i64,
) -> Result<Reconciled, AppError> {
    reconcile_sitting_in(&state.storage, sitting_id, actor, now).await
}

/// [`reconcile_sitting`] on a storage (for tests and tools without an [`AppState`]).
pub async fn reconcile_sitting_in(
    storage: &Storage,
    sitting_id: &str,
    actor: &str,
    now: i64,
) -> Result<Reconciled, AppError> {
    let context = storage
        .issuing_context(sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let mut reconciled = Reconciled::default();

    let stale = storage.live_certificates_without_pass(sitting_id).await?;
    if !stale.is_empty() {
        let revocations: Vec<Revocation> = stale
            .iter()
            .map(|number| revocation(number, "result_corrected", RESULT_CORRECTED, actor, now))
            .collect();
        let outcomes = storage.revoke_issued_certificates(&revocations).await?;
        for (number, outcome) in stale.into_iter().zip(outcomes) {
            if outcome == RevocationOutcome::Revoked {
                reconciled.revoked.push(number);
            }
        }
    }

    let key = signing_key(storage).await?;
    for _ in 0..ISSUE_ROUNDS {
        let holders = storage
            .passing_holders_without_certificate(sitting_id)
            .await?;
        if holders.is_empty() {
            break;
        }
        let certificates: Vec<NewIssuedCertificate> = holders
            .iter()
            .map(|holder| issue(&key, &context, holder, actor, now))
            .collect();
        let inserted = storage.insert_issued_certificates(&certificates).await?;
        reconciled.issued.extend(inserted);
    }
    Ok(reconciled)
}

/// A revocation of `number` with its audit entry.
pub(crate) fn revocation(
    number: &str,
    kind: &'static str,
    reason: &str,
    actor: &str,
    now: i64,
) -> Revocation {
    let mut audit = audit_entry(
        actor,
        "issued_certificate.revoke",
        &format!("issued_certificate:{number}"),
        &serde_json::json!({"number": number, "kind": kind, "reason": reason}),
    );
    audit.at = now;
    Revocation {
        number: number.to_owned(),
        kind,
        reason: reason.to_owned(),
        actor: actor.to_owned(),
        at: now,
        audit,
    }
}

/// The exam year of a `YYYY-MM-DD` date.
fn exam_year(exam_date: &str) -> i16 {
    exam_date
        .get(..4)
        .and_then(|year| year.parse().ok())
        .unwrap_or(0)
}

/// Signs a new certificate for `holder` with a fresh random number.
fn issue(
    key: &SigningKey,
    context: &IssuingContext,
    holder: &PassingHolder,
    actor: &str,
    now: i64,
) -> NewIssuedCertificate {
    let number = document::new_number(
        &context.certificate_code,
        &context.level,
        exam_year(&context.exam_date),
        random::bytes::<8>(),
    );
    let payload = Payload {
        certificate_code: context.certificate_code.clone(),
        certificate_level: context.level.clone(),
        certificate_title: context.title.clone(),
        credits: u32::try_from(context.credits).unwrap_or(0),
        exam_date: context.exam_date.clone(),
        format: PAYLOAD_FORMAT.to_owned(),
        holder_document: crate::sittings::mask_document(&holder.document_number),
        holder_name: holder.name.clone(),
        issued_at: rfc3339(now),
        issuer_code: context.organization_code.clone(),
        issuer_name: context.organization_name.clone(),
        key_id: key.public_key().key_id(),
        number: number.clone(),
    };
    let signed = key.sign(payload);
    let payload_text = String::from_utf8(signed.payload.canonical_bytes()).unwrap_or_default();
    let audit = AuditEntry {
        at: now,
        ..audit_entry(
            actor,
            "issued_certificate.issue",
            &format!("issued_certificate:{number}"),
            &serde_json::json!({
                "number": number,
                "registration": holder.registration_id,
                "sitting": context.sitting_id,
                "credits": context.credits,
            }),
        )
    };
    NewIssuedCertificate {
        number,
        registration_id: holder.registration_id.clone(),
        sitting_id: context.sitting_id.clone(),
        person_id: holder.person_id.clone(),
        certificate_id: context.certificate_id.clone(),
        organization_id: context.organization_id.clone(),
        credits: context.credits,
        payload: payload_text,
        key_id: signed.key_id,
        signature: signed.signature,
        issued_at: now,
        issued_by: actor.to_owned(),
        audit,
    }
}

/// A credit account as CSV (RFC 4180, CRLF line ends), one posting a line with the balance
/// after it: `at,kind,certificate_number,certificate_code,level,title,amount,balance`.
pub fn ledger_csv(entries: &[crate::storage::credentials::LedgerEntry]) -> String {
    let mut out =
        String::from("at,kind,certificate_number,certificate_code,level,title,amount,balance\r\n");
    let mut balance = 0_i64;
    for entry in entries {
        balance += entry.amount;
        let fields = [
            csv_text(&rfc3339(entry.at)),
            csv_text(&entry.kind),
            csv_text(&entry.certificate_number),
            csv_text(&entry.certificate_code),
            csv_text(&entry.level),
            csv_text(&entry.title),
            entry.amount.to_string(),
            balance.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One text field of a CSV line: quoted when it holds a comma, quote or line break (quotes
/// doubled), and prefixed with `'` when it starts like a spreadsheet formula (`=`, `+`, `-`,
/// `@`, tab or carriage return), so opening the export never runs a title as a formula.
pub fn csv_text(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::credentials::LedgerEntry;

    fn entry(kind: &str, amount: i64, title: &str) -> LedgerEntry {
        LedgerEntry {
            id: 1,
            person_id: "p".to_owned(),
            certificate_number: "WEBFE-J-2026-2345-6789-2".to_owned(),
            kind: kind.to_owned(),
            amount,
            at: 1_780_000_000,
            certificate_code: "WEB-FE".to_owned(),
            level: "junior".to_owned(),
            title: title.to_owned(),
        }
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks_and_defuses_formulas() {
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("Web 前端"), "Web 前端");
    }

    #[test]
    fn the_csv_export_has_a_header_and_a_running_balance() {
        let csv = ledger_csv(&[
            entry("issue", 4, "Web, front end"),
            entry("reversal", -4, "Web, front end"),
        ]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "at,kind,certificate_number,certificate_code,level,title,amount,balance"
        );
        assert!(
            lines[1].ends_with(",\"Web, front end\",4,4"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with(",-4,0"), "{}", lines[2]);
        assert_eq!(lines[3], "");
    }

    #[test]
    fn the_exam_year_is_read_from_the_date() {
        assert_eq!(exam_year("2026-06-06"), 2026);
        assert_eq!(exam_year(""), 0);
    }
}
