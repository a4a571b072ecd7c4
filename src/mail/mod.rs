//! Mail: the deployment's settings (`settings`), the messages aup writes
//! (`letter`), who is due a reminder (`reminders`), who a run would mail
//! (`plan`), posting a batch with its claims and caps (`post`), the SMTP
//! connection (`send`), OAuth tokens (`oauth`, `service_account`), the mailbox (`fetch`) and
//! the replies to returns (`receipts`). What was sent is in the index's mail
//! log (`archive::mail`).

pub mod fetch;
pub mod letter;
pub mod oauth;
pub mod plan;
pub mod post;
pub mod receipts;
pub mod reminders;
pub mod send;
pub mod service_account;
pub mod settings;
