//! `xcert demo`: fills the database with a ready exam (CONTRACT sections 2 and 3).
//!
//! Everything the demo needs is built into the binary: the WEB-FE junior bank version 2026.1
//! (`question-banks/web-fe-junior/2026.1`, all files, media included) and its blueprint (or,
//! with `--objective-only`, `crates/server/demo/blueprint-junior-objective.toml`), so the
//! command works from any directory. It goes through the same library functions as the HTTP
//! handlers (bank upload, sitting creation, registration, proctor draw), so the demo data
//! passes every check real data passes, and every step is in the audit log.
//!
//! What it creates: one evaluation organization with a certificate (WEB-FE, junior), the bank
//! version, an exam site (a vocational school) with rooms of 40 and a partner school whose
//! teachers are the external proctors, staff accounts for every staff role (admin, org, site,
//! proctor, grader) with generated passwords, teachers, and two sittings of the certificate:
//! the first open now with the demo candidates registered and proctors drawn (two per room,
//! one external, never a teacher of the room's class), the second four weeks later with
//! nobody registered yet.

use serde::{Deserialize, Serialize};

use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Role, hash_password};
use crate::error::AppError;
use crate::random;
use crate::storage::{Certificate, Organization, Site, StaffUser, StorageError};

/// The bank version the demo uploads: every file of `question-banks/web-fe-junior/2026.1`,
/// as (path inside the bank directory, bytes).
macro_rules! bank_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../question-banks/web-fe-junior/2026.1/", $path)) as &[u8])),*]
    };
}

const BANK_FILES: &[(&str, &[u8])] = bank_files!(
    "bank.toml",
    "items/a11y-basics.toml",
    "items/css-box-model.toml",
    "items/css-layout.toml",
    "items/css-responsive.toml",
    "items/css-selectors.toml",
    "items/html-document.toml",
    "items/html-forms.toml",
    "items/html-semantics.toml",
    "items/http-basics.toml",
    "items/js-async.toml",
    "items/js-dom.toml",
    "items/js-events.toml",
    "items/js-syntax.toml",
    "items/tooling-basics.toml",
    "items/web-storage-security.toml",
    "media/box-model.svg",
    "media/flex-axes.svg",
    "media/js-dom-tree.svg",
    "media/layout-mockup.svg",
    "media/semantic-page.svg",
);

const BLUEPRINT_FULL: &str =
    include_str!("../../../question-banks/web-fe-junior/blueprint-junior.toml");
const BLUEPRINT_OBJECTIVE: &str = include_str!("../demo/blueprint-junior-objective.toml");

/// Surnames and given names for the demo candidates (invented people).
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN_NAMES: [&str; 12] = [
    "子涵", "浩然", "欣怡", "宇轩", "梓萱", "俊杰", "雨桐", "博文", "诗琪", "嘉豪", "思远", "一诺",
];

/// What `xcert demo` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// How many candidates to register in the open sitting.
    pub candidates: usize,
    /// The exam duration in seconds (the blueprint's 90 minutes by default).
    pub duration_secs: i64,
    /// Papers from auto-gradable item types only.
    pub objective_only: bool,
}

/// The demo's credentials, printed by `xcert demo --json` (CONTRACT section 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoReport {
    /// The two sittings: open now, and a month later.
    pub sittings: Vec<DemoSitting>,
    /// The candidates registered in the open sitting.
    pub candidates: Vec<DemoCandidate>,
    /// One account per staff role.
    pub staff: Vec<DemoStaff>,
}

/// A demo sitting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoSitting {
    /// Sitting id.
    pub id: String,
    /// Certificate code.
    pub certificate: String,
    /// Certificate level.
    pub level: String,
    /// RFC 3339.
    pub opens_at: String,
    /// RFC 3339.
    pub closes_at: String,
}

/// A demo candidate's login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCandidate {
    /// Admission ticket.
    pub ticket: String,
    /// Mainland resident ID number (synthetic, with a valid check digit).
    pub id_number: String,
    /// Display name.
    pub name: String,
    /// The sitting registered for.
    pub sitting: String,
}

/// A demo staff login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoStaff {
    /// admin, org, site, proctor or grader.
    pub role: Role,
    /// Login name.
    pub username: String,
    /// Generated password.
    pub password: String,
}

/// Why the demo could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options make no sense (reported as invalid input, exit 1).
    #[error("{0}")]
    Options(String),
    /// The database already holds the demo.
    #[error(
        "this database already holds the demo (organization {0}); point XCERT_DATABASE_URL at a new database, or remove the SQLite file, and run `xcert demo` again"
    )]
    AlreadyInstalled(String),
    /// A step was refused or the database failed.
    #[error("{step}: {error}")]
    Step {
        /// What the demo was doing.
        step: &'static str,
        /// What went wrong.
        error: AppError,
    },
}

/// The most candidates one demo registers (the load simulator registers its own).
pub const MAX_DEMO_CANDIDATES: usize = 100_000;

const ORGANIZATION_CODE: &str = "DEMO-EVAL";
const SITE_CODE: &str = "DEMO-VOC-SCHOOL";
const PARTNER_SITE_CODE: &str = "DEMO-PARTNER-SCHOOL";
const CERTIFICATE_CODE: &str = "WEB-FE";
const LEVEL: &str = "junior";

fn step(step: &'static str) -> impl FnOnce(AppError) -> DemoError {
    move |error| DemoError::Step { step, error }
}

fn storage_step(step_name: &'static str) -> impl FnOnce(StorageError) -> DemoError {
    move |error| DemoError::Step {
        step: step_name,
        error: error.into(),
    }
}

/// A synthetic mainland resident ID number for candidate `index`: region 110105 (Beijing,
/// Chaoyang), born 2004-2006, a sequence from the index, and the ISO 7064 MOD 11-2 check
/// character, so it passes validation like a real one.
pub fn synthetic_resident_id(index: usize) -> String {
    let year = 2004 + (index % 3);
    let month = 1 + (index / 3) % 12;
    let day = 1 + (index / 36) % 28;
    let sequence = (index / 1008) % 1000;
    let first_17 = format!("110105{year:04}{month:02}{day:02}{sequence:03}");
    let mut digits = [0_u8; 17];
    for (digit, byte) in digits.iter_mut().zip(first_17.bytes()) {
        *digit = byte - b'0';
    }
    let check = crate::identity::resident_id_check_character(&digits);
    format!("{first_17}{check}")
}

fn candidate_name(index: usize) -> String {
    let surname = SURNAMES[index % SURNAMES.len()];
    let given = GIVEN_NAMES[(index / SURNAMES.len()) % GIVEN_NAMES.len()];
    if index < SURNAMES.len() * GIVEN_NAMES.len() {
        format!("{surname}{given}")
    } else {
        format!(
            "{surname}{given}{}",
            index / (SURNAMES.len() * GIVEN_NAMES.len()) + 1
        )
    }
}

/// A tar archive of the embedded bank directory, as an organization would upload it.
fn bank_archive() -> Result<Vec<u8>, DemoError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in BANK_FILES {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, path, *bytes)
            .map_err(|error| DemoError::Options(format!("packing the demo bank: {error}")))?;
    }
    builder
        .into_inner()
        .map_err(|error| DemoError::Options(format!("packing the demo bank: {error}")))
}

/// A staff account with a generated password, not stored yet, and its login.
async fn new_staff(
    username: &str,
    role: Role,
    organization_id: Option<&str>,
    site_id: Option<&str>,
) -> Result<(StaffUser, DemoStaff), DemoError> {
    let password = random::password(16);
    let user = StaffUser {
        id: random::hex_id(),
        username: username.to_owned(),
        password_hash: hash_password(password.clone())
            .await
            .map_err(step("hashing a demo password"))?,
        role,
        organization_id: organization_id.map(str::to_owned),
        site_id: site_id.map(str::to_owned),
        created_at: now_seconds(),
    };
    let login = DemoStaff {
        role,
        username: username.to_owned(),
        password,
    };
    Ok((user, login))
}

/// Creates a staff account with a generated password and returns its login.
async fn staff_account(
    state: &AppState,
    actor: &str,
    username: &str,
    role: Role,
    organization_id: Option<&str>,
    site_id: Option<&str>,
) -> Result<(StaffUser, DemoStaff), DemoError> {
    let (user, login) = new_staff(username, role, organization_id, site_id).await?;
    let audit = audit_entry(
        actor,
        "staff.create",
        &format!("staff:{}", user.id),
        &serde_json::json!({"username": user.username, "role": role, "demo": true}),
    );
    state
        .storage
        .create_staff(&user, &audit)
        .await
        .map_err(storage_step("creating a demo staff account"))?;
    Ok((user, login))
}

fn check_options(options: &DemoOptions) -> Result<(), DemoError> {
    if options.candidates > MAX_DEMO_CANDIDATES {
        return Err(DemoError::Options(format!(
            "--candidates {} is more than the demo registers ({MAX_DEMO_CANDIDATES} at most)",
            options.candidates
        )));
    }
    if !(60..=12 * 3600).contains(&options.duration_secs) {
        return Err(DemoError::Options(format!(
            "--duration-secs {} must be between 60 (one minute) and 43200 (twelve hours)",
            options.duration_secs
        )));
    }
    Ok(())
}

/// Installs the demo in `state`'s database and returns its credentials.
pub(crate) async fn install(
    state: &AppState,
    options: &DemoOptions,
) -> Result<DemoReport, DemoError> {
    check_options(options)?;
    let storage = &state.storage;
    if let Some(existing) = storage
        .organizations()
        .await
        .map_err(storage_step("reading organizations"))?
        .into_iter()
        .find(|organization| organization.code == ORGANIZATION_CODE)
    {
        return Err(DemoError::AlreadyInstalled(existing.code));
    }
    let now = now_seconds();
    let mut staff: Vec<DemoStaff> = Vec::new();
    // The admin: `admin` on an empty database, else a demo admin beside the existing one.
    let admin_name = if storage
        .staff_by_username(crate::app::FIRST_ADMIN_USERNAME)
        .await
        .map_err(storage_step("reading staff"))?
        .is_some()
    {
        "demo.admin"
    } else {
        crate::app::FIRST_ADMIN_USERNAME
    };
    let (admin, login) =
        staff_account(state, "system", admin_name, Role::Admin, None, None).await?;
    staff.push(login);
    let actor = admin.id.as_str();

    let organization = Organization {
        id: random::hex_id(),
        code: ORGANIZATION_CODE.to_owned(),
        name: "1+X 演示评价组织 (Demo Evaluation Organization)".to_owned(),
        created_at: now,
    };
    storage
        .create_organization(
            &organization,
            &audit_entry(
                actor,
                "organization.create",
                &format!("organization:{}", organization.id),
                &serde_json::json!({"code": organization.code, "demo": true}),
            ),
        )
        .await
        .map_err(storage_step("creating the demo organization"))?;
    let certificate = Certificate {
        id: random::hex_id(),
        organization_id: organization.id.clone(),
        code: CERTIFICATE_CODE.to_owned(),
        level: LEVEL.to_owned(),
        title: "Web 前端开发职业技能等级证书（初级）".to_owned(),
        credits: 4,
        retake_ban_percent: 10,
        retake_ban_years: 3,
        created_at: now,
    };
    storage
        .create_certificate(
            &certificate,
            &audit_entry(
                actor,
                "certificate.create",
                &format!("certificate:{}", certificate.id),
                &serde_json::json!({"code": certificate.code, "level": certificate.level, "demo": true}),
            ),
        )
        .await
        .map_err(storage_step("creating the demo certificate"))?;
    let site = Site {
        id: random::hex_id(),
        code: SITE_CODE.to_owned(),
        name: "演示职业技术学院 (Demo Vocational College)".to_owned(),
        created_at: now,
    };
    storage
        .create_site(
            &site,
            &audit_entry(
                actor,
                "site.create",
                &format!("site:{}", site.id),
                &serde_json::json!({"code": site.code, "demo": true}),
            ),
        )
        .await
        .map_err(storage_step("creating the demo exam site"))?;
    // A partner school whose teachers proctor the demo school's rooms (external proctors).
    let partner = Site {
        id: random::hex_id(),
        code: PARTNER_SITE_CODE.to_owned(),
        name: "演示第二职业学校 (Demo Partner School)".to_owned(),
        created_at: now,
    };
    storage
        .create_site(
            &partner,
            &audit_entry(
                actor,
                "site.create",
                &format!("site:{}", partner.id),
                &serde_json::json!({"code": partner.code, "demo": true}),
            ),
        )
        .await
        .map_err(storage_step("creating the demo partner school"))?;
    let (_, login) = staff_account(
        state,
        actor,
        "demo.org",
        Role::Org,
        Some(&organization.id),
        None,
    )
    .await?;
    staff.push(login);
    let (_, login) =
        staff_account(state, actor, "demo.site", Role::Site, None, Some(&site.id)).await?;
    staff.push(login);
    let (_, login) = staff_account(
        state,
        actor,
        "demo.grader",
        Role::Grader,
        Some(&organization.id),
        None,
    )
    .await?;
    staff.push(login);

    // The bank, uploaded as an organization would: a tar of the bank directory.
    let version = crate::banks::upload_bank(
        storage,
        actor,
        &organization.id,
        "application/x-tar",
        bank_archive()?,
    )
    .await
    .map_err(step("uploading the demo bank"))?;
    let bank = crate::banks::load_bank(state, &version.id)
        .await
        .map_err(step("reading the demo bank back"))?;
    let blueprint = if options.objective_only {
        BLUEPRINT_OBJECTIVE
    } else {
        BLUEPRINT_FULL
    };

    // The open sitting: started a minute ago, open for eight hours, and late entry allowed
    // until a full exam still fits, so the demo works for a whole working day.
    let opens_at = now - 60;
    let closes_at = opens_at + (8 * 3600).max(options.duration_secs + 3600);
    let open = crate::sittings::create_sitting(
        storage,
        actor,
        &organization.id,
        crate::sittings::NewSitting {
            certificate_id: certificate.id.clone(),
            bank_version_id: version.id.clone(),
            title: "Web 前端开发（初级）演示考试 Demo sitting (open now)".to_owned(),
            blueprint: blueprint.to_owned(),
            opens_at,
            closes_at,
            duration_secs: Some(options.duration_secs),
            late_entry_secs: Some(closes_at - opens_at - options.duration_secs),
            site_ids: vec![site.id.clone(), partner.id.clone()],
        },
        bank.clone(),
        now,
    )
    .await
    .map_err(step("creating the open demo sitting"))?;
    // The next sitting of the same certificate and level: four weeks later, nobody registered.
    let next_opens = opens_at + 28 * 24 * 3600;
    let next = crate::sittings::create_sitting(
        storage,
        actor,
        &organization.id,
        crate::sittings::NewSitting {
            certificate_id: certificate.id.clone(),
            bank_version_id: version.id.clone(),
            title: "Web 前端开发（初级）下一场 Demo sitting (in four weeks)".to_owned(),
            blueprint: blueprint.to_owned(),
            opens_at: next_opens,
            closes_at: next_opens + options.duration_secs + 3600,
            duration_secs: Some(options.duration_secs),
            late_entry_secs: None,
            site_ids: vec![site.id.clone()],
        },
        bank,
        now,
    )
    .await
    .map_err(step("creating the next demo sitting"))?;

    // Rooms of 40 seats, two classes per room, candidates seated in registration order.
    let rooms = options.candidates.div_ceil(ROOM_SEATS).max(1);
    let mut room_codes = Vec::with_capacity(rooms);
    for room in 0..rooms {
        let code = format!("A{:03}", 101 + room);
        crate::sittings::create_room(
            storage,
            actor,
            &open,
            &site.id,
            &code,
            ROOM_SEATS as i64,
            now,
        )
        .await
        .map_err(step("creating a demo room"))?;
        room_codes.push(code);
    }
    let mut candidates = Vec::with_capacity(options.candidates);
    for index in 0..options.candidates {
        let id_number = synthetic_resident_id(index);
        let name = candidate_name(index);
        let registered = crate::sittings::register(
            storage,
            actor,
            &open,
            &site.id,
            crate::sittings::NewRegistration {
                id_number: id_number.clone(),
                name: name.clone(),
                document_kind: None,
                country: None,
                class: Some(class_of(index)),
                room: Some(room_codes[index / ROOM_SEATS].clone()),
            },
            now,
        )
        .await
        .map_err(step("registering a demo candidate"))?;
        candidates.push(DemoCandidate {
            ticket: registered.registration.ticket,
            id_number,
            name,
            sitting: open.id.clone(),
        });
    }

    // Proctors: per room one teacher of the demo school (teaching other classes) and one of
    // the partner school; the demo school's class teacher of WEB-2024-1 is in the pool too and
    // is never drawn into a room holding her students. The partner's first teacher has the
    // proctor login.
    let qualified_until = crate::sittings::exam_date(now + 365 * 24 * 3600)
        .map_err(step("dating the proctor qualification"))?;
    let teacher = |name: String, classes: Vec<String>| crate::proctoring::TeacherDetails {
        name,
        classes,
        students: Vec::new(),
        qualified_until: qualified_until.clone(),
        max_rooms: None,
    };
    let class_teacher = teacher(
        "陈老师 (class teacher of WEB-2024-1)".to_owned(),
        vec![class_of(0)],
    )
    .check()
    .map_err(step("checking a demo teacher"))?;
    crate::proctoring::create_teacher(storage, actor, &site.id, "T-CLASS", class_teacher, None)
        .await
        .map_err(step("creating a demo teacher"))?;
    for room in 0..rooms {
        let home = teacher(
            format!("校内教师 {}", room + 1),
            vec![format!("WEB-2023-{}", room + 1)],
        )
        .check()
        .map_err(step("checking a demo teacher"))?;
        crate::proctoring::create_teacher(
            storage,
            actor,
            &site.id,
            &format!("T{:03}", room + 1),
            home,
            None,
        )
        .await
        .map_err(step("creating a demo teacher"))?;
        let login = if room == 0 {
            // Stored by create_teacher, in the teacher's transaction.
            let (user, login) =
                new_staff("demo.proctor", Role::Proctor, None, Some(&partner.id)).await?;
            staff.push(login);
            Some(user)
        } else {
            None
        };
        let external = teacher(
            format!("外校教师 {}", room + 1),
            vec![format!("NET-2024-{}", room + 1)],
        )
        .check()
        .map_err(step("checking a demo teacher"))?;
        crate::proctoring::create_teacher(
            storage,
            actor,
            &partner.id,
            &format!("P{:03}", room + 1),
            external,
            login,
        )
        .await
        .map_err(step("creating a demo teacher"))?;
    }
    if options.candidates > 0 {
        crate::proctoring::draw_proctors(
            storage,
            actor,
            crate::proctoring::Drawer::Admin,
            &open.id,
            crate::proctoring::DrawRequest {
                policy: xcert_proctor::Policy {
                    proctors_per_room: 2,
                    min_external: 1,
                    avoidance: xcert_proctor::Avoidance::Taught,
                },
                reason: None,
            },
        )
        .await
        .map_err(step("drawing the demo proctors"))?;
    }

    Ok(DemoReport {
        sittings: [&open, &next]
            .into_iter()
            .map(|sitting| DemoSitting {
                id: sitting.id.clone(),
                certificate: CERTIFICATE_CODE.to_owned(),
                level: LEVEL.to_owned(),
                opens_at: rfc3339(sitting.opens_at),
                closes_at: rfc3339(sitting.closes_at),
            })
            .collect(),
        candidates,
        staff,
    })
}

/// Seats per demo room.
const ROOM_SEATS: usize = 40;

/// The demo school's classes: two per room of 40.
fn class_of(index: usize) -> String {
    format!("WEB-2024-{}", index / (ROOM_SEATS / 2) + 1)
}

impl crate::app::Application {
    /// Fills this application's database with the demo exam (`xcert demo`) and returns its
    /// credentials.
    pub async fn install_demo(&self, options: &DemoOptions) -> Result<DemoReport, DemoError> {
        install(self.state(), options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_id_numbers_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for index in (0..MAX_DEMO_CANDIDATES).step_by(7) {
            let number = synthetic_resident_id(index);
            assert!(
                crate::identity::IdDocument::resident_id(&number).is_ok(),
                "{number}"
            );
            assert!(seen.insert(number));
        }
    }

    #[test]
    fn the_embedded_bank_is_every_file_of_the_sample_bank_and_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../question-banks/web-fe-junior/2026.1");
        let mut on_disk = Vec::new();
        for folder in ["", "items", "media"] {
            for entry in std::fs::read_dir(root.join(folder)).expect("the sample bank") {
                let entry = entry.expect("an entry");
                if entry.file_type().expect("a type").is_file() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    on_disk.push(if folder.is_empty() {
                        name
                    } else {
                        format!("{folder}/{name}")
                    });
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = BANK_FILES
            .iter()
            .map(|(path, _)| (*path).to_owned())
            .collect();
        embedded.sort();
        assert_eq!(
            embedded, on_disk,
            "BANK_FILES must list every file of the sample bank"
        );
        let archive = bank_archive().expect("tar");
        let source =
            crate::banks::source_from_upload("application/x-tar", &archive).expect("unpacks");
        let bank = xcert_bank::Bank::parse(&source).expect("the demo bank is valid");
        assert_eq!(bank.header().certificate(), CERTIFICATE_CODE);
    }
}
