//! Storage of teachers (the proctor pool of each exam site), their availability per sitting,
//! and proctor draws with the room ↔ teacher assignments they produced.
//!
//! The facts a draw needs about a sitting (its window, sites, rooms and registrations) are read
//! here with plain SQL over the sittings tables, so the draw depends on the schema only.
//! Teachers' `classes` and `students` are JSON arrays in text columns: they are read and
//! written whole, never queried inside.

use super::{AuditEntry, StaffUser, Storage, StorageError, classify};

/// A teacher of an exam site who may proctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teacher {
    /// Random id.
    pub id: String,
    /// The teacher's school (exam site).
    pub site_id: String,
    /// Code, unique per site, `[A-Z0-9-]+`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Class codes the teacher teaches.
    pub classes: Vec<String>,
    /// Identity-document keys (`resident_id:...`) of the students the teacher taught.
    pub students: Vec<String>,
    /// Last day the proctor qualification is valid, `YYYY-MM-DD`, inclusive.
    pub qualified_until: String,
    /// At most this many rooms per draw; `None` is unlimited.
    pub max_rooms: Option<i64>,
    /// The teacher's own `proctor` login, if any.
    pub staff_user_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// The sitting as a proctor draw sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawSitting {
    /// Sitting id.
    pub id: String,
    /// The owning organization.
    pub organization_id: String,
    /// Display title.
    pub title: String,
    /// Unix seconds.
    pub opens_at: i64,
    /// Unix seconds.
    pub closes_at: i64,
}

/// A room of the sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRoom {
    /// Room id.
    pub id: String,
    /// Room code, unique in the sitting.
    pub code: String,
    /// The code of the site hosting the room.
    pub site_code: String,
}

/// A registration of the sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRegistration {
    /// Registration id.
    pub id: String,
    /// The code of the site the candidate registered through (their school).
    pub site_code: String,
    /// The candidate's class, if any.
    pub class_code: Option<String>,
    /// The candidate's room, if seated.
    pub room_id: Option<String>,
    /// The person's identity-document key, `kind:number` (`resident_id:11010519491231002X`).
    pub person_key: String,
}

/// A teacher of a participating site with what they declared for the sitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawTeacher {
    /// The teacher.
    pub teacher: Teacher,
    /// The code of the teacher's site.
    pub site_code: String,
    /// The declared availability; `None` when never declared (available).
    pub available: Option<bool>,
}

/// Everything a proctor draw of one sitting is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawFacts {
    /// The sitting.
    pub sitting: DrawSitting,
    /// Its rooms, by code.
    pub rooms: Vec<DrawRoom>,
    /// Its registrations, by id.
    pub registrations: Vec<DrawRegistration>,
    /// The teachers of every site taking part, by site code and teacher code.
    pub teachers: Vec<DrawTeacher>,
}

/// One recorded proctor draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProctorDraw {
    /// Random id.
    pub id: String,
    /// The sitting drawn for.
    pub sitting_id: String,
    /// 1 for the sitting's first draw, 2 for the re-draw after it, ... (set by
    /// [`Storage::record_proctor_draw`]).
    pub number: i64,
    /// The solver's seed (53 bits, so every JSON reader holds it exactly).
    pub seed: i64,
    /// Hex SHA-256 of `input`.
    pub input_sha256: String,
    /// The CONTRACT section 4 input, exactly as solved.
    pub input: String,
    /// The solver's output, exactly as `xcert proctors assign --json` prints it.
    pub outcome: String,
    /// The staff user who drew.
    pub drawn_by: String,
    /// Unix seconds.
    pub drawn_at: i64,
    /// Why (required for a re-draw).
    pub reason: Option<String>,
    /// When a later draw replaced this one; `None` for the current draw.
    pub superseded_at: Option<i64>,
    /// The draw that replaced this one.
    pub superseded_by: Option<String>,
}

/// A room a proctor is assigned to by a current draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProctorRoom {
    /// Sitting id.
    pub sitting_id: String,
    /// Sitting title.
    pub sitting_title: String,
    /// Unix seconds.
    pub opens_at: i64,
    /// Unix seconds.
    pub closes_at: i64,
    /// Room id.
    pub room_id: String,
    /// Room code.
    pub room_code: String,
    /// The code of the site hosting the room.
    pub site_code: String,
    /// How many candidates are registered in the room.
    pub candidates: i64,
    /// The draw that assigned the room.
    pub draw_id: String,
}

const TEACHER_COLUMNS: &str = "id, site_id, code, name, classes, students, qualified_until, \
                               max_rooms, staff_user_id, created_at, updated_at";

type TeacherRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

fn teacher_from_row(row: TeacherRow) -> Result<Teacher, StorageError> {
    let (
        id,
        site_id,
        code,
        name,
        classes,
        students,
        qualified_until,
        max_rooms,
        staff_user_id,
        created_at,
        updated_at,
    ) = row;
    let list = |text: &str, what: &str| -> Result<Vec<String>, StorageError> {
        serde_json::from_str(text)
            .map_err(|error| StorageError::Corrupt(format!("teacher {id}: {what}: {error}")))
    };
    Ok(Teacher {
        classes: list(&classes, "classes")?,
        students: list(&students, "students")?,
        id,
        site_id,
        code,
        name,
        qualified_until,
        max_rooms,
        staff_user_id,
        created_at,
        updated_at,
    })
}

fn json_list(list: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

/// Assignment rows per `INSERT` (3 parameters each, far below either backend's limit).
const ASSIGNMENT_CHUNK: usize = 200;

/// `INSERT INTO proctor_assignments ... VALUES ($1, $2, $3), ($4, $5, $6), ...` for `rows` rows.
fn assignment_insert(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| format!("(${}, ${}, ${})", 3 * row + 1, 3 * row + 2, 3 * row + 3))
        .collect();
    format!(
        "INSERT INTO proctor_assignments (draw_id, room_id, teacher_id) VALUES {}",
        values.join(", ")
    )
}

const DRAW_COLUMNS: &str = "id, sitting_id, number, seed, input_sha256, input, outcome, drawn_by, \
                            drawn_at, reason, superseded_at, superseded_by";

type DrawRow = (
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn draw_from_row(row: DrawRow) -> ProctorDraw {
    let (
        id,
        sitting_id,
        number,
        seed,
        input_sha256,
        input,
        outcome,
        drawn_by,
        drawn_at,
        reason,
        superseded_at,
        superseded_by,
    ) = row;
    ProctorDraw {
        id,
        sitting_id,
        number,
        seed,
        input_sha256,
        input,
        outcome,
        drawn_by,
        drawn_at,
        reason,
        superseded_at,
        superseded_by,
    }
}

impl Storage {
    /// Creates a teacher and, when `login` is given, their `proctor` staff account, in one
    /// transaction with the audit entries. `Duplicate` when the code is taken at that site or
    /// the username is taken.
    pub async fn create_teacher(
        &self,
        teacher: &Teacher,
        login: Option<(&StaffUser, &AuditEntry)>,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        let sql = format!(
            "INSERT INTO teachers ({TEACHER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some((user, staff_audit)) = login {
                sqlx::query(
                    "INSERT INTO staff_users (id, username, password_hash, role, organization_id, site_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&user.id)
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind(&user.organization_id)
                .bind(&user.site_id)
                .bind(user.created_at)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, "username", "site"))?;
                append_audit!(&mut *tx, staff_audit)?;
            }
            sqlx::query(&sql)
                .bind(&teacher.id)
                .bind(&teacher.site_id)
                .bind(&teacher.code)
                .bind(&teacher.name)
                .bind(json_list(&teacher.classes))
                .bind(json_list(&teacher.students))
                .bind(&teacher.qualified_until)
                .bind(teacher.max_rooms)
                .bind(&teacher.staff_user_id)
                .bind(teacher.created_at)
                .bind(teacher.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, "teacher code at this site", "site"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Replaces a teacher's name, classes, students, qualification and room limit. Returns
    /// whether the teacher exists at that site.
    pub async fn update_teacher(
        &self,
        teacher: &Teacher,
        audit: &AuditEntry,
    ) -> Result<bool, StorageError> {
        let updated = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE teachers SET name = $1, classes = $2, students = $3, qualified_until = $4, \
                 max_rooms = $5, updated_at = $6 WHERE id = $7 AND site_id = $8",
            )
            .bind(&teacher.name)
            .bind(json_list(&teacher.classes))
            .bind(json_list(&teacher.students))
            .bind(&teacher.qualified_until)
            .bind(teacher.max_rooms)
            .bind(teacher.updated_at)
            .bind(&teacher.id)
            .bind(&teacher.site_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                append_audit!(&mut *tx, audit)?;
            }
            tx.commit().await?;
            done.rows_affected() > 0
        });
        Ok(updated)
    }

    /// One teacher by id.
    pub async fn teacher(&self, id: &str) -> Result<Option<Teacher>, StorageError> {
        let sql = format!("SELECT {TEACHER_COLUMNS} FROM teachers WHERE id = $1");
        let row: Option<TeacherRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(teacher_from_row).transpose()
    }

    /// The teachers of one site, by code.
    pub async fn teachers_of_site(&self, site_id: &str) -> Result<Vec<Teacher>, StorageError> {
        let sql =
            format!("SELECT {TEACHER_COLUMNS} FROM teachers WHERE site_id = $1 ORDER BY code");
        let rows: Vec<TeacherRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(site_id).fetch_all(pool).await?
        });
        rows.into_iter().map(teacher_from_row).collect()
    }

    /// Whether `site_id` takes part in `sitting_id`.
    pub async fn site_takes_part(
        &self,
        sitting_id: &str,
        site_id: &str,
    ) -> Result<bool, StorageError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT site_id FROM sitting_sites WHERE sitting_id = $1 AND site_id = $2")
                .bind(sitting_id)
                .bind(site_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.is_some())
    }

    /// Records whether a teacher is available for a sitting (replacing an earlier
    /// declaration), with its audit entry.
    pub async fn set_teacher_availability(
        &self,
        sitting_id: &str,
        teacher_id: &str,
        available: bool,
        audit: &AuditEntry,
    ) -> Result<(), StorageError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO teacher_availability (sitting_id, teacher_id, available, declared_by, declared_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (sitting_id, teacher_id) DO UPDATE SET available = excluded.available, \
                 declared_by = excluded.declared_by, declared_at = excluded.declared_at",
            )
            .bind(sitting_id)
            .bind(teacher_id)
            .bind(available)
            .bind(&audit.actor)
            .bind(audit.at)
            .execute(&mut *tx)
            .await
            .map_err(|error| classify(error, "availability", "sitting or teacher"))?;
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The sitting as a draw sees it, without rooms or people (for access checks).
    pub async fn draw_sitting(
        &self,
        sitting_id: &str,
    ) -> Result<Option<DrawSitting>, StorageError> {
        let row: Option<(String, String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, organization_id, title, opens_at, closes_at FROM sittings WHERE id = $1",
            )
            .bind(sitting_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(
            |(id, organization_id, title, opens_at, closes_at)| DrawSitting {
                id,
                organization_id,
                title,
                opens_at,
                closes_at,
            },
        ))
    }

    /// Everything a proctor draw of `sitting_id` is built from, read in one transaction so
    /// the rooms, registrations and teachers belong together; `None` when no such sitting.
    pub async fn draw_facts(&self, sitting_id: &str) -> Result<Option<DrawFacts>, StorageError> {
        let teacher_sql = format!(
            "SELECT {}, s.code, a.available FROM teachers t \
             JOIN sitting_sites ss ON ss.site_id = t.site_id AND ss.sitting_id = $1 \
             JOIN sites s ON s.id = t.site_id \
             LEFT JOIN teacher_availability a ON a.teacher_id = t.id AND a.sitting_id = $1 \
             ORDER BY s.code, t.code",
            TEACHER_COLUMNS
                .split(", ")
                .map(|column| format!("t.{}", column.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        type FullTeacherRow = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
            i64,
            i64,
            String,
            Option<bool>,
        );
        let Some(sitting) = self.draw_sitting(sitting_id).await? else {
            return Ok(None);
        };
        type RoomRow = (String, String, String);
        type RegistrationRow = (
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        type Facts = (Vec<RoomRow>, Vec<RegistrationRow>, Vec<FullTeacherRow>);
        let (rooms, registrations, teachers): Facts = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let rooms = sqlx::query_as(
                "SELECT r.id, r.code, s.code FROM rooms r JOIN sites s ON s.id = r.site_id \
                 WHERE r.sitting_id = $1 ORDER BY r.code",
            )
            .bind(sitting_id)
            .fetch_all(&mut *tx)
            .await?;
            let registrations = sqlx::query_as(
                "SELECT g.id, s.code, g.class_code, g.room_id, p.document_kind, p.document_number \
                 FROM registrations g JOIN sites s ON s.id = g.site_id JOIN people p ON p.id = g.person_id \
                 WHERE g.sitting_id = $1 ORDER BY g.id",
            )
            .bind(sitting_id)
            .fetch_all(&mut *tx)
            .await?;
            let teachers = sqlx::query_as(&teacher_sql)
                .bind(sitting_id)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            (rooms, registrations, teachers)
        });
        let rooms = rooms
            .into_iter()
            .map(|(id, code, site_code)| DrawRoom {
                id,
                code,
                site_code,
            })
            .collect();
        let registrations = registrations
            .into_iter()
            .map(
                |(id, site_code, class_code, room_id, kind, number)| DrawRegistration {
                    id,
                    site_code,
                    class_code,
                    room_id,
                    person_key: format!("{kind}:{number}"),
                },
            )
            .collect();
        let teachers = teachers
            .into_iter()
            .map(|row| {
                let (a, b, c, d, e, f, g, h, i, j, k, site_code, available) = row;
                Ok(DrawTeacher {
                    teacher: teacher_from_row((a, b, c, d, e, f, g, h, i, j, k))?,
                    site_code,
                    available,
                })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(Some(DrawFacts {
            sitting,
            rooms,
            registrations,
            teachers,
        }))
    }

    /// Records a proctor draw and its assignments (room id, teacher id) in one transaction
    /// with its audit entry, numbering it after the sitting's earlier draws (the number is
    /// returned; `draw.number` is ignored). `replaces` names the current draw the caller saw: it is
    /// superseded, and if it is no longer current (or, with `None`, if a current draw exists)
    /// nothing is written and the answer is `Duplicate`, so two racing draws cannot both win.
    pub async fn record_proctor_draw(
        &self,
        draw: &ProctorDraw,
        assignments: &[(String, String)],
        replaces: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<i64, StorageError> {
        let insert = format!(
            "INSERT INTO proctor_draws ({DRAW_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let duplicate = "a current proctor draw of this sitting";
        let number = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(old) = replaces {
                let done = sqlx::query(
                    "UPDATE proctor_draws SET superseded_at = $1 \
                     WHERE id = $2 AND sitting_id = $3 AND superseded_at IS NULL",
                )
                .bind(draw.drawn_at)
                .bind(old)
                .bind(&draw.sitting_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::Duplicate(duplicate));
                }
            }
            let (previous,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(number), 0) FROM proctor_draws WHERE sitting_id = $1",
            )
            .bind(&draw.sitting_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(&insert)
                .bind(&draw.id)
                .bind(&draw.sitting_id)
                .bind(previous + 1)
                .bind(draw.seed)
                .bind(&draw.input_sha256)
                .bind(&draw.input)
                .bind(&draw.outcome)
                .bind(&draw.drawn_by)
                .bind(draw.drawn_at)
                .bind(&draw.reason)
                .bind(draw.superseded_at)
                .bind(&draw.superseded_by)
                .execute(&mut *tx)
                .await
                .map_err(|error| classify(error, duplicate, "sitting or staff user"))?;
            if let Some(old) = replaces {
                sqlx::query("UPDATE proctor_draws SET superseded_by = $1 WHERE id = $2")
                    .bind(&draw.id)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            // Multi-row statements: one round trip per chunk instead of one per proctor seat.
            for chunk in assignments.chunks(ASSIGNMENT_CHUNK) {
                let sql = assignment_insert(chunk.len());
                let mut query = sqlx::query(&sql);
                for (room_id, teacher_id) in chunk {
                    query = query.bind(&draw.id).bind(room_id).bind(teacher_id);
                }
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(|error| classify(error, "proctor assignment", "room or teacher"))?;
            }
            append_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            previous + 1
        });
        Ok(number)
    }

    /// Every proctor draw of a sitting, oldest first.
    pub async fn proctor_draws(&self, sitting_id: &str) -> Result<Vec<ProctorDraw>, StorageError> {
        let sql = format!(
            "SELECT {DRAW_COLUMNS} FROM proctor_draws WHERE sitting_id = $1 ORDER BY number"
        );
        let rows: Vec<DrawRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(draw_from_row).collect())
    }

    /// The current (not superseded) proctor draw of a sitting.
    pub async fn current_proctor_draw(
        &self,
        sitting_id: &str,
    ) -> Result<Option<ProctorDraw>, StorageError> {
        let sql = format!(
            "SELECT {DRAW_COLUMNS} FROM proctor_draws WHERE sitting_id = $1 AND superseded_at IS NULL"
        );
        let row: Option<DrawRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).fetch_optional(pool).await?
        });
        Ok(row.map(draw_from_row))
    }

    /// One proctor draw of a sitting.
    pub async fn proctor_draw(
        &self,
        sitting_id: &str,
        draw_id: &str,
    ) -> Result<Option<ProctorDraw>, StorageError> {
        let sql =
            format!("SELECT {DRAW_COLUMNS} FROM proctor_draws WHERE sitting_id = $1 AND id = $2");
        let row: Option<DrawRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(sitting_id).bind(draw_id).fetch_optional(pool).await?
        });
        Ok(row.map(draw_from_row))
    }

    /// The rooms the current draws assign to the teacher whose login is `staff_user_id`, with
    /// their candidate counts, by opening time and room code. One indexed query: the teacher by
    /// login, their assignments by teacher, the draw's current flag by primary key.
    pub async fn proctor_rooms(
        &self,
        staff_user_id: &str,
    ) -> Result<Vec<ProctorRoom>, StorageError> {
        type Row = (
            String,
            String,
            i64,
            i64,
            String,
            String,
            String,
            i64,
            String,
        );
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT st.id, st.title, st.opens_at, st.closes_at, r.id, r.code, s.code, \
                 (SELECT COUNT(*) FROM registrations g WHERE g.room_id = r.id), d.id \
                 FROM teachers t \
                 JOIN proctor_assignments pa ON pa.teacher_id = t.id \
                 JOIN proctor_draws d ON d.id = pa.draw_id AND d.superseded_at IS NULL \
                 JOIN rooms r ON r.id = pa.room_id \
                 JOIN sites s ON s.id = r.site_id \
                 JOIN sittings st ON st.id = d.sitting_id \
                 WHERE t.staff_user_id = $1 \
                 ORDER BY st.opens_at, st.id, r.code",
            )
            .bind(staff_user_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(
                    sitting_id,
                    sitting_title,
                    opens_at,
                    closes_at,
                    room_id,
                    room_code,
                    site_code,
                    candidates,
                    draw_id,
                )| ProctorRoom {
                    sitting_id,
                    sitting_title,
                    opens_at,
                    closes_at,
                    room_id,
                    room_code,
                    site_code,
                    candidates,
                    draw_id,
                },
            )
            .collect())
    }

    /// Whether the current draw of the room's sitting assigns the room to the teacher whose
    /// login is `staff_user_id`: the check behind "a proctor acts only in their own rooms".
    pub async fn proctor_watches_room(
        &self,
        staff_user_id: &str,
        room_id: &str,
    ) -> Result<bool, StorageError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id FROM teachers t \
                 JOIN proctor_assignments pa ON pa.teacher_id = t.id AND pa.room_id = $2 \
                 JOIN proctor_draws d ON d.id = pa.draw_id AND d.superseded_at IS NULL \
                 WHERE t.staff_user_id = $1",
            )
            .bind(staff_user_id)
            .bind(room_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_insert_numbers_three_parameters_per_row() {
        assert_eq!(
            assignment_insert(2),
            "INSERT INTO proctor_assignments (draw_id, room_id, teacher_id) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
    }
}
