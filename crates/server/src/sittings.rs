//! Sittings, rooms and registration: the rules, in one place, for the HTTP handlers and the
//! `xcert demo` command alike (the handlers only check who is asking and translate JSON).
//!
//! - [`create_sitting`] checks the window, that the bank version belongs to the certificate
//!   and organization, that the blueprint parses and is feasible for that bank (every problem
//!   of the feasibility analysis blocks, the exposure cap included, since a sitting draws many
//!   papers), and that the sites exist; it draws the sitting's secret.
//! - [`register`] validates and normalizes the identity document (so one person is one person
//!   across sittings), issues an unguessable admission ticket, and lets storage find or create
//!   the person, refuse a retake ban, a duplicate or a full room, and write everything in one
//!   transaction.
//! - Tickets are 20 characters of a 32-letter alphabet without look-alikes (no 0, O, 1, I):
//!   100 bits from the operating system's CSPRNG, printed in groups of five.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};
use xcert_assembly::{AssemblyError, Blueprint, Plan, Pool};
use xcert_bank::Bank;

use crate::app::audit_entry;
use crate::error::AppError;
use crate::identity::IdDocument;
use crate::random;
use crate::storage::Storage;
use crate::storage::sittings::{Person, Registration, RegistrationOutcome, Room, Sitting};

/// Late-entry allowance when a sitting names none: 15 minutes after opening.
pub const DEFAULT_LATE_ENTRY_SECS: i64 = 900;
/// China Standard Time, in which exam dates (and so retake-ban dates) are counted.
const CST_OFFSET_HOURS: i8 = 8;

/// What a new sitting needs. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSitting {
    /// The certificate examined; must belong to the organization.
    pub certificate_id: String,
    /// The bank version pinned; must be a version of that certificate.
    pub bank_version_id: String,
    /// Display title.
    pub title: String,
    /// The blueprint, TOML text (docs/BLUEPRINT-FORMAT.md).
    pub blueprint: String,
    /// Candidates may start from here.
    pub opens_at: i64,
    /// Every attempt ends by here.
    pub closes_at: i64,
    /// Working time per attempt; default: the blueprint's `duration_minutes`.
    pub duration_secs: Option<i64>,
    /// How long after opening a candidate may still start; default
    /// [`DEFAULT_LATE_ENTRY_SECS`]; the cutoff never passes `closes_at`.
    pub late_entry_secs: Option<i64>,
    /// The exam sites taking part.
    pub site_ids: Vec<String>,
}

/// What a registration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegistration {
    /// The identity document's number, as typed (spaces and case do not matter).
    pub id_number: String,
    /// The candidate's name.
    pub name: String,
    /// `resident_id` (default), `passport`, `hk_macau_permit` or `taiwan_permit`.
    pub document_kind: Option<String>,
    /// Issuing country (ISO 3166-1 alpha-3) of a passport.
    pub country: Option<String>,
    /// The candidate's class, for proctor avoidance.
    pub class: Option<String>,
    /// Room code of the registering site in this sitting.
    pub room: Option<String>,
}

/// A stored registration with its person and room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The registration (its `ticket` is the admission ticket).
    pub registration: Registration,
    /// The person, found or created.
    pub person: Person,
    /// The room, when one was named.
    pub room: Option<Room>,
}

/// The `YYYY-MM-DD` date in China Standard Time of a Unix time.
pub fn exam_date(unix_seconds: i64) -> Result<String, AppError> {
    let timestamp = jiff::Timestamp::from_second(unix_seconds)
        .map_err(|error| AppError::Invalid(format!("time out of range: {error}")))?;
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(CST_OFFSET_HOURS));
    Ok(timestamp.to_zoned(zone).date().to_string())
}

fn check_text(field: &str, text: &str, max_chars: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max_chars {
        return Err(AppError::Invalid(format!(
            "{field} must be 1 to {max_chars} characters"
        )));
    }
    Ok(text.to_owned())
}

/// What the blueprint check hands back.
struct CheckedBlueprint {
    bank_hash: String,
    hash: String,
    duration_secs: i64,
}

/// Parses the blueprint, compiles it against the bank and runs the feasibility analysis, and
/// hashes the bank, off the async threads (a large bank takes a moment).
async fn check_blueprint(
    bank: Arc<Bank>,
    text: String,
    version_label: String,
) -> Result<CheckedBlueprint, AppError> {
    tokio::task::spawn_blocking(move || check_blueprint_now(&bank, &text, &version_label))
        .await
        .map_err(|error| AppError::Internal(format!("the blueprint check task failed: {error}")))?
}

fn check_blueprint_now(
    bank: &Bank,
    text: &str,
    version_label: &str,
) -> Result<CheckedBlueprint, AppError> {
    let invalid = |message: String, errors: Vec<String>| {
        AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_blueprint",
            message,
        )
        .with_detail("errors", errors)
    };
    let blueprint = Blueprint::parse(text).map_err(|diagnostics| {
        invalid(
            format!(
                "the blueprint is invalid ({} problem(s), listed in `errors`; see docs/BLUEPRINT-FORMAT.md)",
                diagnostics.len()
            ),
            diagnostics.iter().map(ToString::to_string).collect(),
        )
    })?;
    let pool = Pool::from_bank(bank).map_err(|error| {
        AppError::Internal(format!(
            "bank version {version_label} cannot be drawn from: {error}"
        ))
    })?;
    let plan = match Plan::new(&pool, &blueprint) {
        Ok(plan) => plan,
        Err(AssemblyError::InvalidBlueprint(diagnostics)) => {
            return Err(invalid(
                format!(
                    "the blueprint does not fit bank version {version_label} ({} problem(s), listed in `errors`)",
                    diagnostics.len()
                ),
                diagnostics.iter().map(ToString::to_string).collect(),
            ));
        }
        Err(error) => {
            return Err(invalid(
                format!("the blueprint does not fit bank version {version_label}: {error}"),
                Vec::new(),
            ));
        }
    };
    let report = plan.feasibility();
    if !report.is_feasible() {
        let reasons: Vec<Value> = report
            .problems
            .iter()
            .map(|problem| {
                json!({
                    "kind": problem.kind.as_str(),
                    "rules": problem.rules,
                    "lines": problem.lines,
                    "needed": problem.needed,
                    "available": problem.available,
                    "message": problem.message,
                })
            })
            .collect();
        return Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "infeasible_blueprint",
            format!(
                "bank version {version_label} cannot meet the blueprint ({} problem(s), listed in `reasons`): {}; change the blueprint or pin a larger bank version (`xcert blueprint check` shows the same report)",
                report.problems.len(),
                report.problems_text().replace('\n', "; ")
            ),
        )
        .with_detail("reasons", reasons));
    }
    Ok(CheckedBlueprint {
        bank_hash: bank.content_hash().to_hex(),
        hash: blueprint.hash_hex(),
        duration_secs: i64::from(blueprint.duration_minutes()) * 60,
    })
}

/// Creates a sitting of organization `organization_id`, audited as `sitting.create` by
/// `actor_user_id`. `bank` is the parsed bank of `new.bank_version_id` (from
/// `banks::load_bank`, or parsed by the caller); its content hash must match the stored
/// version's. The caller has checked that the actor may create sittings for the organization.
///
/// Refusals (nothing stored): 404 no such organization; 422 `invalid_field` for a bad title,
/// window, duration, late entry, a certificate or bank version that is not the organization's,
/// an unknown site; 422 `invalid_blueprint` with `errors`; 422 `infeasible_blueprint` with the
/// feasibility report's `reasons`.
pub async fn create_sitting(
    storage: &Storage,
    actor_user_id: &str,
    organization_id: &str,
    new: NewSitting,
    bank: Arc<Bank>,
    now: i64,
) -> Result<Sitting, AppError> {
    let title = check_text("title", &new.title, 200)?;
    if new.closes_at <= new.opens_at {
        return Err(AppError::Invalid(
            "closes_at must be after opens_at".to_owned(),
        ));
    }
    if new.closes_at <= now {
        return Err(AppError::Invalid(
            "closes_at is in the past; a sitting must close in the future".to_owned(),
        ));
    }
    let late_entry_secs = new.late_entry_secs.unwrap_or(DEFAULT_LATE_ENTRY_SECS);
    if late_entry_secs < 0 {
        return Err(AppError::Invalid(
            "late_entry_secs must be 0 or more".to_owned(),
        ));
    }
    let organization = storage
        .organization(organization_id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let certificate = storage
        .certificate(&new.certificate_id)
        .await?
        .filter(|certificate| certificate.organization_id == organization.id)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "certificate `{}` is not a certificate of organization {}",
                new.certificate_id, organization.code
            ))
        })?;
    let version = storage
        .bank_version(&new.bank_version_id)
        .await?
        .filter(|version| {
            version.organization_id == organization.id && version.certificate_id == certificate.id
        })
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "bank_version `{}` is not a bank version of certificate {} {} in this organization",
                new.bank_version_id, certificate.code, certificate.level
            ))
        })?;
    let mut site_ids = new.site_ids.clone();
    site_ids.sort();
    site_ids.dedup();
    for site_id in &site_ids {
        if storage.site(site_id).await?.is_none() {
            return Err(AppError::Invalid(format!(
                "site `{site_id}` does not exist"
            )));
        }
    }
    let label = format!(
        "{} of {} {}",
        version.version, certificate.code, certificate.level
    );
    let checked = check_blueprint(bank, new.blueprint.clone(), label).await?;
    if checked.bank_hash != version.content_hash {
        return Err(AppError::Internal(format!(
            "the bank handed to create_sitting is not bank version {}",
            version.id
        )));
    }
    let duration_secs = new.duration_secs.unwrap_or(checked.duration_secs);
    let window = new.closes_at - new.opens_at;
    if duration_secs <= 0 || duration_secs > window {
        return Err(AppError::Invalid(format!(
            "duration_secs {duration_secs} must be more than 0 and fit the window of {window} s between opens_at and closes_at"
        )));
    }
    let sitting = Sitting {
        id: random::hex_id(),
        organization_id: organization.id,
        certificate_id: certificate.id,
        certificate_code: certificate.code,
        level: certificate.level,
        bank_version_id: version.id,
        title,
        blueprint: new.blueprint,
        blueprint_hash: checked.hash,
        secret: hex::encode(random::bytes::<32>()),
        opens_at: new.opens_at,
        closes_at: new.closes_at,
        late_entry_until: new
            .opens_at
            .saturating_add(late_entry_secs)
            .min(new.closes_at),
        duration_secs,
        exam_date: exam_date(new.opens_at)?,
        published_at: None,
        created_by: actor_user_id.to_owned(),
        created_at: now,
    };
    // The audited payload describes the sitting; the secret is never part of it.
    let audited = json!({
        "organization": sitting.organization_id,
        "certificate": sitting.certificate_id,
        "bank_version": sitting.bank_version_id,
        "title": sitting.title,
        "blueprint_hash": sitting.blueprint_hash,
        "opens_at": sitting.opens_at,
        "closes_at": sitting.closes_at,
        "late_entry_until": sitting.late_entry_until,
        "duration_secs": sitting.duration_secs,
        "sites": site_ids,
    });
    let audit = audit_entry(
        actor_user_id,
        "sitting.create",
        &format!("sitting:{}", sitting.id),
        &audited,
    );
    storage.create_sitting(&sitting, &site_ids, &audit).await?;
    Ok(sitting)
}

/// Adds exam site `site_id` to a sitting, audited as `sitting.add_site`. 422 for an unknown
/// site, 409 `conflict` when it takes part already.
pub async fn add_site(
    storage: &Storage,
    actor_user_id: &str,
    sitting: &Sitting,
    site_id: &str,
) -> Result<(), AppError> {
    if storage.site(site_id).await?.is_none() {
        return Err(AppError::Invalid(format!(
            "site `{site_id}` does not exist"
        )));
    }
    let audit = audit_entry(
        actor_user_id,
        "sitting.add_site",
        &format!("sitting:{}", sitting.id),
        &json!({"site": site_id}),
    );
    storage
        .add_sitting_site(&sitting.id, site_id, &audit)
        .await
        .map_err(|error| match error {
            crate::storage::StorageError::Duplicate(_) => AppError::Conflict(format!(
                "site `{site_id}` takes part in this sitting already"
            )),
            other => other.into(),
        })
}

/// Room codes: 1 to 32 characters of letters, digits, `-`, `_` and `.`.
fn check_room_code(code: &str) -> Result<String, AppError> {
    let code = code.trim();
    let shape_ok = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte));
    if shape_ok {
        Ok(code.to_owned())
    } else {
        Err(AppError::Invalid(format!(
            "room code `{code}` must be 1 to 32 characters of letters, digits, `-`, `_` and `.`"
        )))
    }
}

/// Creates a room of exam site `site_id` in a sitting, audited as `room.create`. 422 when the
/// site does not take part or the code or capacity is unacceptable; 409 for a code taken in
/// this sitting.
pub async fn create_room(
    storage: &Storage,
    actor_user_id: &str,
    sitting: &Sitting,
    site_id: &str,
    code: &str,
    capacity: i64,
    now: i64,
) -> Result<Room, AppError> {
    let code = check_room_code(code)?;
    if !(1..=10_000).contains(&capacity) {
        return Err(AppError::Invalid(
            "capacity must be between 1 and 10000 seats".to_owned(),
        ));
    }
    require_participating(storage, sitting, site_id).await?;
    let room = Room {
        id: random::hex_id(),
        sitting_id: sitting.id.clone(),
        site_id: site_id.to_owned(),
        code,
        capacity,
        created_at: now,
    };
    let audit = audit_entry(
        actor_user_id,
        "room.create",
        &format!("room:{}", room.id),
        &json!({"sitting": room.sitting_id, "site": room.site_id, "code": room.code, "capacity": room.capacity}),
    );
    storage
        .create_room(&room, &audit)
        .await
        .map_err(|error| match error {
            crate::storage::StorageError::Duplicate(_) => AppError::Conflict(format!(
                "this sitting has a room `{}` already; room codes are unique within a sitting",
                room.code
            )),
            other => other.into(),
        })?;
    Ok(room)
}

async fn require_participating(
    storage: &Storage,
    sitting: &Sitting,
    site_id: &str,
) -> Result<(), AppError> {
    if storage
        .sitting_site_ids(&sitting.id)
        .await?
        .iter()
        .any(|id| id == site_id)
    {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "site `{site_id}` does not take part in this sitting; add it first with POST /api/v1/sittings/{}/sites",
            sitting.id
        )))
    }
}

/// Validates an identity document of `kind` (default `resident_id`).
pub fn parse_document(
    kind: Option<&str>,
    number: &str,
    country: Option<&str>,
) -> Result<IdDocument, AppError> {
    let invalid = |message: String| {
        AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id_number",
            message,
        )
    };
    let parsed = match kind.unwrap_or("resident_id") {
        "resident_id" => IdDocument::resident_id(number),
        "passport" => {
            let country = country.ok_or_else(|| {
                invalid(
                    "a passport needs its issuing country: add \"country\" with the ISO 3166-1 alpha-3 code, e.g. \"CHN\""
                        .to_owned(),
                )
            })?;
            IdDocument::passport(country, number)
        }
        "hk_macau_permit" => IdDocument::hong_kong_macau_permit(number),
        "taiwan_permit" => IdDocument::taiwan_permit(number),
        other => {
            return Err(invalid(format!(
                "document_kind `{other}` is not one of resident_id, passport, hk_macau_permit, taiwan_permit"
            )));
        }
    };
    if country.is_some() && kind != Some("passport") {
        return Err(invalid(
            "`country` goes with document_kind `passport` only".to_owned(),
        ));
    }
    parsed.map_err(|error| invalid(format!("id_number: {error}")))
}

/// The stored number of a document: the number itself, for a passport `COUNTRY:NUMBER`.
pub fn stored_number(document: &IdDocument) -> String {
    match document {
        IdDocument::ResidentId(number)
        | IdDocument::HongKongMacauPermit(number)
        | IdDocument::TaiwanPermit(number) => number.clone(),
        IdDocument::Passport { country, number } => format!("{country}:{number}"),
    }
}

/// Whether `typed` (as a candidate types it at login) is the stored document number: spaces
/// and case are ignored, and a passport number may be typed with or without its country.
/// Compared in constant time.
pub fn document_matches(stored: &str, typed: &str) -> bool {
    let typed: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let number_only = stored.split_once(':').map(|(_, number)| number);
    constant_time_eq(stored.as_bytes(), typed.as_bytes())
        | number_only.is_some_and(|number| constant_time_eq(number.as_bytes(), typed.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A document number with its middle hidden, e.g. `1101**********1234`; a passport keeps
/// its country: `CHN:E1*****78`.
pub fn mask_document(stored: &str) -> String {
    let (prefix, number) = match stored.split_once(':') {
        Some((country, number)) => (format!("{country}:"), number),
        None => (String::new(), stored),
    };
    let chars: Vec<char> = number.chars().collect();
    let (head, tail) = if chars.len() >= 12 { (4, 4) } else { (2, 2) };
    if chars.len() <= head + tail {
        return format!("{prefix}{}", "*".repeat(chars.len()));
    }
    let masked: String = chars
        .iter()
        .enumerate()
        .map(|(index, c)| {
            if index < head || index >= chars.len() - tail {
                *c
            } else {
                '*'
            }
        })
        .collect();
    format!("{prefix}{masked}")
}

/// The ticket alphabet: digits and capitals without 0, O, 1 and I; 32 symbols, 5 bits each.
const TICKET_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Symbols per ticket: 20 × 5 = 100 random bits.
const TICKET_SYMBOLS: usize = 20;
const TICKET_GROUP: usize = 5;

/// A new admission ticket, e.g. `K7QX2-M9RTB-4HNZC-W8PDE`.
pub fn new_ticket() -> String {
    let symbols: Vec<u8> = random::bytes::<TICKET_SYMBOLS>()
        .iter()
        .map(|byte| TICKET_ALPHABET[usize::from(byte & 0x1f)])
        .collect();
    group_ticket(&symbols)
}

fn group_ticket(symbols: &[u8]) -> String {
    symbols
        .chunks(TICKET_GROUP)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a ticket as typed: case, spaces and dashes do not matter. `None` when
/// it cannot be a ticket.
pub fn normalize_ticket(typed: &str) -> Option<String> {
    let symbols: Vec<u8> = typed
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace() && *byte != b'-')
        .map(|byte| byte.to_ascii_uppercase())
        .collect();
    (symbols.len() == TICKET_SYMBOLS && symbols.iter().all(|byte| TICKET_ALPHABET.contains(byte)))
        .then(|| group_ticket(&symbols))
}

/// Registers a person for a sitting at exam site `site_id`, audited as `registration.create`
/// (the audited payload leaves out the ID number and the ticket). The caller has checked that
/// the actor may register for that site.
///
/// Refusals (nothing stored): 409 `registration_closed` once the sitting has closed; 422 when
/// the site does not take part, for a bad name or class, an unknown room of that site; 422
/// `invalid_id_number` naming the problem (e.g. the check character); 403 `retake_banned`
/// with `until`; 409 `already_registered`; 409 `room_full`.
pub async fn register(
    storage: &Storage,
    actor_user_id: &str,
    sitting: &Sitting,
    site_id: &str,
    new: NewRegistration,
    now: i64,
) -> Result<Registered, AppError> {
    if now >= sitting.closes_at {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            "registration_closed",
            format!(
                "sitting `{}` closed at {}; registration is closed",
                sitting.title,
                crate::app::rfc3339(sitting.closes_at)
            ),
        ));
    }
    require_participating(storage, sitting, site_id).await?;
    let name = check_text("name", &new.name, 100)?;
    let document = parse_document(
        new.document_kind.as_deref(),
        &new.id_number,
        new.country.as_deref(),
    )?;
    let class_code = new
        .class
        .as_deref()
        .map(|class| check_text("class", class, 64))
        .transpose()?;
    let room = match new.room.as_deref() {
        None => None,
        Some(code) => {
            let room = storage
                .room_by_code(&sitting.id, code.trim())
                .await?
                .filter(|room| room.site_id == site_id)
                .ok_or_else(|| {
                    AppError::Invalid(format!(
                        "room `{}` is not a room of this site in this sitting; create it with POST /api/v1/sittings/{}/rooms",
                        code.trim(),
                        sitting.id
                    ))
                })?;
            Some(room)
        }
    };
    let person = Person {
        id: random::hex_id(),
        document_kind: document.kind().to_owned(),
        document_number: stored_number(&document),
        name,
        created_at: now,
    };
    let registration = Registration {
        id: random::hex_id(),
        sitting_id: sitting.id.clone(),
        person_id: person.id.clone(),
        site_id: site_id.to_owned(),
        ticket: new_ticket(),
        class_code,
        room_id: room.as_ref().map(|room| room.id.clone()),
        extra_time_secs: 0,
        created_by: actor_user_id.to_owned(),
        created_at: now,
    };
    let audit = audit_entry(
        actor_user_id,
        "registration.create",
        &format!("registration:{}", registration.id),
        &json!({
            "sitting": registration.sitting_id,
            "site": registration.site_id,
            "name": person.name,
            "class": registration.class_code,
            "room": registration.room_id,
        }),
    );
    match storage
        .register(sitting, &person, &registration, &audit)
        .await?
    {
        RegistrationOutcome::Registered {
            registration,
            person,
        } => Ok(Registered {
            registration: *registration,
            person: *person,
            room,
        }),
        RegistrationOutcome::Banned { until } => Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "retake_banned",
            format!(
                "this person may not sit {} {} again before {until} (retake ban after a bottom-10% result)",
                sitting.certificate_code, sitting.level
            ),
        )
        .with_detail("until", until)),
        RegistrationOutcome::AlreadyRegistered => Err(AppError::refused(
            StatusCode::CONFLICT,
            "already_registered",
            "this person is registered for this sitting already; one registration per person and sitting",
        )),
        RegistrationOutcome::RoomFull { capacity } => Err(AppError::refused(
            StatusCode::CONFLICT,
            "room_full",
            format!(
                "room `{}` is full ({capacity} seats); choose another room or register without one",
                room.as_ref().map(|room| room.code.as_str()).unwrap_or_default()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_has_twenty_symbols_of_the_readable_alphabet_in_groups_of_five() {
        let ticket = new_ticket();
        assert_eq!(ticket.len(), 23);
        let groups: Vec<&str> = ticket.split('-').collect();
        assert_eq!(groups.len(), 4);
        for group in groups {
            assert_eq!(group.len(), 5);
            assert!(
                group
                    .bytes()
                    .all(|byte| TICKET_ALPHABET.contains(&byte) && !b"01OI".contains(&byte))
            );
        }
        assert_ne!(new_ticket(), ticket);
    }

    #[test]
    fn a_ticket_typed_in_lower_case_without_dashes_normalizes_to_the_stored_form() {
        let ticket = new_ticket();
        let typed = ticket.replace('-', " ").to_lowercase();
        assert_eq!(normalize_ticket(&typed), Some(ticket));
        assert_eq!(normalize_ticket("K7QX2-M9RTB-4HNZC-W8PD0"), None);
        assert_eq!(normalize_ticket("short"), None);
    }

    #[test]
    fn the_exam_date_is_the_china_standard_time_date() {
        // 2026-06-05T16:30:00Z is 2026-06-06 00:30 in Beijing.
        assert_eq!(exam_date(1_780_677_000).expect("in range"), "2026-06-06");
        // 2026-06-05T15:59:59Z is still 2026-06-05 23:59:59 in Beijing.
        assert_eq!(exam_date(1_780_675_199).expect("in range"), "2026-06-05");
    }

    #[test]
    fn a_resident_id_is_masked_to_its_first_and_last_four_characters() {
        assert_eq!(mask_document("11010519491231002X"), "1101**********002X");
        assert_eq!(mask_document("CHN:E12345678"), "CHN:E1*****78");
        assert_eq!(mask_document("H12345678"), "H1*****78");
    }

    #[test]
    fn a_document_matches_regardless_of_case_spaces_and_passport_country() {
        assert!(document_matches(
            "11010519491231002X",
            " 110105 19491231 002x"
        ));
        assert!(!document_matches(
            "11010519491231002X",
            "110105194912310021"
        ));
        assert!(document_matches("CHN:E12345678", "e12345678"));
        assert!(document_matches("CHN:E12345678", "CHN:E12345678"));
        assert!(!document_matches("CHN:E12345678", "E1234567"));
    }

    #[test]
    fn a_bad_check_character_is_refused_with_the_expected_one_named() {
        let error = parse_document(None, "110105194912310021", None).expect_err("typo");
        let AppError::Refused { code, message, .. } = error else {
            panic!("a refusal");
        };
        assert_eq!(code, "invalid_id_number");
        assert!(message.contains("should be X"), "{message}");
    }

    #[test]
    fn a_passport_needs_its_country_and_other_kinds_refuse_one() {
        assert!(parse_document(Some("passport"), "E12345678", None).is_err());
        let passport =
            parse_document(Some("passport"), "e12345678", Some("chn")).expect("a passport");
        assert_eq!(stored_number(&passport), "CHN:E12345678");
        assert!(parse_document(None, "11010519491231002X", Some("CHN")).is_err());
        assert!(parse_document(Some("driving_licence"), "123", None).is_err());
    }
}
