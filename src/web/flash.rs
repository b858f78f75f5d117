//! Signed flash messages. Rocket's `Flash` cookie is a plain cookie: anyone who can set a
//! cookie for the portal's host (a script on a sibling site, a shared computer, a crafted
//! request in a test) could put any words in it, and the page would show them in an official
//! red alert. Every `_flash` cookie an answer of the portal sets is therefore signed here, and a
//! page shows a flash text only when its signature is right; otherwise only the translated
//! message of the code in the URL.

use crate::auth::token::{Keys, constant_time_eq};
use rocket::fairing::AdHoc;
use rocket::http::{Cookie, Header};

const NAME: &str = "_flash";
/// Between the text and its signature (a control character no message contains).
const SEP: char = '\u{1f}';
const PURPOSE: &str = "flash";

/// Signs the `_flash` cookies an answer sets (the cookie jar is written into `Set-Cookie`
/// headers before the response fairings run).
pub fn fairing() -> AdHoc {
    AdHoc::on_response("signed flash messages", |req, res| {
        Box::pin(async move {
            let Some(state) = req.rocket().state::<crate::state::AppState>() else {
                return;
            };
            let set: Vec<String> = res
                .headers()
                .get("Set-Cookie")
                .map(str::to_string)
                .collect();
            if !set.iter().any(|c| c.starts_with("_flash=")) {
                return;
            }
            res.remove_header("Set-Cookie");
            for header in set {
                let value = match Cookie::parse_encoded(header.clone()) {
                    Ok(mut cookie) if cookie.name() == NAME && !cookie.value().is_empty() => {
                        let content = cookie.value().to_string();
                        let mac = state.keys.mac(PURPOSE, &content);
                        cookie.set_value(format!("{content}{SEP}{mac}"));
                        cookie.encoded().to_string()
                    }
                    _ => header,
                };
                res.adjoin_header(Header::new("Set-Cookie", value));
            }
        })
    })
}

/// The text of a flash message of `kind` whose cookie the portal itself signed; `None` for a
/// cookie without a valid signature.
pub fn verified<'m>(keys: &Keys, kind: &str, message: &'m str) -> Option<&'m str> {
    let (text, mac) = message.rsplit_once(SEP)?;
    // Rocket's cookie content: the kind's length, ':', the kind, the message.
    let content = format!("{}:{kind}{text}", kind.len());
    constant_time_eq(mac, &keys.mac(PURPOSE, &content)).then_some(text)
}
