//! How many descriptors a program may open, raised to what it needs.
//!
//! Every socket is a descriptor, and a process may hold only as many as its
//! soft limit (`RLIMIT_NOFILE`, `ulimit -n`), often 1024: a server for ten
//! thousand clients must raise it first. An unprivileged process may raise
//! its soft limit up to its hard limit (`ulimit -Hn`), and no further.
//! Nothing here is asyncio's: Python programs call
//! `resource.setrlimit(resource.RLIMIT_NOFILE, ...)` for the same.

use std::fmt;
use std::io;

/// The limit could not be raised to what was needed.
#[derive(Debug)]
pub enum DescriptorLimitError {
    /// The hard limit is below what the program needs.
    HardLimitTooLow {
        /// Descriptors needed.
        needed: u64,
        /// The hard limit, beyond which only root can go.
        hard: u64,
    },
    /// `getrlimit` or `setrlimit` failed.
    Os(io::Error),
}

impl fmt::Display for DescriptorLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HardLimitTooLow { needed, hard } => write!(
                f,
                "this needs {needed} open descriptors, and the hard limit is {hard}: \
                 raise it as root (`ulimit -Hn {needed}` in the shell that runs this, \
                 or `nofile` in /etc/security/limits.conf), or ask for fewer connections"
            ),
            Self::Os(error) => write!(f, "cannot read or set the descriptor limit: {error}"),
        }
    }
}

impl std::error::Error for DescriptorLimitError {}

/// Raise this process's soft descriptor limit to its hard limit, and
/// check that it allows `needed` descriptors; returns the new soft limit.
///
/// # Errors
/// `HardLimitTooLow` if even the hard limit is below `needed`; `Os` if the
/// limit cannot be read or set.
pub fn raise_descriptor_limit(needed: u64) -> Result<u64, DescriptorLimitError> {
    let (soft, hard) =
        rlimit::getrlimit(rlimit::Resource::NOFILE).map_err(DescriptorLimitError::Os)?;
    if hard < needed {
        return Err(DescriptorLimitError::HardLimitTooLow { needed, hard });
    }
    if soft < hard {
        rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard)
            .map_err(DescriptorLimitError::Os)?;
    }
    Ok(hard)
}

/// Lower this process's soft descriptor limit to `limit`, to see a
/// program run out of descriptors (the hard limit stays, so it can be
/// raised again).
///
/// # Errors
/// `Os` if the limit cannot be read or set.
pub fn lower_descriptor_limit(limit: u64) -> Result<(), DescriptorLimitError> {
    let (_, hard) =
        rlimit::getrlimit(rlimit::Resource::NOFILE).map_err(DescriptorLimitError::Os)?;
    rlimit::setrlimit(rlimit::Resource::NOFILE, limit.min(hard), hard)
        .map_err(DescriptorLimitError::Os)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_rises_to_the_hard_one() {
        let hard = raise_descriptor_limit(0).unwrap();
        assert_eq!(
            rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap(),
            (hard, hard)
        );
    }

    #[test]
    fn a_need_beyond_the_hard_limit_says_what_to_do() {
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        let Some(needed) = hard.checked_add(1) else {
            return; // unlimited: nothing is beyond it
        };
        let error = raise_descriptor_limit(needed).unwrap_err();
        assert!(matches!(
            error,
            DescriptorLimitError::HardLimitTooLow { .. }
        ));
        assert!(
            error.to_string().contains(&format!("ulimit -Hn {needed}")),
            "{error}"
        );
    }
}
