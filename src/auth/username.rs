//! User names and personal names as people type them: one account per name whatever its case
//! or Unicode form (`Admin`, `admin` and full-width `ａｄｍｉｎ` are one name), and no invisible
//! characters that make two names look alike or a name unfindable.

use unicode_normalization::UnicodeNormalization;

/// The form a user name is compared in: NFKC, then lower case, then NFKC again (lower-casing
/// can leave a string that is no longer normalised).
pub fn fold(name: &str) -> String {
    name.trim()
        .nfkc()
        .flat_map(char::to_lowercase)
        .nfkc()
        .collect()
}

/// Characters that print as nothing or as something else: controls, zero-width and
/// direction marks, the BOM and soft hyphen, tag characters.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether a name (of an account or a person) holds an invisible character.
pub fn has_invisible(name: &str) -> bool {
    name.chars().any(is_invisible)
}
