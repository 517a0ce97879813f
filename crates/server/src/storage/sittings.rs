//! Storage of sittings, the exam sites and rooms taking part, people, registrations,
//! candidate sessions and retake bans (tables of migration `20261122000003_sittings`).
//!
//! Registration is the one multi-step write here, and it runs in one transaction: the person
//! is found or created by their normalized identity document, the retake ban and the
//! duplicate are checked, the room's capacity is counted under a lock, and only then are the
//! registration and its audit entry written. A refusal rolls everything back, including a
//! person row created on the way, so nothing is half-written.
//!
//! Concurrency: the transaction's first statement is a write (the person upsert), so on
//! SQLite it takes the database's write lock before reading anything and concurrent
//! registrations queue on the busy timeout instead of failing. On PostgreSQL a registration
//! into a room first touches the room's row (`UPDATE rooms SET capacity = capacity`), which
//! locks it, so two desks filling the last seat are serialized and the second sees it full.

use std::fmt;

use super::{AuditEntry, Storage, StorageError, classify};

/// One scheduled administration of a certificate exam.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sitting {
    /// Random id.
    pub id: String,
    /// The owning evaluation organization.
    pub organization_id: String,
    /// The certificate examined.
    pub certificate_id: String,
    /// The certificate's code (read from the certificate; ignored on insert).
    pub certificate_code: String,
    /// The certificate's level (read from the certificate; ignored on insert).
    pub level: String,
    /// The pinned bank version.
    pub bank_version_id: String,
    /// Display title.
    pub title: String,
    /// The blueprint as sent (TOML text).
    pub blueprint: String,
    /// SHA-256 of the blueprint's canonical form.
    pub blueprint_hash: String,
    /// HMAC key of the per-candidate paper seeds (64 hex digits). Never sent to anyone.
    pub secret: String,
    /// Unix seconds: candidates may start from here.
    pub opens_at: i64,
    /// Unix seconds: every attempt ends by here.
    pub closes_at: i64,
    /// Unix seconds: no attempt starts after this (late-entry cutoff).
    pub late_entry_until: i64,
    /// Working time of one attempt.
    pub duration_secs: i64,
    /// `YYYY-MM-DD`, the China Standard Time date of `opens_at`.
    pub exam_date: String,
    /// Unix seconds when results were published.
    pub published_at: Option<i64>,
    /// The staff user who created it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for Sitting {
    /// Everything but the secret, so a logged sitting cannot leak the paper seeds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sitting")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("certificate_id", &self.certificate_id)
            .field("certificate_code", &self.certificate_code)
            .field("level", &self.level)
            .field("bank_version_id", &self.bank_version_id)
            .field("title", &self.title)
            .field("blueprint_hash", &self.blueprint_hash)
            .field("opens_at", &self.opens_at)
            .field("closes_at", &self.closes_at)
            .field("late_entry_until", &self.late_entry_until)
            .field("duration_secs", &self.duration_secs)
            .field("exam_date", &self.exam_date)
            .field("published_at", &self.published_at)
            .finish_non_exhaustive()
    }
}

/// A room of one exam site in one sitting.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Room {
    /// Random id.
    pub id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The exam site the room belongs to.
    pub site_id: String,
    /// Room code, unique within the sitting, e.g. `A-101`.
    pub code: String,
    /// Seats.
    pub capacity: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A person who sits exams, keyed by a normalized identity document.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Person {
    /// Random id.
    pub id: String,
    /// `resident_id`, `passport`, `hk_macau_permit` or `taiwan_permit`.
    pub document_kind: String,
    /// The normalized number; for a passport `COUNTRY:NUMBER`.
    pub document_number: String,
    /// Name as first registered.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// One person registered for one sitting at one exam site.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Registration {
    /// Random id.
    pub id: String,
    /// The sitting.
    pub sitting_id: String,
    /// The person (on insert, replaced by the person found or created).
    pub person_id: String,
    /// The exam site that registered them.
    pub site_id: String,
    /// Admission ticket: unguessable, unique.
    pub ticket: String,
    /// The candidate's class at their school, for proctor avoidance.
    pub class_code: Option<String>,
    /// The room, when assigned.
    pub room_id: Option<String>,
    /// Extra working time granted (accommodations).
    pub extra_time_secs: i64,
    /// The staff user who registered them.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// What [`Storage::register`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// Stored: the registration with its person (found or created).
    Registered {
        /// The stored registration.
        registration: Box<Registration>,
        /// The person, as stored.
        person: Box<Person>,
    },
    /// The person holds an unlifted ban for this certificate and level past the exam date.
    Banned {
        /// The ban's end, `YYYY-MM-DD`.
        until: String,
    },
    /// The person is registered for this sitting already.
    AlreadyRegistered,
    /// The room has no seat left.
    RoomFull {
        /// Its capacity.
        capacity: i64,
    },
}

/// A registration as the registering desk lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationListing {
    /// The registration.
    pub registration: Registration,
    /// The person's name.
    pub name: String,
    /// The person's document kind.
    pub document_kind: String,
    /// The person's normalized document number (mask it before showing it).
    pub document_number: String,
    /// The room's code, when assigned.
    pub room_code: Option<String>,
}

/// A candidate login session; a candidate token is valid only while its session is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateSession {
    /// The token's `jti`.
    pub id: String,
    /// The registration that logged in.
    pub registration_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What a candidate login needs to know about the holder of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketHolder {
    /// The registration.
    pub registration_id: String,
    /// Its sitting.
    pub sitting_id: String,
    /// The person.
    pub person_id: String,
    /// The person's document kind.
    pub document_kind: String,
    /// The person's normalized document number.
    pub document_number: String,
    /// The sitting's opening time, Unix seconds.
    pub opens_at: i64,
    /// The sitting's closing time, Unix seconds.
    pub closes_at: i64,
    /// The sitting's working time per attempt.
    pub duration_secs: i64,
    /// Extra time granted to this registration.
    pub extra_time_secs: i64,
    /// When the sitting's results were published (Unix seconds), if they were.
    pub published_at: Option<i64>,
}

/// Who a live candidate session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CandidateSessionOwner {
    /// The registration.
    pub registration_id: String,
    /// Its sitting.
    pub sitting_id: String,
    /// The person.
    pub person_id: String,
}

/// A retake ban: the person may not sit this certificate code and level before `until`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetakeBan {
    /// Random id.
    pub id: String,
    /// The banned person.
    pub person_id: String,
    /// Certificate code.
    pub certificate_code: String,
    /// Certificate level.
    pub level: String,
    /// The sitting whose result produced the ban.
    pub sitting_id: String,
    /// First day the person may sit again, `YYYY-MM-DD` (CST).
    pub until: String,
    /// Why, e.g. `bottom 10% of sitting ...`.
    pub reason: String,
    /// Unix seconds.
    pub created_at: i64,
}

const SITTING_COLUMNS: &str = "s.id, s.organization_id, s.certificate_id, \
    c.code AS certificate_code, c.level, s.bank_version_id, s.title, s.blueprint, \
    s.blueprint_hash, s.secret, s.opens_at, s.closes_at, s.late_entry_until, s.duration_secs, \
    s.exam_date, s.published_at, s.created_by, s.created_at";
const SITTING_FROM: &str = "sittings s JOIN certificates c ON c.id = s.certificate_id";
const ROOM_COLUMNS: &str = "id, sitting_id, site_id, code, capacity, created_at";
const REGISTRATION_COLUMNS: &str = "r.id, r.sitting_id, r.person_id, r.site_id, r.ticket, \
    r.class_code, r.room_id, r.extra_time_secs, r.created_by, r.created_at";

type ListingRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
);

fn listing_from_row(row: ListingRow) -> RegistrationListing {
    let (
        id,
        sitting_id,
        person_id,
        site_id,
        ticket,
        class_code,
        room_id,
        extra_time_secs,
        created_by,
        created_at,
        name,
        document_kind,
        document_number,
        room_code,
    ) = row;
    RegistrationListing {
        registration: Registration {
            id,
            sitting_id,
            person_id,
            site_id,
            ticket,
            class_code,
            room_id,
            extra_time_secs,
            created_by,
            created_at,
        },
        name,
        document_kind,
        document_number,
        room_code,
    }
}

impl Storage {
    /// Creates a sitting with the sites taking part, and its audit entry, in one transaction.
    /// `MissingReference` when the certificate, bank version, creator or a site is missing.
    pub async fn create_sitting(
        &self,
        sitting: &Sitting,
        site_ids: &[String],
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO sittings (id, organization_id, certificate_id, bank_version_id, title, \
                 blueprint, blueprint_hash, secret, opens_at, closes_at, late_entry_until, \
                 duration_secs, exam_date, published_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(&sitting.id)
            .bind(&sitting.organization_id)
            .bind(&sitting.certificate_id)
            .bind(&sitting.bank_version_id)
            .bind(&sitting.title)
            .bind(&sitting.blueprint)
            .bind(&sitting.blueprint_hash)
            .bind(&sitting.secret)
            .bind(sitting.opens_at)
            .bind(sitting.closes_at)
            .bind(sitting.late_entry_until)
            .bind(sitting.duration_secs)
            .bind(&sitting.exam_date)
            .bind(sitting.published_at)
            .bind(&sitting.created_by)
            .bind(sitting.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|error| classify(error, "sitting", "certificate, bank version or staff user"))?;
            for site_id in site_ids {
                sqlx::query("INSERT INTO sitting_sites (sitting_id, site_id) VALUES ($1, $2)")
                    .bind(&sitting.id)
                    .bind(site_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|error| classify(error, "site of this sitting", "site"))?;
            }
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// One sitting by id.
    pub async fn sitting(&self, id: &str) -> Result<Option<Sitting>, StorageError> {
        let sql = format!("SELECT {SITTING_COLUMNS} FROM {SITTING_FROM} WHERE s.id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// The sittings an organization owns, newest opening first.
    pub async fn sittings_of_organization(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Sitting>, StorageError> {
        let sql = format!(
            "SELECT {SITTING_COLUMNS} FROM {SITTING_FROM} WHERE s.organization_id = $1 \
             ORDER BY s.opens_at DESC, s.id"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?
        }))
    }

    /// The sittings an exam site takes part in, newest opening first.
    pub async fn sittings_of_site(&self, site_id: &str) -> Result<Vec<Sitting>, StorageError> {
        let sql = format!(
            "SELECT {SITTING_COLUMNS} FROM {SITTING_FROM} \
             JOIN sitting_sites ss ON ss.sitting_id = s.id WHERE ss.site_id = $1 \
             ORDER BY s.opens_at DESC, s.id"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(site_id).fetch_all(pool).await?
        }))
    }

    /// The ids of the exam sites taking part in a sitting, sorted.
    pub async fn sitting_site_ids(&self, sitting_id: &str) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT site_id FROM sitting_sites WHERE sitting_id = $1 ORDER BY site_id")
                .bind(sitting_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Adds an exam site to a sitting. `Duplicate` when it takes part already,
    /// `MissingReference` when the site does not exist.
    pub async fn add_sitting_site(
        &self,
        sitting_id: &str,
        site_id: &str,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO sitting_sites (sitting_id, site_id) VALUES ($1, $2)")
                .bind(sitting_id)
                .bind(site_id)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, "site of this sitting", "site"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Creates a room. `Duplicate` when the sitting has a room with that code already.
    pub async fn create_room(&self, room: &Room, audit: &AuditEntry) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO rooms (id, sitting_id, site_id, code, capacity, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&room.id)
            .bind(&room.sitting_id)
            .bind(&room.site_id)
            .bind(&room.code)
            .bind(room.capacity)
            .bind(room.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|error| classify(error, "room with this code in this sitting", "sitting or site"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The rooms of a sitting, by code.
    pub async fn rooms_of_sitting(&self, sitting_id: &str) -> Result<Vec<Room>, StorageError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE sitting_id = $1 ORDER BY code");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_all(pool).await?
        }))
    }

    /// One room of a sitting by its code.
    pub async fn room_by_code(
        &self,
        sitting_id: &str,
        code: &str,
    ) -> Result<Option<Room>, StorageError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE sitting_id = $1 AND code = $2");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).bind(code).fetch_optional(pool).await?
        }))
    }

    /// Registers a person for a sitting in one transaction (see the module documentation):
    /// finds `person` by document kind and number or creates it, refuses a banned person, a
    /// second registration of the same person and a full room, and otherwise stores
    /// `registration` (its `person_id` replaced by the person's) with `audit`.
    pub async fn register(
        &self,
        sitting: &Sitting,
        person: &Person,
        registration: &Registration,
        audit: &AuditEntry,
    ) -> Result<RegistrationOutcome, StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO people (id, document_kind, document_number, name, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (document_kind, document_number) DO NOTHING",
            )
            .bind(&person.id)
            .bind(&person.document_kind)
            .bind(&person.document_number)
            .bind(&person.name)
            .bind(person.created_at)
            .execute(&mut *tx)
            .await?;
            let stored: Person = sqlx::query_as(
                "SELECT id, document_kind, document_number, name, created_at FROM people \
                 WHERE document_kind = $1 AND document_number = $2",
            )
            .bind(&person.document_kind)
            .bind(&person.document_number)
            .fetch_one(&mut *tx)
            .await?;

            let ban: Option<(String,)> = sqlx::query_as(
                "SELECT until FROM retake_bans WHERE person_id = $1 AND certificate_code = $2 \
                 AND level = $3 AND lifted_at IS NULL AND until > $4 ORDER BY until DESC LIMIT 1",
            )
            .bind(&stored.id)
            .bind(&sitting.certificate_code)
            .bind(&sitting.level)
            .bind(&sitting.exam_date)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((until,)) = ban {
                tx.rollback().await?;
                return Ok(RegistrationOutcome::Banned { until });
            }

            let existing: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM registrations WHERE sitting_id = $1 AND person_id = $2",
            )
            .bind(&sitting.id)
            .bind(&stored.id)
            .fetch_optional(&mut *tx)
            .await?;
            if existing.is_some() {
                tx.rollback().await?;
                return Ok(RegistrationOutcome::AlreadyRegistered);
            }

            if let Some(room_id) = &registration.room_id {
                // Touching the room's row locks it on PostgreSQL until commit, so concurrent
                // registrations into this room count one after another.
                sqlx::query("UPDATE rooms SET capacity = capacity WHERE id = $1")
                    .bind(room_id)
                    .execute(&mut *tx)
                    .await?;
                let (capacity, taken): (i64, i64) = sqlx::query_as(
                    "SELECT r.capacity, (SELECT COUNT(*) FROM registrations g WHERE g.room_id = r.id) \
                     FROM rooms r WHERE r.id = $1",
                )
                .bind(room_id)
                .fetch_one(&mut *tx)
                .await?;
                if taken >= capacity {
                    tx.rollback().await?;
                    return Ok(RegistrationOutcome::RoomFull { capacity });
                }
            }

            let mut stored_registration = registration.clone();
            stored_registration.person_id = stored.id.clone();
            let inserted = sqlx::query(
                "INSERT INTO registrations (id, sitting_id, person_id, site_id, ticket, class_code, \
                 room_id, extra_time_secs, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&stored_registration.id)
            .bind(&stored_registration.sitting_id)
            .bind(&stored_registration.person_id)
            .bind(&stored_registration.site_id)
            .bind(&stored_registration.ticket)
            .bind(&stored_registration.class_code)
            .bind(&stored_registration.room_id)
            .bind(stored_registration.extra_time_secs)
            .bind(&stored_registration.created_by)
            .bind(stored_registration.created_at)
            .execute(&mut *tx)
            .await;
            match inserted.map_err(|error| classify(error, "registration", "sitting, site, room or staff user")) {
                Ok(_) => {}
                // A concurrent registration of the same person won the race. (A ticket
                // collision would land here too, but at 100 random bits it does not happen.)
                Err(StorageError::Duplicate(_)) => return Ok(RegistrationOutcome::AlreadyRegistered),
                Err(error) => return Err(error),
            }
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(RegistrationOutcome::Registered {
                registration: Box::new(stored_registration),
                person: Box::new(stored),
            })
        })
    }

    /// One registration by id.
    pub async fn registration(&self, id: &str) -> Result<Option<Registration>, StorageError> {
        let sql = format!("SELECT {REGISTRATION_COLUMNS} FROM registrations r WHERE r.id = $1");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// One person by id.
    pub async fn person(&self, id: &str) -> Result<Option<Person>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT id, document_kind, document_number, name, created_at FROM people WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The registrations of a sitting with name, document and room, by name; only those of
    /// `site_id` when given.
    pub async fn registrations_of_sitting(
        &self,
        sitting_id: &str,
        site_id: Option<&str>,
    ) -> Result<Vec<RegistrationListing>, StorageError> {
        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS}, p.name, p.document_kind, p.document_number, m.code \
             FROM registrations r JOIN people p ON p.id = r.person_id \
             LEFT JOIN rooms m ON m.id = r.room_id \
             WHERE r.sitting_id = $1 AND ($2 IS NULL OR r.site_id = $2) \
             ORDER BY p.name, r.id"
        );
        let rows: Vec<ListingRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).bind(site_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(listing_from_row).collect())
    }

    /// The holder of an admission ticket, for a candidate login.
    pub async fn ticket_holder(&self, ticket: &str) -> Result<Option<TicketHolder>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id AS registration_id, r.sitting_id, r.person_id, p.document_kind, \
                 p.document_number, s.opens_at, s.closes_at, s.duration_secs, r.extra_time_secs, \
                 s.published_at \
                 FROM registrations r JOIN people p ON p.id = r.person_id \
                 JOIN sittings s ON s.id = r.sitting_id WHERE r.ticket = $1",
            )
            .bind(ticket)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records a candidate login session.
    pub async fn create_candidate_session(
        &self,
        session: &CandidateSession,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO candidate_sessions (id, registration_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&session.id)
            .bind(&session.registration_id)
            .bind(session.created_at)
            .bind(session.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(|error| classify(error, "candidate session", "registration"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Who candidate session `session_id` belongs to, if it is live at `now`.
    pub async fn live_candidate_session(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<CandidateSessionOwner>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id AS registration_id, r.sitting_id, r.person_id \
                 FROM candidate_sessions c JOIN registrations r ON r.id = c.registration_id \
                 WHERE c.id = $1 AND c.revoked_at IS NULL AND c.expires_at > $2",
            )
            .bind(session_id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Revokes a candidate session (logout). Returns whether a live session was revoked.
    pub async fn revoke_candidate_session(
        &self,
        session_id: &str,
        now: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE candidate_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                append_audit!(&mut *tx, audit)?;
            }
            tx.commit().await?;
            done.rows_affected() > 0
        }))
    }

    /// Records a retake ban (result publication writes these; an admin lifts them).
    /// `Duplicate` when the person already has a ban from that sitting.
    pub async fn insert_retake_ban(
        &self,
        ban: &RetakeBan,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO retake_bans (id, person_id, certificate_code, level, sitting_id, until, \
                 reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&ban.id)
            .bind(&ban.person_id)
            .bind(&ban.certificate_code)
            .bind(&ban.level)
            .bind(&ban.sitting_id)
            .bind(&ban.until)
            .bind(&ban.reason)
            .bind(ban.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|error| classify(error, "retake ban from this sitting", "person or sitting"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The unlifted retake bans of a person, latest end first.
    pub async fn retake_bans_of(&self, person_id: &str) -> Result<Vec<RetakeBan>, StorageError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, person_id, certificate_code, level, sitting_id, until, reason, created_at \
                 FROM retake_bans WHERE person_id = $1 AND lifted_at IS NULL ORDER BY until DESC, id",
            )
            .bind(person_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
