//! Mail: the deployment's settings (`settings`), the messages aup writes
//! (`letter`), who is due a reminder (`reminders`), posting a batch with its
//! claims and caps (`post`), and the SMTP connection (`send`). What was sent
//! is in the index's mail log (`archive::mail`).

pub mod fetch;
pub mod letter;
pub mod oauth;
pub mod post;
pub mod receipts;
pub mod reminders;
pub mod send;
pub mod settings;
