//! One file per pane: each owns its state, its keys' meaning and its drawing.

pub mod intake;
pub mod mechanics;
pub mod metrics;
pub mod queues;
pub mod waitlist;
