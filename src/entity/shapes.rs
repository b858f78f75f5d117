//! The two shapes that repeat across entities and API types, written once: an API type that
//! mirrors a row, and a status stored as text.

/// An API type that shows an entity's row field for field, and its `From` that row: the fields
/// are listed once, with their attributes (doc comments, `schema`), and each is moved over by
/// its name. For a type that renames or converts a field, write the `From` by hand.
macro_rules! mirror_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident from $model:path {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty),*
        }

        impl From<$model> for $name {
            fn from(row: $model) -> Self {
                $name {
                    $($field: row.$field),*
                }
            }
        }
    };
}
pub(crate) use mirror_row;

/// A status stored as text, its names written once. The enum gets the database mapping
/// (`DeriveActiveEnum`, each variant stored as the name given), serde and the OpenAPI schema
/// under the same names, `ALL`, `as_str` (the stored name, also the key of its label), `parse`,
/// and `Display` and `FromStr` by the stored name. A stored name must be its variant's
/// snake_case: serde and utoipa take theirs from `rename_all`, since utoipa does not read a
/// `rename` a macro writes (a test compares the three).
macro_rules! stored_status {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $stored:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[sea_orm(string_value = $stored)]
                $variant
            ),+
        }

        impl $name {
            /// Every status, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name, also the key of its label.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored),+
                }
            }

            /// The status stored as `s`, if any.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($stored => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<$name, String> {
                $name::parse(s).ok_or_else(|| format!("not a {}: {s}", stringify!($name)))
            }
        }
    };
}
pub(crate) use stored_status;
