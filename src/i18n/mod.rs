//! Chinese and English. Every user-facing string comes from `zh.json` / `en.json`; the language
//! comes from the `lang` cookie (set by the switcher), else `Accept-Language`, else Chinese.

use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            c if c.starts_with("zh") => Some(Lang::Zh),
            c if c.starts_with("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language in an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or_default();
            let q = bits
                .find_map(|b| {
                    b.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    pub fn from_request_parts(req: &Request<'_>) -> Lang {
        if let Some(l) = req
            .cookies()
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
        {
            return l;
        }
        req.headers()
            .get_one("Accept-Language")
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::Zh)
    }

    /// Every string of this language.
    pub fn dict(self) -> &'static Map<String, Value> {
        static ZH: OnceLock<Map<String, Value>> = OnceLock::new();
        static EN: OnceLock<Map<String, Value>> = OnceLock::new();
        let (cell, src) = match self {
            Lang::Zh => (&ZH, include_str!("zh.json")),
            Lang::En => (&EN, include_str!("en.json")),
        };
        cell.get_or_init(|| serde_json::from_str(src).unwrap_or_default())
    }

    /// One string; the key itself when missing, so a gap is visible rather than blank.
    pub fn t(self, key: &str) -> String {
        self.dict()
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or(key)
            .to_string()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Lang::from_request_parts(req))
    }
}
