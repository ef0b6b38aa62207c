//! What a message's text becomes: [`markdown`] rendered once to safe HTML
//! (with mentions and emoji), and [`emoji`] (shortcodes, reactions, the
//! picker's data).

pub mod emoji;
pub mod markdown;

pub use markdown::render;
