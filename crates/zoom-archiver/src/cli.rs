//! The command line: every command, flag and argument (`zoom-archiver --help`). Parsing
//! only; `main.rs` runs the commands. Kept in the library so tests can check every command
//! line the docs show against the real parser.

// clap turns doc comments into help text: the types and fields that have none here are
// plumbing (the parser, its subcommand slots) whose help comes from `#[command]`.
#![allow(missing_docs)]

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "zoom-archiver",
    version,
    about = "Compliance archive for Zoom Meetings and Zoom Phone recordings"
)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "ZOOM_ARCHIVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Storage backend.
    #[arg(long, global = true, value_enum, default_value = "local")]
    pub backend: Backend,
    /// Log filter (e.g. `info`, `zoom_archiver=debug`); logs go to stderr.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Backend {
    /// Filesystem objects + SQLite metadata and queue (`[storage] data_dir`).
    Local,
    /// S3 + DynamoDB + SQS + Secrets Manager (`[aws]`).
    Aws,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start a Zoom simulator and archive its sample account into ./zoom-archive-demo/.
    Demo {
        /// Where to put the demo archive.
        #[arg(long, default_value = "zoom-archive-demo")]
        dir: PathBuf,
    },
    /// Poll every tenant on its interval and archive what is new, until stopped.
    Run {
        /// One full cycle (poll every tenant, then work off the queue) and exit.
        #[arg(long)]
        once: bool,
        /// Serve `/metrics` (Prometheus text) and `/healthz` on this address (e.g.
        /// `127.0.0.1:9464`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// On SIGTERM or Ctrl-C: take no new task and let the downloads in hand finish for
        /// this long, then exit (a second signal exits at once). What is left is taken up
        /// by the next run.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        grace: Duration,
    },
    /// What is archived, pending, failed and stale, per tenant and source.
    ///
    /// Per tenant and source: files archived, pending, downloading, failed and gone (with
    /// the oldest pending age), the last successful poll and the watermark; the queue
    /// (ready, in flight, dead letters); today's Zoom quota use against the budget; the
    /// last reconciled day. Read from counts and indexes. Exit 0; an unknown tenant exits 2.
    Status {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: StatusFormat,
    },
    /// Queue failed files and dead-lettered tasks again.
    ///
    /// Each retried file records who
    /// retried it and when, and keeps the failure it replaced in its history. Exit 0, or 1
    /// when the store or queue failed.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["file", "failed", "dead_letters"])))]
    Retry {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// One file, by its Zoom file id.
        #[arg(long)]
        file: Option<String>,
        /// Every failed file.
        #[arg(long)]
        failed: bool,
        /// Every dead-lettered task (its file is retried when it failed; the letter is
        /// removed).
        #[arg(long)]
        dead_letters: bool,
        /// Say what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fixity: read every stored object back and check its size and SHA-256.
    ///
    /// Every stored object (or a random sample) is checked against its record. Reports each object missing, altered, unreadable or
    /// unknown (stored without a record) with its key. Exit 0 when all are intact, 1
    /// otherwise.
    Verify {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only conversations on or after this UTC day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Only conversations on or before this UTC day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Check a random sample of this many files (no check for unknown objects).
        #[arg(long)]
        sample: Option<usize>,
        /// Check a sealed UTC day instead (YYYY-MM-DD): the signatures, Merkle roots and
        /// chain of its manifests, the audit chain up to the seal, every listed object's
        /// bytes and CDR. One line per problem; exit 0 when intact, 1 otherwise.
        #[arg(long, conflicts_with_all = ["from", "to", "sample", "object"])]
        day: Option<chrono::NaiveDate>,
        /// Print the inclusion proof of one stored object (its key) in the manifest of its
        /// day: the leaf, the Merkle path and the signed root. Exit 0 when it verifies.
        #[arg(long, conflicts_with_all = ["from", "to", "sample"])]
        object: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: StatusFormat,
    },
    /// Seal a final, reconciled UTC day: its signed manifest (`reconcile` seals each day
    /// as it becomes final).
    ///
    /// Sealing a sealed day again writes nothing when nothing changed ("already sealed"),
    /// else an addendum listing what changed or appeared since; a sealed manifest is never
    /// rewritten. Exit 0, or 1 when a day could not be sealed.
    Seal {
        /// The UTC day (YYYY-MM-DD).
        #[arg(long)]
        day: chrono::NaiveDate,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete at Zoom what is sealed, verified and not held (tenants with `delete_at_zoom`).
    ///
    /// Only files whose day is sealed, whose object a manifest signed by a trusted key
    /// lists, whose last `verify` after the seal found it intact, and that no legal hold
    /// holds; each deletion is recorded on the file and in the audit trail with Zoom's
    /// answer. One line per file: deleted, gone, refused (and why), failed, deferred. Exit 0,
    /// or 1 when a delete failed or the run stopped.
    ZoomDelete {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Say what would be deleted; call Zoom for nothing, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The key that signs the daily manifests.
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
    /// Check the configuration, Zoom access and the stores, before they fail a poll.
    ///
    /// Checks the configuration, the Zoom token, the OAuth scopes each source needs, the
    /// Archiving API, the proxy, and the store and queue. One line per check: ok, or what
    /// to fix. Exit 0 when all pass, 1 otherwise.
    Doctor {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print shell completions for `zoom-archiver` (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of `zoom-archiver`.
    Man,
    /// Legal holds: place one on a matter's conversations, or release it (two operators).
    Hold {
        #[command(subcommand)]
        what: HoldCommand,
    },
    /// Delete stored objects past their retention that no legal hold holds (the record
    /// stays, marked disposed; each disposal is audited). Exit 0, or 1 when one was refused.
    Dispose {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Say what would be disposed of; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// AWS resources.
    Aws {
        #[command(subcommand)]
        what: AwsCommand,
    },
    /// Write "recording failed" CDRs for conversations without a recording.
    ///
    /// Find calls and meetings of recorded users without a recording, write "recording
    /// failed" CDRs, and print per-day counts (archived, not archived, not recorded,
    /// pending). Exit 1 when a day had to be deferred (daily budget) or failed.
    Reconcile {
        /// One UTC day (YYYY-MM-DD); default: every day since the last one reconciled.
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Expected Zoom API calls and storage a day for a tenant's traffic.
    ///
    /// Expected Zoom API calls per rate-limit category and day against Zoom's Business+
    /// limits, and storage per day, for a tenant's traffic (no configuration file needed).
    /// Assumptions (defaults): 10 % of meetings not archived, 20 % of archived meetings
    /// without individual files, 85 % of calls connected, 2.5 participants a meeting,
    /// calls 5 min, meetings 32.5 min, MP3 75 kbps, M4A 128 kbps, MP4 1 Mbps.
    Estimate {
        /// Meetings held in the account per day (all of them).
        #[arg(long)]
        meetings_per_day: u64,
        /// Zoom Phone calls of the account per day (all of them).
        #[arg(long)]
        calls_per_day: u64,
        /// Poll interval.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        interval: Duration,
        /// Include the daily CDR reconciliation.
        #[arg(long)]
        reconcile: bool,
        /// Users configured for recording (default: every user).
        #[arg(long, requires = "users")]
        recorded_users: Option<u64>,
        /// All users of the account (with --recorded-users).
        #[arg(long)]
        users: Option<u64>,
        /// Share of meetings Zoom does not archive.
        #[arg(long, default_value_t = 0.10)]
        unarchived_share: f64,
        /// Share of archived meetings without individual (per-participant) files.
        #[arg(long, default_value_t = 0.20)]
        no_individual_share: f64,
        /// Share of calls connected (only connected calls are recorded).
        #[arg(long, default_value_t = 0.85)]
        connected_share: f64,
        /// Zoom Phone MP3 bitrate in kbps (spec: 40-75).
        #[arg(long, default_value_t = 75.0)]
        phone_kbps: f64,
        /// Whole-meeting MP4 bitrate in kbps (audio + video).
        #[arg(long, default_value_t = 1000.0)]
        mp4_kbps: f64,
    },
    /// Export CDRs.
    Cdrs {
        /// Output format (default: jsonl; `cdrs show`: indented JSON).
        #[arg(long, value_enum, global = true)]
        format: Option<Format>,
        /// Only this tenant.
        #[arg(long, global = true)]
        tenant: Option<String>,
        /// Only conversations starting at or after this time (RFC 3339).
        #[arg(long, global = true)]
        from: Option<DateTime<Utc>>,
        /// Only conversations starting before this time (RFC 3339).
        #[arg(long, global = true)]
        to: Option<DateTime<Utc>>,
        /// Only this user (email or extension).
        #[arg(long, global = true)]
        user: Option<String>,
        /// Only this direction.
        #[arg(long, value_enum, global = true)]
        direction: Option<DirectionArg>,
        /// Only conversations with this phone number (caller, callee or participant).
        #[arg(long, global = true)]
        number: Option<String>,
        /// Only "recording failed" CDRs.
        #[arg(long, global = true)]
        failed: bool,
        #[command(subcommand)]
        show: Option<CdrsCommand>,
    },
    /// The audit trail: list its entries, or verify each tenant's hash chain.
    ///
    /// Every configuration load, read (`cdrs show`), export (`cdrs`), retry, fixity check
    /// and archived file is an entry of its tenant's chain (time, actor, action, objects,
    /// reason, result, and the SHA-256 chaining it to the previous entry). `audit verify`
    /// prints one line per tenant, `ok` with the head or the first broken link; exit 0 when
    /// every chain is intact, 1 otherwise. An unknown tenant exits 2.
    Audit {
        /// Only this tenant.
        #[arg(long, global = true)]
        tenant: Option<String>,
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// Only entries before this time (RFC 3339).
        #[arg(long)]
        to: Option<DateTime<Utc>>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: AuditFormat,
        #[command(subcommand)]
        what: Option<AuditCommand>,
    },
    /// Serve the review UI: search, play and export conversations in a browser, and the
    /// JSON API under /api/v1 (accounts: `users`). Every search, play, download and export
    /// is recorded in the audit trail.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Mark the session cookie `Secure` (when served behind TLS).
        #[arg(long)]
        secure_cookies: bool,
        /// Reason asked for before the first play of each file per session.
        #[arg(long, value_enum, default_value = "required")]
        play_reason: ReasonArg,
        /// Reason asked for before an export.
        #[arg(long, value_enum, default_value = "required")]
        export_reason: ReasonArg,
        /// Where export bundles are written (default: `data_dir/exports`).
        #[arg(long)]
        exports_dir: Option<PathBuf>,
    },
    /// Accounts of the review UI (`serve`).
    Users {
        #[command(subcommand)]
        what: UsersCommand,
    },
    /// Export conversations as a ZIP bundle: native media, each CDR as JSON, manifest.json,
    /// MANIFEST.sha256 and an index.html that plays offline. Recorded in the audit trail.
    Export {
        /// The search, as the API's query string (`user=bob@acme.example&from=2026-12-01`:
        /// tenant, user, number, from, to, source, direction, failed, platform_call_id).
        #[arg(long, default_value = "")]
        query: String,
        /// The ZIP file to write.
        #[arg(long)]
        out: PathBuf,
        /// Why (recorded in the audit trail and the bundle's manifest).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Internal,
    Inbound,
    Outbound,
    External,
    Conference,
}

impl From<DirectionArg> for archiver_core::Direction {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Internal => Self::Internal,
            DirectionArg::Inbound => Self::Inbound,
            DirectionArg::Outbound => Self::Outbound,
            DirectionArg::External => Self::External,
            DirectionArg::Conference => Self::Conference,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum CdrsCommand {
    /// Print one conversation (every CDR with this platform call id: meeting UUID or phone
    /// call id) with its media, as indented JSON. Exit 1 when there is none.
    Show {
        /// The meeting UUID or phone call id.
        platform_call_id: String,
    },
}

#[derive(Subcommand)]
pub enum HoldCommand {
    /// Hold every file of a user's conversations, one CDR's, or a time range's: they
    /// cannot be disposed of or deleted until the matter is released.
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["user", "cdr", "from"])))]
    Add {
        /// The tenant (needed when the configuration has several).
        #[arg(long)]
        tenant: Option<String>,
        /// The matter (case, investigation) the hold is for.
        #[arg(long)]
        matter: String,
        /// Every conversation of this user (email or extension).
        #[arg(long)]
        user: Option<String>,
        /// This CDR's conversation.
        #[arg(long)]
        cdr: Option<String>,
        /// Conversations starting at or after this time (RFC 3339; with --to).
        #[arg(long, requires = "to")]
        from: Option<DateTime<Utc>>,
        /// Conversations starting before this time (RFC 3339).
        #[arg(long, requires = "from")]
        to: Option<DateTime<Utc>>,
        /// Why (recorded in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Ask for the release of a matter's hold; a second, different operator confirms it
    /// with `--confirm-by NAME`.
    Release {
        /// The tenant (needed when the configuration has several).
        #[arg(long)]
        tenant: Option<String>,
        /// The matter.
        #[arg(long)]
        matter: String,
        /// Confirm a release another operator asked for (your name).
        #[arg(long)]
        confirm_by: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create the Ed25519 signing key of the embedded default (`[custody] signing_key`,
    /// mode 0600) and export its public key to `{signing_key}.pub`. Never replaces a key.
    Init,
    /// Print the public key that verifies the manifests (the KMS key's on AWS), with its
    /// key id, as PEM; `--out FILE` also writes it there (for auditors).
    Show {
        /// Also write it to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Create the bucket, table, queue + DLQ named in `[aws]` (and missing Zoom secrets) if absent.
    Init,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk each tenant's chain and name its first broken link (an entry altered, deleted
    /// or out of place). Exit 0 when all are intact, 1 otherwise.
    Verify,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AuditFormat {
    Table,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReasonArg {
    Required,
    Optional,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RoleArg {
    /// Sees only the tenants and users granted.
    Reviewer,
    /// Sees every tenant.
    Admin,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create an account; prints its one-time password (to be changed at the first login).
    Add {
        /// Login name.
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Print a new API token of an account (`Authorization: Bearer TOKEN`); only its hash
    /// is stored.
    Token {
        /// Login name.
        name: String,
    },
    /// Let a reviewer see a tenant, or one user of it.
    Grant {
        /// Login name.
        name: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Only this user (email or extension).
        #[arg(long)]
        user: Option<String>,
    },
    /// List the accounts and their grants.
    List,
}
