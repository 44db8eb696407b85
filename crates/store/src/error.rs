//! The store's one error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object named does not exist.
    #[error("{kind} `{id}` does not exist")]
    NotFound {
        /// Kind of object.
        kind: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// A referenced object (in a request body) does not exist.
    #[error("{field} refers to `{id}`, which does not exist")]
    MissingReference {
        /// The field holding the reference.
        field: &'static str,
        /// The id it holds.
        id: String,
    },
    /// The change would break a uniqueness or structure rule.
    #[error("{0}")]
    Conflict(String),
    /// A value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The database cannot be reached right now; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Stored data that cannot be read back (a bug or tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::Tls(_) | E::WorkerCrashed => {
                StoreError::Unavailable(e)
            }
            E::Database(db) => {
                let code = db.code().unwrap_or_default();
                // PostgreSQL: 08xxx connection exceptions, 57Pxx shutdown / cannot connect now.
                if code.starts_with("08") || code.starts_with("57P") {
                    StoreError::Unavailable(e)
                } else if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
                    StoreError::Conflict(
                        "an object with the same unique value already exists".into(),
                    )
                } else {
                    StoreError::Database(e)
                }
            }
            E::Protocol(_) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
