//! The proctor draw of a sitting: the CONTRACT section 4 input built from the database rows,
//! solved by `xcert-proctor`, and recorded so that an auditor re-derives it offline.
//!
//! Design choices, and why:
//!
//! - **The input is built by a pure function** ([`build_input`]) from [`DrawFacts`], so the
//!   mapping from rows to the section 4 document is unit-tested without a database, and the
//!   solver sees exactly the document that is stored. One slot is the sitting's window, with
//!   times in China Standard Time (UTC+8) so a qualification is compared with the exam's
//!   Chinese calendar date. Rooms are named by their code (unique in a sitting), candidates by
//!   their registration id (never an ID number: the stored input is shown to auditors),
//!   proctors by `SITE/TEACHER` (teacher codes are unique per site only). Every list is in a
//!   fixed order, so the same rows always give the same bytes.
//! - **Who may be drawn is the solver's business.** Every teacher of every participating site
//!   is in the input; one who declared themselves unavailable has `"available": []`, one whose
//!   qualification has lapsed keeps their `qualified_until`, and the solver's own rules keep
//!   them out. The stored input therefore shows an auditor why someone was not drawn.
//! - **Students are matched by person.** A teacher lists the identity-document keys of the
//!   students they taught; those who are registered in the sitting become the registration ids
//!   in the proctor's `students`, the others are dropped (they cannot be in any room).
//! - **Unseated candidates refuse the draw** (409 `candidates_unseated`, with their count):
//!   a proctor assignment for rooms whose occupants are still unknown could break avoidance
//!   the moment they are seated. Site staff give every candidate a room first. Rooms without
//!   candidates need no proctor and are left out.
//! - **The seed is 53 random bits** from the operating system, so it is exact in every JSON
//!   reader and in a signed `BIGINT`. The input is stored as compact JSON with its SHA-256, and
//!   the outcome exactly as `xcert proctors assign --json` prints it (pretty, without the final
//!   newline), so the CLI reproduces it byte for byte.
//! - **An infeasible draw changes nothing**: 422 `proctor_draw_infeasible` with the solver's
//!   reasons, nothing stored and nothing audited; the caller fixes the pool or the policy and
//!   draws again.
//! - **A re-draw is an admin's, with a reason.** It supersedes the current draw, which stays
//!   in the history; storage refuses a draw that raced another one (409 `draw_conflict`).

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xcert_proctor::{
    Assignment, AssignmentInput, Candidate, Instance, Outcome, Policy, Proctor, ProctorError, Room,
    Slot,
};

use crate::app::{audit_entry, now_seconds};
use crate::auth::Role;
use crate::error::AppError;
use crate::identity::{IdDocument, IdError};
use crate::random;
use crate::storage::proctoring::{DrawFacts, ProctorDraw, Teacher};
use crate::storage::{StaffUser, Storage, StorageError};

/// The id of the one slot of a sitting in the section 4 input.
pub const SLOT_ID: &str = "sitting";

/// Who draws: the rules for a re-draw differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drawer {
    /// A platform administrator: may re-draw, with a reason.
    Admin,
    /// Staff of the organization owning the sitting: may make the first draw only.
    OrganizationStaff,
}

/// What a draw is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRequest {
    /// Proctors per room, how many external, which avoidance.
    pub policy: Policy,
    /// Why; required for a re-draw.
    pub reason: Option<String>,
}

/// The section 4 input of a sitting, with the way back from its ids to the database's.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltInput {
    /// The document the solver gets.
    pub input: AssignmentInput,
    /// Room code → room id.
    pub room_ids: HashMap<String, String>,
    /// Proctor id (`SITE/TEACHER`) → teacher id.
    pub teacher_ids: HashMap<String, String>,
}

/// Why a sitting's rows do not make a draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildRefusal {
    /// Registered candidates without a room.
    Unseated {
        /// How many.
        count: usize,
    },
    /// No room holds a candidate: there is nothing to staff.
    NoCandidates,
}

/// How a teacher is named in the input: `SITE/TEACHER`.
pub fn proctor_id(site_code: &str, teacher_code: &str) -> String {
    format!("{site_code}/{teacher_code}")
}

/// Unix seconds as RFC 3339 in China Standard Time, e.g. `2026-06-06T09:00:00+08:00`.
pub fn china_time(seconds: i64) -> String {
    let offset = jiff::tz::Offset::constant(8);
    match jiff::Timestamp::from_second(seconds) {
        Ok(time) => time
            .to_zoned(jiff::tz::TimeZone::fixed(offset))
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        Err(_) => seconds.to_string(),
    }
}

/// Builds the section 4 input of a sitting from its rows (see the module documentation for
/// every choice). Pure.
///
/// # Errors
/// [`BuildRefusal`] when candidates have no room, or no room holds a candidate.
pub fn build_input(facts: &DrawFacts, policy: &Policy) -> Result<BuiltInput, BuildRefusal> {
    let unseated = facts
        .registrations
        .iter()
        .filter(|registration| registration.room_id.is_none())
        .count();
    if unseated > 0 {
        return Err(BuildRefusal::Unseated { count: unseated });
    }
    let mut registrations: Vec<_> = facts.registrations.iter().collect();
    registrations.sort_by(|a, b| a.id.cmp(&b.id));
    let mut occupants: HashMap<&str, Vec<String>> = HashMap::new();
    for registration in &registrations {
        if let Some(room) = &registration.room_id {
            occupants
                .entry(room.as_str())
                .or_default()
                .push(registration.id.clone());
        }
    }
    let mut room_list: Vec<_> = facts.rooms.iter().collect();
    room_list.sort_by(|a, b| a.code.cmp(&b.code));
    let mut rooms = Vec::new();
    let mut room_ids = HashMap::new();
    for room in room_list {
        let Some(candidates) = occupants.remove(room.id.as_str()) else {
            continue;
        };
        room_ids.insert(room.code.clone(), room.id.clone());
        rooms.push(Room {
            id: room.code.clone(),
            slot: SLOT_ID.to_owned(),
            site: room.site_code.clone(),
            candidates,
        });
    }
    if rooms.is_empty() {
        return Err(BuildRefusal::NoCandidates);
    }
    let candidates = registrations
        .iter()
        .map(|registration| Candidate {
            id: registration.id.clone(),
            school: registration.site_code.clone(),
            class: registration.class_code.clone(),
        })
        .collect();
    let registration_of_person: HashMap<&str, &str> = registrations
        .iter()
        .map(|registration| (registration.person_key.as_str(), registration.id.as_str()))
        .collect();

    let mut teachers: Vec<_> = facts.teachers.iter().collect();
    teachers.sort_by(|a, b| {
        (a.site_code.as_str(), a.teacher.code.as_str())
            .cmp(&(b.site_code.as_str(), b.teacher.code.as_str()))
    });
    let mut proctors = Vec::with_capacity(teachers.len());
    let mut teacher_ids = HashMap::new();
    for entry in teachers {
        let teacher = &entry.teacher;
        let id = proctor_id(&entry.site_code, &teacher.code);
        teacher_ids.insert(id.clone(), teacher.id.clone());
        let classes: BTreeSet<String> = teacher.classes.iter().cloned().collect();
        let students: BTreeSet<String> = teacher
            .students
            .iter()
            .filter_map(|key| registration_of_person.get(key.as_str()))
            .map(|&registration| registration.to_owned())
            .collect();
        proctors.push(Proctor {
            id,
            school: entry.site_code.clone(),
            classes: classes.into_iter().collect(),
            students: students.into_iter().collect(),
            available: match entry.available {
                Some(false) => Some(Vec::new()),
                Some(true) | None => None,
            },
            qualified_until: Some(teacher.qualified_until.clone()),
            max_rooms: teacher.max_rooms,
        });
    }
    let input = AssignmentInput {
        policy: policy.clone(),
        slots: vec![Slot {
            id: SLOT_ID.to_owned(),
            start: china_time(facts.sitting.opens_at),
            end: china_time(facts.sitting.closes_at),
        }],
        rooms,
        candidates,
        proctors,
    };
    Ok(BuiltInput {
        input,
        room_ids,
        teacher_ids,
    })
}

/// The canonical text of an input (compact JSON, fields in declaration order) and its hex
/// SHA-256: what is stored, served to auditors and hashed.
pub fn canonical_input(input: &AssignmentInput) -> Result<(String, String), AppError> {
    let text = serde_json::to_string(input)
        .map_err(|error| AppError::Internal(format!("serializing a proctor input: {error}")))?;
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    Ok((text, hash))
}

/// The outcome as `xcert proctors assign --json` prints it, without the final newline.
pub fn outcome_text(outcome: &Outcome) -> Result<String, AppError> {
    serde_json::to_string_pretty(outcome)
        .map_err(|error| AppError::Internal(format!("serializing a proctor outcome: {error}")))
}

/// A fresh draw seed: 53 bits from the operating system's CSPRNG.
fn fresh_seed() -> u64 {
    u64::from_le_bytes(random::bytes::<8>()) >> 11
}

/// At most this many classes and students per teacher: a teacher's real load is far below.
const MAX_CLASSES: usize = 200;
const MAX_STUDENTS: usize = 5000;

/// A teacher's details as an exam site declares them: what `POST /sites/{id}/teachers` sets
/// besides the code and login, and what `PUT /sites/{id}/teachers/{teacher}` replaces.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherDetails {
    /// Display name.
    pub name: String,
    /// Class codes the teacher teaches.
    #[serde(default)]
    pub classes: Vec<String>,
    /// The students the teacher taught: mainland resident ID numbers as written, or
    /// `kind:number` keys (`resident_id:…`, `passport:COUNTRY:NUMBER`, `hk_macau_permit:…`,
    /// `taiwan_permit:…`).
    #[serde(default)]
    pub students: Vec<String>,
    /// Last day the proctor qualification is valid, `YYYY-MM-DD`.
    pub qualified_until: String,
    /// At most this many rooms per draw (1 to 100); `None` is unlimited.
    #[serde(default)]
    pub max_rooms: Option<i64>,
}

/// Teacher details that passed [`TeacherDetails::check`]: name trimmed, classes trimmed,
/// deduplicated and sorted, students as sorted identity-document keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedTeacher {
    name: String,
    classes: Vec<String>,
    students: Vec<String>,
    qualified_until: String,
    max_rooms: Option<i64>,
}

/// Reads one student's identity document: a mainland resident ID number as it is written, or
/// a key as the API returns it, so a listed teacher can be sent back unchanged.
fn parse_student(text: &str) -> Result<IdDocument, IdError> {
    let text = text.trim();
    let Some((kind, rest)) = text.split_once(':') else {
        return IdDocument::resident_id(text);
    };
    match kind {
        "resident_id" => IdDocument::resident_id(rest),
        "hk_macau_permit" => IdDocument::hong_kong_macau_permit(rest),
        "taiwan_permit" => IdDocument::taiwan_permit(rest),
        "passport" => match rest.split_once(':') {
            Some((country, number)) => IdDocument::passport(country, number),
            None => Err(IdError::Shape {
                kind: "passport",
                message: "write it as `passport:COUNTRY:NUMBER`, e.g. `passport:CHN:E12345678`"
                    .to_owned(),
            }),
        },
        _ => Err(IdError::Shape {
            kind: "identity document",
            message: format!(
                "unknown kind `{kind}`; use a resident ID number, or `resident_id:`, `passport:COUNTRY:`, `hk_macau_permit:` or `taiwan_permit:` before the number"
            ),
        }),
    }
}

impl TeacherDetails {
    /// Validates and normalizes the details.
    ///
    /// # Errors
    /// 422 `invalid_field` naming the field (and the list index) and what to fix.
    pub fn check(self) -> Result<CheckedTeacher, AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::Invalid(
                "name must be 1 to 200 characters".to_owned(),
            ));
        }
        if self.classes.len() > MAX_CLASSES {
            return Err(AppError::Invalid(format!(
                "classes lists {} classes; at most {MAX_CLASSES}",
                self.classes.len()
            )));
        }
        let mut classes = BTreeSet::new();
        for (index, class) in self.classes.iter().enumerate() {
            let class = class.trim();
            if class.is_empty() || class.chars().count() > 64 {
                return Err(AppError::Invalid(format!(
                    "classes[{index}] must be a class code of 1 to 64 characters"
                )));
            }
            classes.insert(class.to_owned());
        }
        if self.students.len() > MAX_STUDENTS {
            return Err(AppError::Invalid(format!(
                "students lists {} people; at most {MAX_STUDENTS}",
                self.students.len()
            )));
        }
        let mut students = BTreeSet::new();
        for (index, student) in self.students.iter().enumerate() {
            let document = parse_student(student).map_err(|error| {
                AppError::Invalid(format!("students[{index}] `{student}`: {error}"))
            })?;
            students.insert(document.key());
        }
        xcert_proctor::input::parse_date(&self.qualified_until)
            .map_err(|message| AppError::Invalid(format!("qualified_until: {message}")))?;
        if let Some(max_rooms) = self.max_rooms.filter(|n| !(1..=100).contains(n)) {
            return Err(AppError::Invalid(format!(
                "max_rooms must be between 1 and 100 (leave it out for no limit), not {max_rooms}"
            )));
        }
        Ok(CheckedTeacher {
            name: name.to_owned(),
            classes: classes.into_iter().collect(),
            students: students.into_iter().collect(),
            qualified_until: self.qualified_until,
            max_rooms: self.max_rooms,
        })
    }
}

/// A teacher code: 1 to 32 characters of `A-Z`, `0-9` and `-` (so `SITE/TEACHER` is
/// unambiguous in a draw).
///
/// # Errors
/// 422 `invalid_field` saying what the code must look like.
pub fn check_teacher_code(code: &str) -> Result<(), AppError> {
    let shape_ok = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'-');
    if shape_ok {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "code `{code}` must be 1 to 32 characters of A-Z, 0-9 and -"
        )))
    }
}

/// Adds a teacher to a site's pool, with their `proctor` login when `login` is given (the
/// caller validated and hashed it; its role must be proctor, scoped to the site), in one
/// transaction audited as `teacher.create` (and `staff.create`, without the password).
///
/// # Errors
/// 422 for a bad code or a login that is not a proctor of this site; 409 `conflict` when the
/// code is taken at the site or the username is taken; 404 when the site does not exist.
pub async fn create_teacher(
    storage: &Storage,
    actor: &str,
    site_id: &str,
    code: &str,
    details: CheckedTeacher,
    login: Option<StaffUser>,
) -> Result<Teacher, AppError> {
    check_teacher_code(code)?;
    let foreign_login = login
        .as_ref()
        .is_some_and(|user| user.role != Role::Proctor || user.site_id.as_deref() != Some(site_id));
    if foreign_login {
        return Err(AppError::Invalid(
            "a teacher's login must be a proctor account of the teacher's site".to_owned(),
        ));
    }
    let now = now_seconds();
    let teacher = Teacher {
        id: random::hex_id(),
        site_id: site_id.to_owned(),
        code: code.to_owned(),
        name: details.name.clone(),
        classes: details.classes.clone(),
        students: details.students.clone(),
        qualified_until: details.qualified_until.clone(),
        max_rooms: details.max_rooms,
        staff_user_id: login.as_ref().map(|user| user.id.clone()),
        created_at: now,
        updated_at: now,
    };
    let staff_audit = login.as_ref().map(|user| {
        audit_entry(
            actor,
            "staff.create",
            &format!("staff:{}", user.id),
            &serde_json::json!({"username": user.username, "role": user.role,
                                "organization": null, "site": user.site_id}),
        )
    });
    let audit = audit_entry(
        actor,
        "teacher.create",
        &format!("teacher:{}", teacher.id),
        &serde_json::json!({"site": site_id, "code": code, "details": details,
                            "login": login.as_ref().map(|user| &user.username)}),
    );
    storage
        .create_teacher(&teacher, login.as_ref().zip(staff_audit.as_ref()), &audit)
        .await?;
    Ok(teacher)
}

/// Replaces a teacher's details, audited as `teacher.update`.
///
/// # Errors
/// 404 when the teacher is not one of that site's.
pub async fn update_teacher(
    storage: &Storage,
    actor: &str,
    site_id: &str,
    teacher_id: &str,
    details: CheckedTeacher,
) -> Result<Teacher, AppError> {
    let mut teacher = storage
        .teacher(teacher_id)
        .await?
        .filter(|teacher| teacher.site_id == site_id)
        .ok_or(AppError::NotFound("teacher"))?;
    teacher.name.clone_from(&details.name);
    teacher.classes.clone_from(&details.classes);
    teacher.students.clone_from(&details.students);
    teacher.qualified_until.clone_from(&details.qualified_until);
    teacher.max_rooms = details.max_rooms;
    teacher.updated_at = now_seconds();
    let audit = audit_entry(
        actor,
        "teacher.update",
        &format!("teacher:{}", teacher.id),
        &details,
    );
    if !storage.update_teacher(&teacher, &audit).await? {
        return Err(AppError::NotFound("teacher"));
    }
    Ok(teacher)
}

/// A recorded draw and its assignment.
#[derive(Debug, Clone)]
pub struct DrawResult {
    /// The stored draw.
    pub draw: ProctorDraw,
    /// The solver's assignment (section 4 ids: room codes, `SITE/TEACHER`).
    pub assignment: Assignment,
}

#[derive(Serialize)]
struct AuditedDraw<'a> {
    sitting: &'a str,
    seed: u64,
    input_sha256: &'a str,
    policy: &'a Policy,
    reason: Option<&'a str>,
    supersedes: Option<&'a str>,
}

/// Draws the proctors of a sitting and records the draw (the handler and `xcert demo` both
/// call this). The caller has checked that `actor` may draw for this sitting at all; the
/// re-draw rule is applied here.
///
/// # Errors
/// 404 for no such sitting; 409 `already_drawn` for organization staff when a draw exists;
/// 422 `reason_required` for an admin re-draw without a reason; 409 `candidates_unseated`,
/// 409 `nothing_to_draw`; 422 `invalid_field` for a policy the solver refuses; 422
/// `proctor_draw_infeasible` with `reasons`; 409 `draw_conflict` when another draw was
/// recorded meanwhile.
pub async fn draw_proctors(
    storage: &Storage,
    actor: &str,
    drawer: Drawer,
    sitting_id: &str,
    request: DrawRequest,
) -> Result<DrawResult, AppError> {
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(str::to_owned);
    if reason
        .as_ref()
        .is_some_and(|reason| reason.chars().count() > 1000)
    {
        return Err(AppError::Invalid(
            "reason must be at most 1000 characters".to_owned(),
        ));
    }
    let facts = storage
        .draw_facts(sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let current = storage.current_proctor_draw(sitting_id).await?;
    if let Some(current) = &current {
        match (drawer, &reason) {
            (Drawer::OrganizationStaff, _) => {
                return Err(AppError::refused(
                    StatusCode::CONFLICT,
                    "already_drawn",
                    format!(
                        "this sitting's proctors were drawn already (draw {}); only an admin may re-draw, and must give a reason",
                        current.id
                    ),
                )
                .with_detail("draw", current.id.clone()));
            }
            (Drawer::Admin, None) => {
                return Err(AppError::refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "reason_required",
                    format!(
                        "this sitting has a proctor draw already (draw {}); a re-draw needs a non-empty `reason`, which is recorded",
                        current.id
                    ),
                ));
            }
            (Drawer::Admin, Some(_)) => {}
        }
    }
    let built = build_input(&facts, &request.policy).map_err(|refusal| match refusal {
        BuildRefusal::Unseated { count } => AppError::refused(
            StatusCode::CONFLICT,
            "candidates_unseated",
            format!(
                "{count} registered candidate(s) of this sitting have no room; site staff give each a room (`room` at registration) before the proctors are drawn"
            ),
        )
        .with_detail("unseated", count),
        BuildRefusal::NoCandidates => AppError::refused(
            StatusCode::CONFLICT,
            "nothing_to_draw",
            "no room of this sitting holds a candidate yet; add rooms and register candidates into them first",
        ),
    })?;
    let (input_text, input_sha256) = canonical_input(&built.input)?;
    let instance = Instance::new(built.input).map_err(|error| match error {
        ProctorError::Invalid(problems) => AppError::Invalid(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => AppError::Internal(format!("a built proctor input: {other}")),
    })?;
    let seed = fresh_seed();
    let outcome = tokio::task::spawn_blocking(move || xcert_proctor::assign(&instance, seed))
        .await
        .map_err(|error| AppError::Internal(format!("proctor draw task: {error}")))?;
    let assignment = match outcome {
        Outcome::Assigned(assignment) => assignment,
        Outcome::Infeasible(infeasible) => {
            let first = infeasible
                .reasons
                .first()
                .map(|reason| reason.message.clone())
                .unwrap_or_default();
            let reasons = serde_json::to_value(&infeasible.reasons).map_err(|error| {
                AppError::Internal(format!("serializing infeasibility reasons: {error}"))
            })?;
            return Err(AppError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "proctor_draw_infeasible",
                format!(
                    "no assignment keeps every rule, so nothing was drawn: {first}. Add teachers, declare more of them available, or relax the policy, then draw again"
                ),
            )
            .with_detail("reasons", reasons));
        }
    };
    let mut pairs = Vec::new();
    for room in &assignment.assignments {
        let room_id = built.room_ids.get(&room.room).ok_or_else(|| {
            AppError::Internal(format!("the solver named an unknown room {}", room.room))
        })?;
        for proctor in &room.proctors {
            let teacher_id = built.teacher_ids.get(proctor).ok_or_else(|| {
                AppError::Internal(format!("the solver named an unknown proctor {proctor}"))
            })?;
            pairs.push((room_id.clone(), teacher_id.clone()));
        }
    }
    let mut draw = ProctorDraw {
        id: random::hex_id(),
        sitting_id: sitting_id.to_owned(),
        number: 0,
        seed: i64::try_from(seed)
            .map_err(|_| AppError::Internal("a 53-bit seed fits in i64".to_owned()))?,
        input_sha256,
        input: input_text,
        outcome: outcome_text(&Outcome::Assigned(assignment.clone()))?,
        drawn_by: actor.to_owned(),
        drawn_at: now_seconds(),
        reason,
        superseded_at: None,
        superseded_by: None,
    };
    let audit = audit_entry(
        actor,
        "proctor_draw.create",
        &format!("proctor_draw:{}", draw.id),
        &AuditedDraw {
            sitting: sitting_id,
            seed,
            input_sha256: &draw.input_sha256,
            policy: &request.policy,
            reason: draw.reason.as_deref(),
            supersedes: current.as_ref().map(|current| current.id.as_str()),
        },
    );
    let replaces = current.as_ref().map(|current| current.id.as_str());
    match storage
        .record_proctor_draw(&draw, &pairs, replaces, &audit)
        .await
    {
        Ok(number) => {
            draw.number = number;
            Ok(DrawResult { draw, assignment })
        }
        Err(StorageError::Duplicate(_)) => Err(AppError::refused(
            StatusCode::CONFLICT,
            "draw_conflict",
            "another proctor draw of this sitting was recorded at the same moment; read the current draw, and re-draw (admin, with a reason) only if needed",
        )),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use xcert_proctor::Avoidance;

    use super::*;
    use crate::storage::proctoring::{
        DrawRegistration, DrawRoom, DrawSitting, DrawTeacher, Teacher,
    };

    fn teacher(site: &str, code: &str, students: &[&str], classes: &[&str]) -> DrawTeacher {
        DrawTeacher {
            teacher: Teacher {
                id: format!("t-{site}-{code}"),
                site_id: format!("site-{site}"),
                code: code.to_owned(),
                name: code.to_owned(),
                classes: classes.iter().map(|c| (*c).to_owned()).collect(),
                students: students.iter().map(|s| (*s).to_owned()).collect(),
                qualified_until: "2027-01-31".to_owned(),
                max_rooms: None,
                staff_user_id: None,
                created_at: 0,
                updated_at: 0,
            },
            site_code: site.to_owned(),
            available: None,
        }
    }

    fn registration(id: &str, site: &str, room: Option<&str>, person: &str) -> DrawRegistration {
        DrawRegistration {
            id: id.to_owned(),
            site_code: site.to_owned(),
            class_code: Some(format!("{site}-CS-1")),
            room_id: room.map(str::to_owned),
            person_key: person.to_owned(),
        }
    }

    fn facts() -> DrawFacts {
        DrawFacts {
            sitting: DrawSitting {
                id: "s1".to_owned(),
                organization_id: "o1".to_owned(),
                title: "WEB-FE".to_owned(),
                // 2026-06-06T01:00:00Z = 09:00 in Beijing.
                opens_at: 1_780_707_600,
                closes_at: 1_780_714_800,
            },
            rooms: vec![
                DrawRoom {
                    id: "room-b".to_owned(),
                    code: "B".to_owned(),
                    site_code: "SCH2".to_owned(),
                },
                DrawRoom {
                    id: "room-a".to_owned(),
                    code: "A".to_owned(),
                    site_code: "SCH1".to_owned(),
                },
                DrawRoom {
                    id: "room-empty".to_owned(),
                    code: "C".to_owned(),
                    site_code: "SCH1".to_owned(),
                },
            ],
            registrations: vec![
                registration("r2", "SCH2", Some("room-b"), "resident_id:2"),
                registration("r1", "SCH1", Some("room-a"), "resident_id:1"),
            ],
            teachers: vec![
                teacher("SCH2", "T1", &["resident_id:1", "resident_id:9"], &[]),
                teacher("SCH1", "T1", &[], &["SCH1-CS-1", "SCH1-CS-0"]),
            ],
        }
    }

    fn policy() -> Policy {
        Policy {
            proctors_per_room: 1,
            min_external: 0,
            avoidance: Avoidance::Taught,
        }
    }

    #[test]
    fn rooms_candidates_and_proctors_come_out_in_a_fixed_order_with_section_4_ids() {
        let built = build_input(&facts(), &policy()).expect("buildable");
        let input = &built.input;
        assert_eq!(
            input
                .rooms
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["A", "B"],
            "rooms by code, the empty room left out"
        );
        assert_eq!(input.rooms[0].site, "SCH1");
        assert_eq!(input.rooms[0].candidates, ["r1"]);
        assert_eq!(
            input
                .candidates
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["r1", "r2"]
        );
        assert_eq!(input.candidates[1].school, "SCH2");
        assert_eq!(input.candidates[1].class.as_deref(), Some("SCH2-CS-1"));
        assert_eq!(
            input
                .proctors
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["SCH1/T1", "SCH2/T1"],
            "teacher codes are qualified by their site"
        );
        assert_eq!(input.proctors[0].classes, ["SCH1-CS-0", "SCH1-CS-1"]);
        assert_eq!(built.room_ids["A"], "room-a");
        assert_eq!(built.teacher_ids["SCH2/T1"], "t-SCH2-T1");
    }

    #[test]
    fn students_become_registration_ids_and_students_not_sitting_are_dropped() {
        let built = build_input(&facts(), &policy()).expect("buildable");
        let sch2 = &built.input.proctors[1];
        assert_eq!(sch2.students, ["r1"]);
        assert_eq!(built.input.proctors[0].students, Vec::<String>::new());
    }

    #[test]
    fn the_slot_is_the_sitting_window_in_china_standard_time() {
        let built = build_input(&facts(), &policy()).expect("buildable");
        let slot = &built.input.slots[0];
        assert_eq!(slot.id, SLOT_ID);
        assert_eq!(slot.start, "2026-06-06T09:00:00+08:00");
        assert_eq!(slot.end, "2026-06-06T11:00:00+08:00");
    }

    #[test]
    fn an_unavailable_teacher_is_listed_with_no_slot_and_others_with_every_slot() {
        let mut facts = facts();
        facts.teachers[0].available = Some(false);
        facts.teachers[1].available = Some(true);
        let built = build_input(&facts, &policy()).expect("buildable");
        let sch2 = built
            .input
            .proctors
            .iter()
            .find(|p| p.id == "SCH2/T1")
            .expect("listed");
        assert_eq!(sch2.available, Some(Vec::new()));
        assert_eq!(built.input.proctors[0].available, None);
    }

    #[test]
    fn a_candidate_without_a_room_refuses_the_draw_with_the_count() {
        let mut facts = facts();
        facts
            .registrations
            .push(registration("r3", "SCH1", None, "x"));
        facts
            .registrations
            .push(registration("r4", "SCH1", None, "y"));
        assert_eq!(
            build_input(&facts, &policy()),
            Err(BuildRefusal::Unseated { count: 2 })
        );
    }

    #[test]
    fn a_sitting_without_candidates_has_nothing_to_draw() {
        let mut facts = facts();
        facts.registrations.clear();
        assert_eq!(
            build_input(&facts, &policy()),
            Err(BuildRefusal::NoCandidates)
        );
    }

    #[test]
    fn the_same_rows_in_another_order_give_the_same_bytes_and_a_valid_instance() {
        let built = build_input(&facts(), &policy()).expect("buildable");
        let mut shuffled = facts();
        shuffled.rooms.reverse();
        shuffled.registrations.reverse();
        shuffled.teachers.reverse();
        let again = build_input(&shuffled, &policy()).expect("buildable");
        let (text, hash) = canonical_input(&built.input).expect("serializes");
        assert_eq!(
            canonical_input(&again.input).expect("serializes"),
            (text.clone(), hash)
        );
        let parsed = AssignmentInput::from_json(&text).expect("parses back");
        assert_eq!(parsed, built.input);
        assert!(Instance::new(parsed).is_ok());
    }

    #[test]
    fn a_room_whose_candidate_every_teacher_taught_cannot_be_staffed() {
        // SCH1/T1 teaches r1's class and SCH2/T1 taught r1 in person: room A has no proctor.
        let built = build_input(&facts(), &policy()).expect("buildable");
        let instance = Instance::new(built.input).expect("valid");
        let Outcome::Infeasible(infeasible) = xcert_proctor::assign(&instance, 7) else {
            panic!("room A cannot be staffed");
        };
        assert_eq!(infeasible.reasons[0].rooms, ["A"]);
        assert_eq!(infeasible.reasons[0].cause, "avoidance");
    }

    #[test]
    fn avoidance_holds_in_the_solved_draw_of_a_built_input() {
        let mut facts = facts();
        facts.teachers.push(teacher("SCH3", "T9", &[], &[]));
        let built = build_input(&facts, &policy()).expect("buildable");
        let instance = Instance::new(built.input.clone()).expect("valid");
        let outcome = xcert_proctor::assign(&instance, 7);
        assert!(xcert_proctor::verify(&built.input, &outcome).is_empty());
        let Outcome::Assigned(assignment) = &outcome else {
            panic!("feasible: {outcome:?}");
        };
        assert_eq!(assignment.assignments[0].room, "A");
        assert_eq!(assignment.assignments[0].proctors, ["SCH3/T9"]);
    }

    fn details(students: &[&str]) -> TeacherDetails {
        TeacherDetails {
            name: " Li Lei ".to_owned(),
            classes: vec![" CS-2 ".to_owned(), "CS-1".to_owned(), "CS-2".to_owned()],
            students: students.iter().map(|s| (*s).to_owned()).collect(),
            qualified_until: "2027-01-31".to_owned(),
            max_rooms: None,
        }
    }

    #[test]
    fn teacher_details_are_trimmed_deduplicated_and_students_become_document_keys() {
        let checked = details(&[
            "110105 19491231 002x",
            "resident_id:11010519491231002X",
            "passport:chn:e12345678",
            "hk_macau_permit:H12345678",
        ])
        .check()
        .expect("valid");
        assert_eq!(checked.name, "Li Lei");
        assert_eq!(checked.classes, ["CS-1", "CS-2"]);
        assert_eq!(
            checked.students,
            [
                "hk_macau_permit:H12345678",
                "passport:CHN:E12345678",
                "resident_id:11010519491231002X"
            ]
        );
    }

    #[test]
    fn a_listed_teacher_sent_back_unchanged_checks_to_the_same_details() {
        let once = details(&["11010519491231002X", "passport:CHN:E12345678"])
            .check()
            .expect("valid");
        let again = TeacherDetails {
            name: once.name.clone(),
            classes: once.classes.clone(),
            students: once.students.clone(),
            qualified_until: once.qualified_until.clone(),
            max_rooms: once.max_rooms,
        }
        .check()
        .expect("valid");
        assert_eq!(once, again);
    }

    #[test]
    fn a_bad_student_names_its_index_and_the_problem() {
        for (student, says) in [
            ("11010519491231002Y", "students[1]"),
            ("passport:E12345678", "passport:COUNTRY:NUMBER"),
            ("card:123", "unknown kind `card`"),
        ] {
            let error = details(&["11010519491231002X", student])
                .check()
                .expect_err("refused");
            assert!(error.to_string().contains(says), "{student}: {error}");
        }
    }

    #[test]
    fn teacher_codes_are_upper_case_letters_digits_and_dashes() {
        assert!(check_teacher_code("T-07").is_ok());
        for bad in ["", "t-07", "T/07", "T 07", &"T".repeat(33)] {
            assert!(check_teacher_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn china_time_is_plus_eight_hours() {
        assert_eq!(china_time(0), "1970-01-01T08:00:00+08:00");
    }

    #[test]
    fn a_fresh_seed_has_at_most_53_bits() {
        for _ in 0..100 {
            assert!(fresh_seed() < 1 << 53);
        }
    }
}
