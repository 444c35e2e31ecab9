//! Services: every business rule of the archiver.

pub mod select;
