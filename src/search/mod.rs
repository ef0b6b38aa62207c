//! Full-text search over what people can read: [`query`] (the query
//! language) and [`snippet`] (what matched, as data). The index itself
//! lives in the store and follows the log (see `store::sqlite::search`).

pub mod query;
pub mod snippet;

pub use query::Query;
