//! The unsubscribe token of an e-mail: the user and category it speaks for, with a MAC keyed by
//! the portal's secret, so the link alone (no login) may turn that one category off.

use super::categories::Category;
use crate::auth::token::{constant_time_eq, hex_encode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(key: &[u8], user_id: i64, category: Category) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"unsubscribe:");
    mac.update(user_id.to_string().as_bytes());
    mac.update(b":");
    mac.update(category.code().as_bytes());
    hex_encode(&mac.finalize().into_bytes()[..16])
}

/// `<user>-<category>-<mac>`: only letters, digits and `-`, so it sits in a URL path.
pub fn make(key: &[u8], user_id: i64, category: Category) -> String {
    format!(
        "{user_id}-{}-{}",
        category.code(),
        mac(key, user_id, category)
    )
}

/// The user and category a token speaks for, when its MAC is right.
pub fn check(key: &[u8], token: &str) -> Option<(i64, Category)> {
    let mut parts = token.splitn(3, '-');
    let user_id: i64 = parts.next()?.parse().ok()?;
    let category = Category::parse(parts.next()?)?;
    let given = parts.next()?;
    let expected = mac(key, user_id, category);
    (category.optional() && !expected.is_empty() && constant_time_eq(given, &expected))
        .then_some((user_id, category))
}
