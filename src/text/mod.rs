//! What a message's text becomes: [`markdown`] rendered once to safe HTML
//! (with mentions and emoji) that [`html`] writes from an allowlist, and
//! [`emoji`] (shortcodes, reactions, the picker's data).

pub mod emoji;
pub mod html;
pub mod markdown;

pub use markdown::render;
