//! What every HTML page shares: the page context (language, strings, user, menu, CSRF token),
//! error pages, catchers and the vendored static files.

mod catchers;
pub mod csrf;
pub mod flash;
pub mod headers;
mod menu;
pub mod upload;

pub use catchers::catchers;
pub use menu::{MenuItem, menu_for};

use crate::access::{Module, request_modules};
use crate::auth::{CurrentUser, session::MaybeUser};
use crate::i18n::Lang;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;
use rocket_dyn_templates::Template;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The context of one page request.
pub struct Ctx<'r> {
    pub lang: Lang,
    pub user: Option<&'r CurrentUser>,
    pub modules: HashSet<Module>,
    pub path: String,
    /// Unread conversations and notifications, for the menu (one indexed query per page).
    pub unread: (i64, i64),
    /// The keys that sign flash messages.
    keys: Option<&'r crate::auth::token::Keys>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ctx<'r> {
    type Error = crate::error::AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let MaybeUser(user) = match MaybeUser::from_request(req).await {
            Outcome::Success(u) => u,
            // NOTE: a database that does not answer is a 503, not an anonymous page.
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(_) => MaybeUser(None),
        };
        let modules = request_modules(req).await.clone();
        let unread = match (user, req.rocket().state::<crate::state::AppState>()) {
            (Some(u), Some(state))
                if modules.contains(&Module::Messages)
                    && u.can(crate::access::Permission::UseMessages) =>
            {
                crate::interaction::unread_counts(&state.db, u.id)
                    .await
                    .unwrap_or_default()
            }
            _ => (0, 0),
        };
        Outcome::Success(Ctx {
            lang: Lang::from_request_parts(req),
            user,
            modules,
            path: req.uri().path().to_string(),
            unread,
            keys: req
                .rocket()
                .state::<crate::state::AppState>()
                .map(|s| &s.keys),
        })
    }
}

impl Ctx<'_> {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// The message `prefix.code` from the translation files, or nothing when there is no such
    /// message: query text never reaches the page, only the words we wrote.
    pub fn known(&self, prefix: &str, code: Option<&str>) -> Option<String> {
        let key = format!("{prefix}.{}", code?);
        self.lang
            .dict()
            .get(&key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// Renders `template` with the shared context merged under the page's own `data`.
    pub fn render(&self, template: &'static str, title_key: &str, data: Value) -> Template {
        Template::render(template, self.context(title_key, data))
    }

    pub fn context(&self, title_key: &str, data: Value) -> Value {
        let mut ctx = base_context(self.lang, title_key);
        ctx.insert("path".into(), json!(self.path));
        if let Some(u) = self.user {
            ctx.insert("me".into(), json!(u));
            ctx.insert("csrf".into(), json!(u.csrf));
            let mut menu = menu_for(u, &self.modules, self.lang, &self.path);
            for item in &mut menu {
                let n = match item.href {
                    "/messages" => self.unread.0,
                    "/notifications" => self.unread.1,
                    _ => 0,
                };
                if n > 0 {
                    item.label = format!("{} ({n})", item.label);
                }
            }
            ctx.insert("menu".into(), json!(menu));
        }
        if let Value::Object(extra) = data {
            ctx.extend(extra);
        }
        Value::Object(ctx)
    }
}

fn base_context(lang: Lang, title_key: &str) -> Map<String, Value> {
    let mut ctx = Map::new();
    ctx.insert("lang".into(), json!(lang.code()));
    ctx.insert(
        "other_lang".into(),
        json!(if lang == Lang::Zh { "en" } else { "zh" }),
    );
    ctx.insert("tr".into(), Value::Object(lang.dict().clone()));
    ctx.insert("title".into(), json!(lang.t(title_key)));
    ctx
}

/// An error page, rendered without touching the database (used by the error responder and
/// the catchers, which cannot await).
pub fn error_page(req: &Request<'_>, status: Status, message: &str) -> String {
    let lang = Lang::from_request_parts(req);
    let mut ctx = base_context(lang, "error.title");
    ctx.insert("status".into(), json!(status.code));
    ctx.insert(
        "reason".into(),
        json!(lang.t(&format!("error.{}", status.code))),
    );
    ctx.insert("message".into(), json!(message));
    ctx.insert("path".into(), json!(req.uri().path().as_str()));
    Template::show(req.rocket(), "error", Value::Object(ctx))
        .unwrap_or_else(|| format!("<h1>{}</h1><p>{}</p>", status.code, escape(message)))
}

/// The template engine with the portal's own filter: `{{ value | when(lang=lang) }}` shows a
/// date or a date and time in the page's language (`Lang::when`).
pub fn templates() -> impl rocket::fairing::Fairing {
    Template::custom(|engines| {
        engines.tera.register_filter("when", when_filter);
    })
}

fn when_filter(
    value: &Value,
    args: &std::collections::HashMap<String, Value>,
) -> rocket_dyn_templates::tera::Result<Value> {
    let lang = args
        .get("lang")
        .and_then(Value::as_str)
        .and_then(Lang::parse)
        .unwrap_or(Lang::Zh);
    Ok(match value {
        Value::String(s) => json!(lang.when(s)),
        Value::Null => json!("—"),
        other => other.clone(),
    })
}

/// A form post that carries nothing but the session's CSRF token (logout, drop, deactivate).
#[derive(rocket::FromForm)]
pub struct CsrfForm<'a> {
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Percent-encodes a value for use in a query string.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The refusal a page shows after a redirect: the flash cookie our own response set (signed:
/// `web::flash`), else the translated message of the `?error=` code, else a generic line;
/// never the query text itself, nor the text of a cookie someone else set.
pub fn flash_or_code(
    ctx: &Ctx<'_>,
    flash: Option<rocket::request::FlashMessage<'_>>,
    prefix: &str,
    code: Option<&str>,
) -> Option<String> {
    let code = code?;
    if let (Some(f), Some(keys)) = (flash.filter(|f| f.kind() == "error"), ctx.keys)
        && let Some(text) = flash::verified(keys, f.kind(), f.message())
    {
        return Some(text.to_string());
    }
    ctx.known(prefix, Some(code))
        .or_else(|| Some(ctx.t("web.refused")))
}

/// A local path safe to redirect to after login (no scheme, no host, no `//`, nothing a
/// `Location` header cannot carry: a control character there made the redirect a 500).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && rocket::http::uri::Origin::parse(n).is_ok() =>
        {
            n.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

const APP_CSS: &str = include_str!("../../templates/static/app.css");
const APP_JS: &str = include_str!("../../templates/static/app.js");

#[rocket::get("/static/app.css")]
pub fn app_css() -> (ContentType, &'static str) {
    (ContentType::CSS, APP_CSS)
}

#[rocket::get("/static/app.js")]
pub fn app_js() -> (ContentType, &'static str) {
    (ContentType::JavaScript, APP_JS)
}

#[rocket::get("/favicon.ico")]
pub fn favicon() -> Status {
    Status::NoContent
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![app_css, app_js, favicon]
}

/// A tiny helper so handlers can answer a bare HTML string (used by the API docs page).
pub fn html(s: String) -> RawHtml<String> {
    RawHtml(s)
}
