//! Who may do what: one function per kind of access, so each route's rule is stated once and
//! the rules can be tested for every role.
//!
//! Two answers besides "yes": 403 `forbidden` when the caller's role can never do this, and
//! 404 `not_found` when the role could but the object is outside the caller's scope (another
//! organization's object), so a caller cannot even learn that it exists.

use crate::auth::{Caller, Role};
use crate::error::AppError;

/// Creating organizations and their staff accounts: admin only.
pub(crate) fn manage_organizations(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Listing organizations: admin and auditor see all, organization staff their own.
pub(crate) fn list_organizations(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor | Role::Org => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading one organization and its certificates: admin, auditor, and that organization's staff.
pub(crate) fn read_organization(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("organization")),
        _ => Err(AppError::Forbidden),
    }
}

/// Creating certificates for an organization: admin and that organization's staff.
pub(crate) fn write_certificates(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("organization")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading one exam site and its staff: admin, auditor, and that site's own staff.
pub(crate) fn read_site(caller: &Caller, site_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(()),
        Role::Site if caller.site_id.as_deref() == Some(site_id) => Ok(()),
        Role::Site => Err(AppError::NotFound("site")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading the audit log: admin and auditor.
pub(crate) fn read_audit_log(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Creating and updating an exam site's teachers, and declaring their availability: admin,
/// and that site's own staff.
pub(crate) fn manage_teachers(caller: &Caller, site_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Site if caller.site_id.as_deref() == Some(site_id) => Ok(()),
        Role::Site => Err(AppError::NotFound("site")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading an exam site's teachers: admin, auditor, and that site's own staff.
pub(crate) fn read_teachers(caller: &Caller, site_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => manage_teachers(caller, site_id),
    }
}

/// Drawing a sitting's proctors: admin, and staff of the organization owning the sitting (the
/// re-draw rule comes on top, in `crate::proctoring`).
pub(crate) fn draw_proctors(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("sitting")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading a sitting's proctor draws, their inputs and outcomes: admin, auditor, and staff of
/// the organization owning the sitting.
pub(crate) fn read_proctor_draws(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => draw_proctors(caller, organization_id),
    }
}

/// Listing one's own assigned rooms: proctors only (the query itself is scoped to the caller).
pub(crate) fn read_own_rooms(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Proctor => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Creating sittings for an organization, and adding sites to its sittings: admin and that
/// organization's staff.
pub(crate) fn write_sittings(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("organization")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading a sitting, its rooms and its registrations: admin, auditor, the owning
/// organization's staff, and staff of an exam site taking part. Returns the site the caller
/// is limited to (site staff see their own site's rooms and candidates only), `None` for all.
pub(crate) fn read_sitting(
    caller: &Caller,
    organization_id: &str,
    site_ids: &[String],
) -> Result<Option<String>, AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(None),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(None),
        Role::Org => Err(AppError::NotFound("sitting")),
        Role::Site => match &caller.site_id {
            Some(site) if site_ids.contains(site) => Ok(Some(site.clone())),
            _ => Err(AppError::NotFound("sitting")),
        },
        _ => Err(AppError::Forbidden),
    }
}

/// Registering candidates and creating rooms in a sitting: an admin for the site they name,
/// and the staff of an exam site taking part for their own site. Returns the site acted for.
pub(crate) fn site_desk(
    caller: &Caller,
    site_ids: &[String],
    named_site: Option<&str>,
) -> Result<String, AppError> {
    match caller.role {
        Role::Admin => named_site.map(str::to_owned).ok_or_else(|| {
            AppError::Invalid(
                "an admin acts for an exam site: name it with \"site\": \"<site id>\"".to_owned(),
            )
        }),
        Role::Site => match &caller.site_id {
            Some(site) if site_ids.contains(site) => match named_site {
                Some(named) if named != site => Err(AppError::Invalid(
                    "site staff act for their own site only; leave out `site`".to_owned(),
                )),
                _ => Ok(site.clone()),
            },
            _ => Err(AppError::NotFound("sitting")),
        },
        _ => Err(AppError::Forbidden),
    }
}

/// Uploading bank versions for an organization: admin and that organization's staff.
pub(crate) fn upload_banks(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("organization")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading an organization's bank versions (list, view, diff, source): admin, auditor, and
/// that organization's staff.
pub(crate) fn read_banks(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => upload_banks(caller, organization_id),
    }
}

/// Granting extra time to a candidate registered at `site_id`: admin, and the staff of that
/// exam site.
pub(crate) fn keep_attempt_time(caller: &Caller, site_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Site if caller.site_id.as_deref() == Some(site_id) => Ok(()),
        Role::Site => Err(AppError::NotFound("attempt")),
        _ => Err(AppError::Forbidden),
    }
}

/// Pausing and resuming the attempt of a candidate registered at `site_id`: admin, the staff
/// of that exam site, and a proctor whose current draw assigns them the candidate's room
/// (`proctor_watches_room`, looked up by the caller for proctors only).
pub(crate) fn pause_attempt(
    caller: &Caller,
    site_id: &str,
    proctor_watches_room: bool,
) -> Result<(), AppError> {
    match caller.role {
        Role::Proctor if proctor_watches_room => Ok(()),
        Role::Proctor => Err(AppError::NotFound("attempt")),
        _ => keep_attempt_time(caller, site_id),
    }
}

/// Setting up a sitting's marking (double-marking settings, grader assignments): admin, and
/// staff of the organization owning the sitting.
pub(crate) fn manage_marking(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("sitting")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading a sitting's marking set-up: admin, auditor, and staff of the owning organization.
pub(crate) fn read_marking(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => manage_marking(caller, organization_id),
    }
}

/// Reading a sitting's marking progress: as [`read_marking`], and a grader assigned to an item
/// of the sitting (`grader_assigned`, looked up by the caller for graders only).
pub(crate) fn read_marking_progress(
    caller: &Caller,
    organization_id: &str,
    grader_assigned: bool,
) -> Result<(), AppError> {
    match caller.role {
        Role::Grader if grader_assigned => Ok(()),
        Role::Grader => Err(AppError::NotFound("sitting")),
        _ => read_marking(caller, organization_id),
    }
}

/// Taking and marking scripts: graders only (the hand-out itself is scoped to the items the
/// grader is assigned to).
pub(crate) fn mark_scripts(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Grader => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Publishing a sitting's results and correcting scores after publication: admin, and staff
/// of the organization owning the sitting.
pub(crate) fn publish_results(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("sitting")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading a sitting's results, corrections and retake bans: admin, auditor, and staff of the
/// organization owning the sitting.
pub(crate) fn read_results(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => publish_results(caller, organization_id),
    }
}

/// Lifting a retake ban (an appeal): admin only.
pub(crate) fn lift_retake_bans(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading issued certificates (their signed documents, a sitting's list): admin, auditor,
/// and staff of the issuing organization.
pub(crate) fn read_issued_certificates(
    caller: &Caller,
    organization_id: &str,
) -> Result<(), AppError> {
    match caller.role {
        Role::Auditor => Ok(()),
        _ => revoke_issued_certificates(caller, organization_id),
    }
}

/// Revoking an issued certificate: admin, and staff of the issuing organization.
pub(crate) fn revoke_issued_certificates(
    caller: &Caller,
    organization_id: &str,
) -> Result<(), AppError> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Org if caller.organization_id.as_deref() == Some(organization_id) => Ok(()),
        Role::Org => Err(AppError::NotFound("certificate")),
        _ => Err(AppError::Forbidden),
    }
}

/// Reading any person's credit account: admin and auditor.
pub(crate) fn read_credit_accounts(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// Drawing a sitting's papers ahead of its first start: admin and the staff of the
/// organization owning the sitting.
pub(crate) fn draw_papers(caller: &Caller, organization_id: &str) -> Result<(), AppError> {
    draw_proctors(caller, organization_id)
}

/// Downloading a sitting's draw record, secret included (to re-derive every paper): admin and
/// auditor only.
pub(crate) fn read_paper_record(caller: &Caller) -> Result<(), AppError> {
    match caller.role {
        Role::Admin | Role::Auditor => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, organization: Option<&str>) -> Caller {
        Caller {
            user_id: "u".to_owned(),
            username: "u".to_owned(),
            role,
            organization_id: organization.map(str::to_owned),
            site_id: None,
            session_id: "s".to_owned(),
        }
    }

    #[test]
    fn only_an_admin_manages_organizations() {
        for role in Role::ALL {
            let allowed = manage_organizations(&caller(role, Some("o1"))).is_ok();
            assert_eq!(allowed, role == Role::Admin, "{role:?}");
        }
    }

    #[test]
    fn organization_staff_write_certificates_of_their_own_organization_only() {
        let staff = caller(Role::Org, Some("o1"));
        assert!(write_certificates(&staff, "o1").is_ok());
        assert!(matches!(
            write_certificates(&staff, "o2"),
            Err(AppError::NotFound(_))
        ));
        for role in [
            Role::Site,
            Role::Proctor,
            Role::Grader,
            Role::Auditor,
            Role::Candidate,
        ] {
            assert!(
                matches!(
                    write_certificates(&caller(role, Some("o1")), "o1"),
                    Err(AppError::Forbidden)
                ),
                "{role:?}"
            );
        }
    }

    #[test]
    fn site_staff_read_their_own_site_only() {
        let mut desk = caller(Role::Site, None);
        desk.site_id = Some("s1".to_owned());
        assert!(read_site(&desk, "s1").is_ok());
        assert!(matches!(read_site(&desk, "s2"), Err(AppError::NotFound(_))));
        assert!(matches!(
            read_site(&caller(Role::Org, Some("o1")), "s1"),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn an_auditor_reads_every_organization_but_a_site_reads_none() {
        assert!(read_organization(&caller(Role::Auditor, None), "o9").is_ok());
        assert!(matches!(
            read_organization(&caller(Role::Site, None), "o9"),
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            read_organization(&caller(Role::Org, Some("o1")), "o9"),
            Err(AppError::NotFound(_))
        ));
    }

    fn desk(site: &str) -> Caller {
        let mut desk = caller(Role::Site, None);
        desk.site_id = Some(site.to_owned());
        desk
    }

    #[test]
    fn site_staff_read_a_sitting_only_when_their_site_takes_part_and_then_their_site_only() {
        let taking_part = ["s1".to_owned(), "s2".to_owned()];
        assert_eq!(
            read_sitting(&desk("s1"), "o1", &taking_part).ok(),
            Some(Some("s1".to_owned()))
        );
        assert!(matches!(
            read_sitting(&desk("s9"), "o1", &taking_part),
            Err(AppError::NotFound(_))
        ));
        assert_eq!(
            read_sitting(&caller(Role::Org, Some("o1")), "o1", &taking_part).ok(),
            Some(None)
        );
        assert!(matches!(
            read_sitting(&caller(Role::Org, Some("o2")), "o1", &taking_part),
            Err(AppError::NotFound(_))
        ));
        for role in [Role::Proctor, Role::Grader, Role::Candidate] {
            assert!(matches!(
                read_sitting(&caller(role, None), "o1", &taking_part),
                Err(AppError::Forbidden)
            ));
        }
    }

    #[test]
    fn an_admin_desk_names_its_site_and_a_site_desk_acts_for_its_own_site_only() {
        let taking_part = ["s1".to_owned()];
        let admin = caller(Role::Admin, None);
        assert!(matches!(
            site_desk(&admin, &taking_part, None),
            Err(AppError::Invalid(_))
        ));
        assert_eq!(
            site_desk(&admin, &taking_part, Some("s7")).ok().as_deref(),
            Some("s7")
        );
        assert_eq!(
            site_desk(&desk("s1"), &taking_part, None).ok().as_deref(),
            Some("s1")
        );
        assert!(matches!(
            site_desk(&desk("s1"), &taking_part, Some("s2")),
            Err(AppError::Invalid(_))
        ));
        assert!(matches!(
            site_desk(&desk("s2"), &taking_part, None),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            site_desk(&caller(Role::Org, Some("o1")), &taking_part, Some("s1")),
            Err(AppError::Forbidden)
        ));
    }
}
