//! Mail: the deployment's settings (`settings`), the messages aup writes
//! (`invitation`), and sending them through the school's SMTP server within
//! its caps and window (`send`). What was sent is in the index's mail log
//! (`archive::mail`).

pub mod invitation;
pub mod send;
pub mod settings;
