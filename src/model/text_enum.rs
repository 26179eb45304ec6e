//! [`text_enum!`]: the one way a closed set of the app's own values (settings, job kinds, reset
//! phases) gets its stored text. It adds `ALL`, `as_str` and an exact `parse` to a fieldless
//! enum declared as usual (docs, derives and serde attributes stay on the declaration).
//!
//! Wire values of the GeoServices API use `protocol`'s `wire_enum!` instead, which also accepts
//! other spellings; text written by syncwatch itself is read back exactly as it was written.

/// Adds `ALL` (every variant, in order), `as_str` (the stored text) and `parse` (exact text back
/// to the variant, `None` for anything else) to an enum:
///
/// ```ignore
/// text_enum!(JobKind { Create => "create", Sync => "sync" });
/// ```
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The value's text in the app database and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value written as `text` by [`Self::as_str`]; `None` for any other text.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|value| value.as_str() == text)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Colour {
        Red,
        DarkBlue,
    }
    text_enum!(Colour { Red => "red", DarkBlue => "dark-blue" });

    /// Text goes out and comes back exactly; other spellings are not accepted.
    #[test]
    fn text_round_trips_exactly() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(colour));
        }
        assert_eq!(Colour::parse("Dark-Blue"), None);
        assert_eq!(Colour::parse("darkblue"), None);
    }
}
