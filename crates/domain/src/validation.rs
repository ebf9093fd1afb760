//! Field-named validation errors, and the plumbing that gathers every bad field of a request at once.
//!
//! Value types report *what* is wrong with a [`ValueError`]; the code that knows where the value came
//! from names the field with [`AtField::at`]. A request is converted by validating each field and then
//! joining the results with [`AllValid::all_valid`], so that a client learns about every bad field in
//! one round trip instead of one per retry.

use std::fmt;

/// One bad field: its path in the request (`assessment.civilians_killed.max`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Every bad field found in one input. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", describe(.0))]
pub struct Violations(pub Vec<FieldViolation>);

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Violations {
    /// A single violation of `field`.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldViolation> {
        self.0.iter()
    }
}

/// What is wrong with one value, before anyone has said which field held it.
///
/// `part` names a part of a composite value (`max` of a count range), and is appended to the field
/// path when the error is placed with [`AtField::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub part: Option<&'static str>,
    pub description: String,
}

impl ValueError {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            part: None,
            description: description.into(),
        }
    }

    /// An error about one part of a composite value.
    pub fn in_part(part: &'static str, description: impl Into<String>) -> Self {
        Self {
            part: Some(part),
            description: description.into(),
        }
    }

    /// Names the field that held the bad value.
    pub fn at(self, field: &str) -> Violations {
        let field = match self.part {
            Some(part) => format!("{field}.{part}"),
            None => field.to_owned(),
        };
        Violations::one(field, self.description)
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part {
            Some(part) => write!(f, "{part}: {}", self.description),
            None => f.write_str(&self.description),
        }
    }
}

impl std::error::Error for ValueError {}

/// How many characters of a bad value an error message quotes: enough to recognise it, never enough
/// to blow up a status header.
pub const QUOTED_CHARS: usize = 64;

/// The value, debug-quoted and cut to [`QUOTED_CHARS`] characters, for error messages.
pub fn quoted(raw: &str) -> String {
    if raw.chars().count() <= QUOTED_CHARS {
        format!("{raw:?}")
    } else {
        let head: String = raw.chars().take(QUOTED_CHARS).collect();
        format!("{head:?}… ({} characters)", raw.chars().count())
    }
}

/// Places a value's error at a field of the input.
pub trait AtField<T> {
    fn at(self, field: &str) -> Result<T, Violations>;
}

impl<T> AtField<T> for Result<T, ValueError> {
    fn at(self, field: &str) -> Result<T, Violations> {
        self.map_err(|e| e.at(field))
    }
}

/// Joins independently validated fields: all values when every one is valid, otherwise every
/// violation of every field.
pub trait AllValid {
    type Output;
    fn all_valid(self) -> Result<Self::Output, Violations>;
}

macro_rules! impl_all_valid {
    ($($name:ident),+) => {
        impl<$($name),+> AllValid for ($(Result<$name, Violations>,)+) {
            type Output = ($($name,)+);

            #[allow(non_snake_case, reason = "the type parameters double as binding names")]
            fn all_valid(self) -> Result<Self::Output, Violations> {
                let ($($name,)+) = self;
                match ($($name,)+) {
                    ($(Ok($name),)+) => Ok(($($name,)+)),
                    ($($name,)+) => {
                        let mut violations = Vec::new();
                        $(if let Err(e) = $name { violations.extend(e.0); })+
                        Err(Violations(violations))
                    }
                }
            }
        }
    };
}

impl_all_valid!(A);
impl_all_valid!(A, B);
impl_all_valid!(A, B, C);
impl_all_valid!(A, B, C, D);
impl_all_valid!(A, B, C, D, E);
impl_all_valid!(A, B, C, D, E, F);
impl_all_valid!(A, B, C, D, E, F, G);
impl_all_valid!(A, B, C, D, E, F, G, H);
impl_all_valid!(A, B, C, D, E, F, G, H, I);
impl_all_valid!(A, B, C, D, E, F, G, H, I, J);
impl_all_valid!(A, B, C, D, E, F, G, H, I, J, K);
impl_all_valid!(A, B, C, D, E, F, G, H, I, J, K, L);
impl_all_valid!(A, B, C, D, E, F, G, H, I, J, K, L, M);

/// The most items any repeated field of a request may hold: more than any real filter or record
/// needs (there are 249 country codes), and few enough that one request cannot make the server
/// validate, or report on, millions of elements. Import rows have a limit of their own.
pub const MAX_REPEATED: usize = 256;

/// Validates every element of a repeated field, naming each bad one by its index (`references[2].source_id`).
pub fn each<T, U, I>(
    field: &str,
    items: I,
    mut parse: impl FnMut(T, &str) -> Result<U, Violations>,
) -> Result<Vec<U>, Violations>
where
    I: IntoIterator<Item = T>,
    I::IntoIter: ExactSizeIterator,
{
    let items = items.into_iter();
    if items.len() > MAX_REPEATED {
        return Err(Violations::one(
            field,
            format!("holds at most {MAX_REPEATED} items, got {}", items.len()),
        ));
    }
    let mut values = Vec::with_capacity(items.len());
    let mut violations = Vec::new();
    for (index, item) in items.enumerate() {
        match parse(item, &format!("{field}[{index}]")) {
            Ok(value) => values.push(value),
            Err(e) => violations.extend(e.0),
        }
    }
    if violations.is_empty() {
        Ok(values)
    } else {
        Err(Violations(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_valid_returns_every_value_when_all_fields_are_valid() {
        let joined = (Ok::<_, Violations>(1), Ok::<_, Violations>("a")).all_valid();
        assert_eq!(joined, Ok((1, "a")));
    }

    #[test]
    fn all_valid_gathers_the_violations_of_every_bad_field() {
        let joined = (
            Err::<u8, _>(Violations::one("a", "bad")),
            Ok::<_, Violations>(2),
            Err::<u8, _>(Violations::one("c", "worse")),
        )
            .all_valid();
        let fields: Vec<_> = joined.unwrap_err().0.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["a", "c"]);
    }

    #[test]
    fn a_part_is_appended_to_the_field_path() {
        let v = ValueError::in_part("max", "below min").at("assessment.civilians_killed");
        assert_eq!(v.0[0].field, "assessment.civilians_killed.max");
    }

    #[test]
    fn quoted_values_are_cut_short() {
        assert_eq!(quoted("SY"), "\"SY\"");
        let long = quoted(&"x".repeat(1_000_000));
        assert!(long.len() < 100, "{long}");
        assert!(long.ends_with("(1000000 characters)"));
    }

    #[test]
    fn each_refuses_more_items_than_the_limit_with_one_violation() {
        let items = vec![-1; MAX_REPEATED + 1];
        let err = each("xs", items, |x: i32, _| Ok::<_, Violations>(x)).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].field, "xs");
        assert!(
            each(
                "xs",
                vec![1; MAX_REPEATED],
                |x: i32, _| Ok::<_, Violations>(x)
            )
            .is_ok()
        );
    }

    #[test]
    fn each_names_bad_elements_by_index() {
        let result = each("xs", [1, -1, 2, -3], |x, field| {
            if x < 0 {
                Err(Violations::one(field, "negative"))
            } else {
                Ok(x)
            }
        });
        let fields: Vec<_> = result.unwrap_err().0.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["xs[1]", "xs[3]"]);
    }
}
