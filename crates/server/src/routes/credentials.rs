//! Issued certificates and the credit bank ([`crate::credentials`]).
//!
//! | route | who |
//! |---|---|
//! | `GET /certificates/signing-keys` | anyone: the public key(s) and their ids |
//! | `GET /issued-certificates/{number}` | anyone: `valid`, `revoked` or (404) `unknown`, minimal data |
//! | `GET /issued-certificates/{number}/document` | admin, auditor; org (issuer) |
//! | `POST /issued-certificates/{number}/revoke` `{"reason"}` | admin; org (issuer) |
//! | `GET /sittings/{id}/certificates` | admin, auditor; org (owner) |
//! | `GET /people/{id}/credits` | admin, auditor |
//! | `GET /candidate/certificates` | the candidate: their person's certificates |
//! | `GET /candidate/certificates/{number}/document` | the candidate: their own only |
//! | `GET /candidate/credits` (`?format=csv` for CSV) | the candidate: their person's account |
//!
//! The public verification answers only what an employer needs to trust a certificate: the
//! holder's name and masked ID number, the certificate, the date and the issuer, and for a
//! revoked one when and why. It answers from one indexed lookup whatever the number; whether a
//! number exists is exactly what its status says, nothing more.

use axum::Json as JsonResponse;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Route, Rule, access};
use crate::app::{AppState, now_seconds, rfc3339};
use crate::auth::{Caller, CandidateCaller, Role};
use crate::credentials::document::{
    self, ALGORITHM, DOCUMENT_FORMAT, Payload, SignedDocument, parse_number,
};
use crate::credentials::{self, ledger_csv};
use crate::error::AppError;
use crate::extract::Json;
use crate::storage::credentials::{IssuedCertificate, LedgerEntry, RevocationOutcome};

pub(super) fn routes() -> Vec<Route> {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];
    vec![
        Route::new(
            Method::GET,
            "/certificates/signing-keys",
            "The Ed25519 public key(s) that sign issued certificates, with their key ids",
            Rule::Public,
            get(signing_keys),
        ),
        Route::new(
            Method::GET,
            "/issued-certificates/{number}",
            "Verify an issued certificate by number: valid, revoked or unknown (404), with minimal personal data",
            Rule::Public,
            get(verify),
        ),
        Route::new(
            Method::GET,
            "/issued-certificates/{number}/document",
            "The signed certificate document (payload, signature, key id) for the issuing organization",
            Rule::Staff(READERS),
            get(staff_document),
        ),
        Route::new(
            Method::POST,
            "/issued-certificates/{number}/revoke",
            "Revoke an issued certificate with a reason; posts the credit reversal",
            Rule::Staff(&[Role::Admin, Role::Org]),
            post(revoke),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/certificates",
            "The certificates issued in a sitting",
            Rule::Staff(READERS),
            get(sitting_certificates),
        ),
        Route::new(
            Method::GET,
            "/people/{id}/credits",
            "A person's credit account: balance and every posting",
            Rule::Staff(&[Role::Admin, Role::Auditor]),
            get(person_credits),
        ),
        Route::new(
            Method::GET,
            "/candidate/certificates",
            "The calling candidate's issued certificates, across sittings",
            Rule::Candidate,
            get(candidate_certificates),
        ),
        Route::new(
            Method::GET,
            "/candidate/certificates/{number}/document",
            "The calling candidate's signed certificate document",
            Rule::Candidate,
            get(candidate_document),
        ),
        Route::new(
            Method::GET,
            "/candidate/credits",
            "The calling candidate's credit account (?format=csv: the same as CSV)",
            Rule::Candidate,
            get(candidate_credits),
        ),
    ]
}

#[derive(Debug, Serialize)]
struct SigningKeyView {
    key_id: String,
    algorithm: &'static str,
    /// The raw 32-byte public key, hex.
    public_key: String,
    status: &'static str,
}

/// `GET /certificates/signing-keys`.
async fn signing_keys(
    State(state): State<AppState>,
) -> Result<JsonResponse<serde_json::Value>, AppError> {
    let public = credentials::signing_key(&state.storage).await?.public_key();
    let key = SigningKeyView {
        key_id: public.key_id(),
        algorithm: ALGORITHM,
        public_key: public.to_hex(),
        status: "current",
    };
    Ok(JsonResponse(json!({
        "payload_format": document::PAYLOAD_FORMAT,
        "document_format": DOCUMENT_FORMAT,
        "keys": [key],
    })))
}

#[derive(Debug, Serialize)]
struct CertificateType {
    code: String,
    level: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct Issuer {
    code: String,
    name: String,
}

/// What the public may learn about a certificate.
#[derive(Debug, Serialize)]
struct Verification {
    status: &'static str,
    number: String,
    holder_name: String,
    holder_document: String,
    certificate: CertificateType,
    exam_date: String,
    issued_at: String,
    issuer: Issuer,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_reason: Option<String>,
}

/// The signed payload of a stored certificate.
fn payload_of(certificate: &IssuedCertificate) -> Result<Payload, AppError> {
    serde_json::from_str(&certificate.payload).map_err(|error| {
        AppError::Internal(format!(
            "stored payload of certificate {}: {error}",
            certificate.number
        ))
    })
}

fn status_of(certificate: &IssuedCertificate) -> &'static str {
    if certificate.revoked_at.is_some() {
        "revoked"
    } else {
        "valid"
    }
}

fn verification(certificate: &IssuedCertificate) -> Result<Verification, AppError> {
    let payload = payload_of(certificate)?;
    Ok(Verification {
        status: status_of(certificate),
        number: payload.number,
        holder_name: payload.holder_name,
        holder_document: payload.holder_document,
        certificate: CertificateType {
            code: payload.certificate_code,
            level: payload.certificate_level,
            title: payload.certificate_title,
        },
        exam_date: payload.exam_date,
        issued_at: payload.issued_at,
        issuer: Issuer {
            code: payload.issuer_code,
            name: payload.issuer_name,
        },
        revoked_at: certificate.revoked_at.map(rfc3339),
        revocation_reason: certificate.revocation_reason.clone(),
    })
}

/// 404 `{"status": "unknown", "number", "error": {"code": "unknown_certificate", "message"}}`:
/// the verification shape and the error shape at once.
fn unknown(number: &str, message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        JsonResponse(json!({
            "status": "unknown",
            "number": number,
            "error": {"code": "unknown_certificate", "message": message},
        })),
    )
        .into_response()
}

/// `GET /issued-certificates/{number}`: public verification.
async fn verify(
    State(state): State<AppState>,
    Path(typed): Path<String>,
) -> Result<Response, AppError> {
    let number = match parse_number(&typed) {
        Ok(number) => number,
        Err(error) => {
            let shown: String = typed.chars().take(64).collect();
            return Ok(unknown(
                &shown,
                &format!("this is not a certificate number: {error}"),
            ));
        }
    };
    match state.storage.issued_certificate(&number).await? {
        Some(certificate) => Ok(JsonResponse(verification(&certificate)?).into_response()),
        None => Ok(unknown(
            &number,
            "no certificate has this number: it was not issued by this platform; check it against the certificate",
        )),
    }
}

/// The certificate `typed` names, or 404 for a malformed or unknown number.
async fn find(state: &AppState, typed: &str) -> Result<IssuedCertificate, AppError> {
    let number = parse_number(typed).map_err(|_| AppError::NotFound("certificate"))?;
    state
        .storage
        .issued_certificate(&number)
        .await?
        .ok_or(AppError::NotFound("certificate"))
}

/// The signed document of a stored certificate, with the current public key beside it when
/// it is the one that signed.
async fn signed_document(
    state: &AppState,
    certificate: &IssuedCertificate,
) -> Result<SignedDocument, AppError> {
    let public = credentials::signing_key(&state.storage).await?.public_key();
    Ok(SignedDocument {
        format: DOCUMENT_FORMAT.to_owned(),
        payload: payload_of(certificate)?,
        algorithm: ALGORITHM.to_owned(),
        key_id: certificate.key_id.clone(),
        signature: certificate.signature.clone(),
        public_key: (public.key_id() == certificate.key_id).then(|| public.to_hex()),
    })
}

/// A document as a download: JSON with a file name of the number.
fn document_response(number: &str, document: &SignedDocument) -> Response {
    let mut response = JsonResponse(document).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"certificate-{number}.json\""
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /issued-certificates/{number}/document`: for the issuing organization, admins, auditors.
async fn staff_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(typed): Path<String>,
) -> Result<Response, AppError> {
    let certificate = find(&state, &typed).await?;
    access::read_issued_certificates(&caller, &certificate.organization_id)?;
    let document = signed_document(&state, &certificate).await?;
    Ok(document_response(&certificate.number, &document))
}

/// `GET /candidate/certificates/{number}/document`: the holder's own only.
async fn candidate_document(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    Path(typed): Path<String>,
) -> Result<Response, AppError> {
    let certificate = find(&state, &typed).await?;
    if certificate.person_id != candidate.person_id {
        return Err(AppError::NotFound("certificate"));
    }
    let document = signed_document(&state, &certificate).await?;
    Ok(document_response(&certificate.number, &document))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    reason: String,
}

/// Longest revocation reason (it is shown publicly).
const MAX_REASON_CHARS: usize = 500;

/// `POST /issued-certificates/{number}/revoke`.
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(typed): Path<String>,
    Json(request): Json<RevokeRequest>,
) -> Result<JsonResponse<Verification>, AppError> {
    let certificate = find(&state, &typed).await?;
    access::revoke_issued_certificates(&caller, &certificate.organization_id)?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::Invalid(format!(
            "`reason` must say why the certificate is revoked, in 1 to {MAX_REASON_CHARS} characters; it is shown to anyone who verifies the number"
        )));
    }
    let revocation = credentials::revocation(
        &certificate.number,
        "manual",
        reason,
        &caller.user_id,
        now_seconds(),
    );
    let outcomes = state
        .storage
        .revoke_issued_certificates(std::slice::from_ref(&revocation))
        .await?;
    match outcomes.first() {
        Some(RevocationOutcome::Revoked) => {}
        Some(RevocationOutcome::AlreadyRevoked) => {
            let revoked_at = certificate
                .revoked_at
                .map(rfc3339)
                .unwrap_or_else(|| "just now".to_owned());
            return Err(AppError::refused(
                StatusCode::CONFLICT,
                "already_revoked",
                format!(
                    "certificate {} was revoked already ({revoked_at}); nothing changed",
                    certificate.number
                ),
            )
            .with_detail("revoked_at", revoked_at));
        }
        Some(RevocationOutcome::Unknown) | None => return Err(AppError::NotFound("certificate")),
    }
    let revoked = state
        .storage
        .issued_certificate(&certificate.number)
        .await?
        .ok_or(AppError::NotFound("certificate"))?;
    Ok(JsonResponse(verification(&revoked)?))
}

/// One issued certificate in a list (staff or the holder).
#[derive(Debug, Serialize)]
struct IssuedView {
    number: String,
    status: &'static str,
    holder_name: String,
    holder_document: String,
    certificate: CertificateType,
    credits: i64,
    exam_date: String,
    issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_reason: Option<String>,
    /// The public verification page of this number.
    verify_url: String,
    /// The printable certificate (opened from a page that holds the token; docs/CERTIFICATES.md).
    print_url: String,
}

fn issued_view(certificate: &IssuedCertificate) -> Result<IssuedView, AppError> {
    let payload = payload_of(certificate)?;
    Ok(IssuedView {
        status: status_of(certificate),
        verify_url: format!("/verify?number={}", certificate.number),
        print_url: format!("/certificates/{}/print", certificate.number),
        number: payload.number,
        holder_name: payload.holder_name,
        holder_document: payload.holder_document,
        certificate: CertificateType {
            code: payload.certificate_code,
            level: payload.certificate_level,
            title: payload.certificate_title,
        },
        credits: certificate.credits,
        exam_date: payload.exam_date,
        issued_at: payload.issued_at,
        revoked_at: certificate.revoked_at.map(rfc3339),
        revocation_reason: certificate.revocation_reason.clone(),
    })
}

/// `GET /sittings/{id}/certificates`.
async fn sitting_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<IssuedView>>, AppError> {
    let sitting = state
        .storage
        .sitting(&id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    access::read_issued_certificates(&caller, &sitting.organization_id).map_err(
        |error| match error {
            AppError::NotFound(_) => AppError::NotFound("sitting"),
            other => other,
        },
    )?;
    let certificates = state.storage.issued_certificates_of_sitting(&id).await?;
    Ok(JsonResponse(
        certificates
            .iter()
            .map(issued_view)
            .collect::<Result<_, _>>()?,
    ))
}

/// `GET /candidate/certificates`.
async fn candidate_certificates(
    State(state): State<AppState>,
    candidate: CandidateCaller,
) -> Result<JsonResponse<Vec<IssuedView>>, AppError> {
    let certificates = state
        .storage
        .issued_certificates_of_person(&candidate.person_id)
        .await?;
    Ok(JsonResponse(
        certificates
            .iter()
            .map(issued_view)
            .collect::<Result<_, _>>()?,
    ))
}

/// One posting of an account, with the balance after it.
#[derive(Debug, Serialize)]
struct PostingView {
    at: String,
    kind: String,
    certificate_number: String,
    certificate: CertificateType,
    amount: i64,
    balance: i64,
}

#[derive(Debug, Serialize)]
struct AccountView {
    balance: i64,
    entries: Vec<PostingView>,
}

fn account(entries: Vec<LedgerEntry>) -> AccountView {
    let mut balance = 0;
    let entries = entries
        .into_iter()
        .map(|entry| {
            balance += entry.amount;
            PostingView {
                at: rfc3339(entry.at),
                kind: entry.kind,
                certificate_number: entry.certificate_number,
                certificate: CertificateType {
                    code: entry.certificate_code,
                    level: entry.level,
                    title: entry.title,
                },
                amount: entry.amount,
                balance,
            }
        })
        .collect();
    AccountView { balance, entries }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditsQuery {
    #[serde(default)]
    format: Option<String>,
}

/// `GET /candidate/credits` (`?format=csv` for CSV).
async fn candidate_credits(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    query: Result<Query<CreditsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let format = match query {
        Ok(Query(query)) => query.format,
        Err(_) => Some(String::new()),
    };
    let entries = state
        .storage
        .credit_ledger_of_person(&candidate.person_id)
        .await?;
    match format.as_deref() {
        None | Some("json") => Ok(JsonResponse(account(entries)).into_response()),
        Some("csv") => {
            let mut response = ledger_csv(&entries).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"credits.csv\""),
            );
            Ok(response)
        }
        Some(_) => Err(AppError::BadRequest {
            code: "invalid_query",
            message: "`format` is `json` (the default) or `csv`".to_owned(),
        }),
    }
}

/// `GET /people/{id}/credits`.
async fn person_credits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<AccountView>, AppError> {
    access::read_credit_accounts(&caller)?;
    if state.storage.person(&id).await?.is_none() {
        return Err(AppError::NotFound("person"));
    }
    let entries = state.storage.credit_ledger_of_person(&id).await?;
    Ok(JsonResponse(account(entries)))
}
