//! The browser UI (CONTRACT section 3): `/` is the candidate's exam page, `/staff` the staff
//! login and console, `/ui/{file}` their stylesheet and scripts.
//!
//! The files live in `crates/server/ui/` and are embedded in the binary with `include_str!`,
//! so an exam room that is offline from the internet needs nothing but this server. They are
//! plain HTML, CSS and JavaScript: no build step, no framework, no external URL.
//!
//! Every response carries a strict `Content-Security-Policy`: scripts, styles and requests only
//! from this origin, no inline script, no plugins, no framing. Question stems are sanitized HTML
//! from the bank renderer and may hold inline SVG or MathML; the policy makes sure that even a
//! script slipped into one would not run. Images of a paper are fetched by the page with the
//! candidate's token and shown as `blob:` URLs, hence `img-src 'self' blob: data:`.
//!
//! `/ui/sw.js` is a service worker for the scope `/` (hence `Service-Worker-Allowed: /`): it
//! keeps the candidate page's shell so a reload during a network cut still opens the exam.
//!
//! Caching: `Cache-Control: no-cache` with a strong `ETag` (a hash of the embedded file), so a
//! browser revalidates on every load (a cheap 304) and never runs a script older than the page
//! that loads it after an upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The policy of every UI response.
///
/// `style-src-attr 'unsafe-inline'` admits `style` attributes only (never a `<style>` element
/// or a script): the MathML of math in stems sets spacing and colours with them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' blob: data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// One embedded file: its name under `/ui/`, content type and text.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "candidate.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../ui/candidate.html"),
    },
    Asset {
        name: "staff.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../ui/staff.html"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../ui/app.css"),
    },
    Asset {
        name: "candidate.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../ui/candidate.js"),
    },
    Asset {
        name: "sw.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../ui/sw.js"),
    },
    Asset {
        name: "staff.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../ui/staff.js"),
    },
    Asset {
        name: "verify.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../ui/verify.html"),
    },
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../ui/verify.js"),
    },
    Asset {
        name: "certificate.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../ui/certificate.html"),
    },
    Asset {
        name: "certificate.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../ui/certificate.js"),
    },
    Asset {
        name: "certificate.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../ui/certificate.css"),
    },
];

/// The strong entity tag of each asset, in the order of [`ASSETS`], computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body.as_bytes());
            format!("\"{}\"", hex::encode(&digest[..12]))
        })
        .collect()
});

/// `GET /`: the candidate's login and exam page.
pub(crate) async fn candidate_page(headers: HeaderMap) -> Response {
    serve("candidate.html", &headers)
}

/// `GET /staff`: the staff login and console.
pub(crate) async fn staff_page(headers: HeaderMap) -> Response {
    serve("staff.html", &headers)
}

/// `GET /verify`: the public certificate verification page (`?number=` fills it in).
pub(crate) async fn verify_page(headers: HeaderMap) -> Response {
    serve("verify.html", &headers)
}

/// `GET /certificates/{number}/print`: the printable certificate. The page is the same for
/// every number; its script reads the number from the path and fetches the signed document
/// with the token of the candidate page or staff console that opened it (docs/CERTIFICATES.md).
pub(crate) async fn certificate_print_page(headers: HeaderMap) -> Response {
    serve("certificate.html", &headers)
}

/// `GET /ui/{file}`: a stylesheet or script of the pages; 404 for any other name.
pub(crate) async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(position) = ASSETS.iter().position(|asset| asset.name == name) else {
        return AppError::NotFound("UI file").into_response();
    };
    let asset = &ASSETS[position];
    let etag = &ETAGS[position];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if asset.name == "sw.js" {
        // The worker lives under /ui/ but keeps the candidate page at `/`.
        headers.insert(
            HeaderName::from_static("service-worker-allowed"),
            HeaderValue::from_static("/"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_with_its_type_and_policy() {
        for asset in ASSETS {
            let response = serve(asset.name, &HeaderMap::new());
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.name);
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], asset.content_type);
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            let policy = headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ASCII");
            assert!(policy.starts_with("default-src 'self'"), "{policy}");
            assert!(policy.contains("script-src 'self';"), "{policy}");
            assert!(policy.contains("style-src 'self';"), "{policy}");
            assert!(policy.contains("object-src 'none'"), "{policy}");
            assert!(!policy.contains("unsafe-eval"), "{policy}");
        }
    }

    #[test]
    fn a_matching_etag_gets_not_modified_and_an_unknown_name_404() {
        let first = serve("candidate.js", &HeaderMap::new());
        let etag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            serve("candidate.js", &headers).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            serve("../Cargo.toml", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_pages_load_nothing_from_outside_and_run_no_inline_script() {
        for asset in ASSETS {
            for outside in ["http://", "https://", "//cdn", "@import"] {
                assert!(
                    !asset.body.contains(outside),
                    "{} mentions {outside}",
                    asset.name
                );
            }
            if asset.name.ends_with(".html") {
                assert!(!asset.body.contains("<script>"), "{}", asset.name);
                assert!(!asset.body.contains(" onclick="), "{}", asset.name);
                assert!(!asset.body.contains(" style="), "{}", asset.name);
            }
        }
    }
}
