//! The benchmarks' command-line flags: `--flag value` pairs, the
//! `--serve-simulator` switch, whole numbers (`100_000` allowed), and
//! `--stores memory,sqlite`. Each benchmark matches its own flag names and
//! takes the values through [`Flags`]; a bad value or an unknown flag is an
//! [`ArgError`] that says what was wrong and repeats the usage line.
//!
//! ```
//! use scopelink_examples::args::{Flags, Stores};
//! let mut companies = 100_000;
//! let mut stores = Stores::default();
//! let mut flags = Flags::new(["--companies", "2_000", "--stores", "sqlite"], "usage: demo");
//! while let Some(flag) = flags.next_flag() {
//!     match flag.as_str() {
//!         "--companies" => companies = flags.number(&flag)?,
//!         "--stores" => stores = flags.stores(&flag)?,
//!         _ => return Err(flags.unknown(&flag).into()),
//!     }
//! }
//! assert_eq!(companies, 2_000);
//! assert_eq!(stores, Stores { memory: false, sqlite: true });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Display;
use std::str::FromStr;

/// The flag with which a benchmark starts itself as the simulator process
/// (see [`crate::sim_process`]).
pub const SERVE_SIMULATOR: &str = "--serve-simulator";

/// A command line the benchmark cannot run with. Each message ends with the
/// benchmark's usage line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    /// The flag was last, with no value after it.
    #[error("`{flag}` needs a value; {usage}")]
    MissingValue {
        /// The flag.
        flag: String,
        /// The benchmark's usage line.
        usage: &'static str,
    },
    /// The flag takes a whole number and got something else.
    #[error("`{flag} {value}` is not a number; {usage}")]
    NotANumber {
        /// The flag.
        flag: String,
        /// What followed it.
        value: String,
        /// The benchmark's usage line.
        usage: &'static str,
    },
    /// The flag's value did not parse; `reason` says why.
    #[error("{reason}; {usage}")]
    BadValue {
        /// The flag.
        flag: String,
        /// What followed it.
        value: String,
        /// Why it was refused.
        reason: String,
        /// The benchmark's usage line.
        usage: &'static str,
    },
    /// `--stores` named something other than `memory` and `sqlite`.
    #[error("unknown store in `{value}`; {usage}")]
    UnknownStore {
        /// The list given.
        value: String,
        /// The benchmark's usage line.
        usage: &'static str,
    },
    /// The benchmark has no such flag.
    #[error("unknown option `{flag}`; {usage}")]
    UnknownOption {
        /// The flag.
        flag: String,
        /// The benchmark's usage line.
        usage: &'static str,
    },
}

/// Which stores a benchmark syncs into (`--stores memory,sqlite`; both by
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stores {
    /// The in-memory store.
    pub memory: bool,
    /// The SQLite store (a file).
    pub sqlite: bool,
}

impl Default for Stores {
    fn default() -> Self {
        Self {
            memory: true,
            sqlite: true,
        }
    }
}

/// The arguments left to read, and the usage line every error repeats.
#[derive(Debug)]
pub struct Flags {
    args: std::vec::IntoIter<String>,
    usage: &'static str,
}

impl Flags {
    /// Flags over `args` (without the program name).
    pub fn new<I, S>(args: I, usage: &'static str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            args: args
                .into_iter()
                .map(Into::into)
                .collect::<Vec<_>>()
                .into_iter(),
            usage,
        }
    }

    /// Flags over this process's arguments.
    pub fn from_env(usage: &'static str) -> Self {
        Self::new(std::env::args().skip(1), usage)
    }

    /// The next flag, or `None` at the end.
    pub fn next_flag(&mut self) -> Option<String> {
        self.args.next()
    }

    /// The value after `flag`.
    ///
    /// # Errors
    /// [`ArgError::MissingValue`] if there is none.
    pub fn value(&mut self, flag: &str) -> Result<String, ArgError> {
        self.args.next().ok_or_else(|| ArgError::MissingValue {
            flag: flag.to_string(),
            usage: self.usage,
        })
    }

    /// The whole number after `flag`; `_` may group its digits (`100_000`).
    ///
    /// # Errors
    /// [`ArgError::MissingValue`], or [`ArgError::NotANumber`] if it is not
    /// a whole number that fits `T`.
    pub fn number<T: FromStr>(&mut self, flag: &str) -> Result<T, ArgError> {
        let value = self.value(flag)?;
        value
            .replace('_', "")
            .parse()
            .map_err(|_| ArgError::NotANumber {
                flag: flag.to_string(),
                value,
                usage: self.usage,
            })
    }

    /// The value after `flag`, parsed as `T` (whose error says why it was
    /// refused).
    ///
    /// # Errors
    /// [`ArgError::MissingValue`], or [`ArgError::BadValue`] with `T`'s
    /// reason.
    pub fn parsed<T>(&mut self, flag: &str) -> Result<T, ArgError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let value = self.value(flag)?;
        value.parse().map_err(|e: T::Err| ArgError::BadValue {
            flag: flag.to_string(),
            reason: e.to_string(),
            value,
            usage: self.usage,
        })
    }

    /// The comma-separated store list after `flag` (`memory`, `sqlite`).
    ///
    /// # Errors
    /// [`ArgError::MissingValue`], or [`ArgError::UnknownStore`] for any
    /// other name.
    pub fn stores(&mut self, flag: &str) -> Result<Stores, ArgError> {
        let value = self.value(flag)?;
        let stores: Vec<&str> = value.split(',').map(str::trim).collect();
        if stores.iter().any(|s| *s != "memory" && *s != "sqlite") {
            return Err(ArgError::UnknownStore {
                value,
                usage: self.usage,
            });
        }
        Ok(Stores {
            memory: stores.contains(&"memory"),
            sqlite: stores.contains(&"sqlite"),
        })
    }

    /// The error for a flag the benchmark does not know.
    pub fn unknown(&self, flag: &str) -> ArgError {
        ArgError::UnknownOption {
            flag: flag.to_string(),
            usage: self.usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: &str = "usage: test [--n N]";

    fn flags(args: &[&str]) -> Flags {
        Flags::new(args.iter().copied(), USAGE)
    }

    #[test]
    fn numbers_may_group_their_digits() {
        let mut f = flags(&["--n", "100_000", "--m", "7"]);
        assert_eq!(f.next_flag().as_deref(), Some("--n"));
        assert_eq!(f.number::<usize>("--n"), Ok(100_000));
        assert_eq!(f.next_flag().as_deref(), Some("--m"));
        assert_eq!(f.number::<u64>("--m"), Ok(7));
        assert_eq!(f.next_flag(), None);
    }

    #[test]
    fn a_bad_number_is_a_typed_error_naming_flag_and_value() {
        for bad in ["ten", "-3", "1.5", "", "99999999999999999999999"] {
            let err = flags(&[bad]).number::<usize>("--n").unwrap_err();
            assert_eq!(
                err,
                ArgError::NotANumber {
                    flag: "--n".into(),
                    value: bad.into(),
                    usage: USAGE
                }
            );
            assert_eq!(
                err.to_string(),
                format!("`--n {bad}` is not a number; usage: test [--n N]")
            );
        }
    }

    #[test]
    fn a_flag_without_its_value_is_a_typed_error() {
        let mut f = flags(&["--n"]);
        let flag = f.next_flag().unwrap();
        let err = f.number::<usize>(&flag).unwrap_err();
        assert_eq!(
            err,
            ArgError::MissingValue {
                flag: "--n".into(),
                usage: USAGE
            }
        );
        assert_eq!(err.to_string(), "`--n` needs a value; usage: test [--n N]");
    }

    #[test]
    fn an_unknown_flag_is_a_typed_error() {
        let err = flags(&[]).unknown("--bogus");
        assert!(matches!(&err, ArgError::UnknownOption { flag, .. } if flag == "--bogus"));
        assert_eq!(
            err.to_string(),
            "unknown option `--bogus`; usage: test [--n N]"
        );
    }

    #[test]
    fn stores_are_memory_and_sqlite_only() {
        assert_eq!(
            flags(&["memory"]).stores("--stores"),
            Ok(Stores {
                memory: true,
                sqlite: false
            })
        );
        assert_eq!(
            flags(&["sqlite, memory"]).stores("--stores"),
            Ok(Stores::default())
        );
        let err = flags(&["memory,postgres"]).stores("--stores").unwrap_err();
        assert_eq!(
            err,
            ArgError::UnknownStore {
                value: "memory,postgres".into(),
                usage: USAGE
            }
        );
    }

    #[test]
    fn a_value_the_type_refuses_keeps_the_types_reason() {
        let err = flags(&["fast"]).parsed::<u8>("--level").unwrap_err();
        assert!(
            matches!(&err, ArgError::BadValue { flag, value, reason, .. }
                if flag == "--level" && value == "fast" && reason == "invalid digit found in string"),
            "{err:?}"
        );
        assert_eq!(flags(&["42"]).parsed::<u8>("--level"), Ok(42));
    }
}
