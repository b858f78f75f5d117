//! Security headers on every answer: a CSP that allows no inline script, no sniffing, no
//! referrer leaving the portal, no framing, `Cache-Control: no-store` on everything but the
//! static files (so Back after logout on a shared PC shows nothing), and HSTS when the session
//! cookie is Secure (the portal is then served over HTTPS).

use rocket::fairing::AdHoc;
use rocket::http::Header;

/// No inline script or style, no plugins, no framing, forms post only to the portal.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

pub fn fairing(hsts: bool) -> AdHoc {
    AdHoc::on_response("security headers", move |req, res| {
        Box::pin(async move {
            res.set_header(Header::new("Content-Security-Policy", CSP));
            res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
            res.set_header(Header::new("Referrer-Policy", "same-origin"));
            res.set_header(Header::new("X-Frame-Options", "DENY"));
            if !req.uri().path().starts_with("/static/") {
                res.set_header(Header::new("Cache-Control", "no-store"));
            }
            if hsts {
                res.set_header(Header::new(
                    "Strict-Transport-Security",
                    "max-age=31536000; includeSubDomains",
                ));
            }
        })
    })
}
