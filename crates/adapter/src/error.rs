//! The adapter's one error type.

/// What went wrong in the adapter.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The mapping file cannot be used; the message names the file, the line and the problem.
    #[error("{0}")]
    Mapping(String),
}
