//! # eks-remedy core
//!
//! Finds the node and networking faults that break Amazon EKS nodes when clusters scale, from the
//! bundle the EKS Logs Collector writes. No AWS SDK here: the analyzer runs anywhere.
//!
//! ## Crate map, in import order
//!
//! Each module imports only from modules above it in this table, so the core reads top to bottom
//! and no change below can reach back up. `tests/tests/layers.rs` reads this table and every
//! `crate::` path in `src/` and fails on an edge that points up (which is what any cycle needs).
//! A new module gets a row here at the place its imports allow.
//!
//! | module | what |
//! |---|---|
//! | [`stamp`] | the logs' timestamp formats, resolved to UTC |
//! | [`source`] | what a member is, from its path |
//! | [`escape`] | escaping of bundle text for terminals, HTML and Markdown |
//! | [`bundle`] | streaming reader: `.tar.gz`, `.tar`, leading folder, extracted folder; limits; damage |
//! | [`report`] | the JSON contract, and evidence excerpts |
//! | [`occurrences`] | bounded counts, times and sample lines per signature |
//! | [`signature`] | what the scanner counts: signatures and the member groups they apply to |
//! | [`facts`] | parsed structured files (configs, iptables, io throttling), marker lines, the cluster |
//! | [`eni`] | ENI/IP limits for the max-pods ceiling |
//! | [`rule`] | the rule model: metadata, signatures, a pure evaluation |
//! | [`scan`] | one literal pass over all log lines for every signature |
//! | [`rules`] | the catalogue, one file per rule, and its literals |
//! | [`correlate`] | cause-and-effect links, root cause, timeline events |
//! | [`analyze`] | the whole analysis, tying the above together |
//! | [`timeline`] | the timeline model: window, breaks, ticks, lanes, non-overlapping labels |
//! | [`render`] | text, JSON, Markdown and HTML output |
//! | [`plan`] | remediation plans: findings → changes, modes and guards (no AWS calls) |
//! | [`notify`] | chat messages: the incident view and one renderer per target (Slack, Teams, Q, webhook) |
//!
//! Why this order and not another: the [`report`] types (`Evidence`, `Finding`, `Severity`) are
//! what every producer writes, so the contract sits low, right after the reader whose limits it
//! records; [`scan`] compiles the signatures the rules declare and fills [`facts`], so it comes
//! after both and before the catalogue that owns the literal list; [`timeline`] is a model drawn by
//! [`render`] and shared with [`plan`] and [`notify`], which come last as consumers of reports.

pub mod analyze;
pub mod bundle;
pub mod correlate;
pub mod eni;
pub mod escape;
pub mod facts;
pub mod notify;
pub mod occurrences;
pub mod plan;
pub mod render;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod signature;
pub mod source;
pub mod stamp;
pub mod timeline;

pub use analyze::{Analyzer, Options};
pub use bundle::{BundleError, Limits};
pub use report::{Finding, Report, Severity};
