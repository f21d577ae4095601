//! Values of the guard's environment variables, as `Settings::from_env` hands them to each
//! part's reader (trimmed, empty as absent): yes/no flags and whole numbers within bounds, each
//! refused with a message that names the variable.

use std::time::Duration;

use crate::util::error::Error;

/// `true`, `1`, `yes` or `false`, `0`, `no` (any case); absent: `false`.
pub fn flag(value: Option<String>, name: &str) -> Result<bool, Error> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(other) => Err(Error::Usage(format!(
            "{name}: {other:?} is not true or false"
        ))),
    }
}

/// A whole number from `min` to `max`; absent: `None`.
pub fn number(value: Option<String>, name: &str, min: u64, max: u64) -> Result<Option<u64>, Error> {
    value
        .map(|v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Error::Usage(format!("{name}: {v:?} is not a number from {min} to {max}"))
                })
        })
        .transpose()
}

/// A number of seconds from `min` to `max`; absent: `None`.
pub fn seconds(
    value: Option<String>,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<Duration>, Error> {
    number(value, name, min, max).map(|n| n.map(Duration::from_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_bounded_numbers() {
        let v = |s: &str| Some(s.to_string());
        assert!(!flag(None, "X").unwrap());
        assert!(flag(v("YES"), "X").unwrap());
        assert!(!flag(v("0"), "X").unwrap());
        assert!(flag(v("maybe"), "X").unwrap_err().to_string().contains("X"));
        assert_eq!(number(None, "N", 1, 9).unwrap(), None);
        assert_eq!(number(v("9"), "N", 1, 9).unwrap(), Some(9));
        for bad in ["0", "10", "-1", "x"] {
            let e = number(v(bad), "N", 1, 9).unwrap_err().to_string();
            assert!(e.contains("N") && e.contains("from 1 to 9"), "{e}");
        }
        assert_eq!(
            seconds(v("20"), "S", 1, 900).unwrap(),
            Some(Duration::from_secs(20))
        );
    }
}
