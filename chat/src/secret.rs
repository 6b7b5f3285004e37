//! Secrets and endpoints whose text must never reach a log, an error or a `Debug` dump.
//!
//! The notifier function reads secrets from Secrets Manager (or an SSM SecureString); the CLI from
//! an environment variable or a file. Never from a command-line argument: those are visible to
//! every user of the machine (`ps`) and kept in shell histories.

use std::fmt;
use std::path::Path;

use http::Uri;

/// A token, webhook URL or signing secret. `Debug` shows `Secret(<redacted>)`; there is no
/// `Display`; the text is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a secret could not be read. Names the variable or file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is not set (or empty).
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The variable is not valid UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(String),
    /// The file could not be read.
    #[error("cannot read the secret file {path}: {kind}")]
    File {
        /// The file.
        path: String,
        /// What went wrong (the I/O error kind, not the file's text).
        kind: std::io::ErrorKind,
    },
    /// The file or variable is empty.
    #[error("{0} is empty")]
    Empty(String),
}

impl Secret {
    /// Wraps a value obtained from a secret store. Surrounding whitespace (a trailing newline in a
    /// file) is dropped.
    pub fn new(value: impl Into<String>) -> Secret {
        let v: String = value.into();
        Secret(v.trim().to_string())
    }

    /// The secret itself: only for building the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Secret, SecretError> {
        match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Err(SecretError::MissingEnv(var.into())),
            Ok(v) => Ok(Secret::new(v)),
            Err(std::env::VarError::NotPresent) => Err(SecretError::MissingEnv(var.into())),
            Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::NotUnicode(var.into())),
        }
    }

    /// Reads a file holding only the secret (e.g. a mounted secret).
    pub fn from_file(path: &Path) -> Result<Secret, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
            path: path.display().to_string(),
            kind: e.kind(),
        })?;
        let s = Secret::new(text);
        if s.is_empty() {
            return Err(SecretError::Empty(path.display().to_string()));
        }
        Ok(s)
    }
}

/// Why an endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not an absolute URL.
    #[error("{target}: the URL is not an absolute http(s) URL")]
    Invalid {
        /// The target's name.
        target: String,
    },
    /// Plain `http` to a host other than the loopback interface (tests use loopback).
    #[error("{target}: the URL must use https")]
    NotHttps {
        /// The target's name.
        target: String,
    },
    /// A retired Office 365 connector URL (`webhook.office.com`).
    #[error("{target}: Office 365 connector webhooks are retired; create a Teams Workflows webhook instead (see the chat README)")]
    RetiredConnector {
        /// The target's name.
        target: String,
    },
}

/// A validated URL that may carry a secret (webhook URLs are bearer credentials). `Debug` shows
/// only the scheme and host.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    uri: Uri,
    secret: Secret,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Endpoint({}://{}/<redacted>)",
            self.uri.scheme_str().unwrap_or("?"),
            self.uri.host().unwrap_or("?")
        )
    }
}

impl Endpoint {
    /// Validates `url` for the target `target`: absolute, `https` (plain `http` only to the
    /// loopback interface), and not a retired Office 365 connector.
    pub fn parse(target: &str, url: &Secret) -> Result<Endpoint, EndpointError> {
        let invalid = || EndpointError::Invalid {
            target: target.into(),
        };
        let uri: Uri = url.expose().parse().map_err(|_| invalid())?;
        let host = uri.host().ok_or_else(invalid)?.to_ascii_lowercase();
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if is_loopback(&host) => {}
            Some("http") => {
                return Err(EndpointError::NotHttps {
                    target: target.into(),
                })
            }
            _ => return Err(invalid()),
        }
        if host == "webhook.office.com" || host.ends_with(".webhook.office.com") {
            return Err(EndpointError::RetiredConnector {
                target: target.into(),
            });
        }
        Ok(Endpoint {
            uri,
            secret: url.clone(),
        })
    }

    /// The URL, for the request only.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// This endpoint with `path` appended (for an API base such as `https://slack.com/api/`).
    pub fn join(&self, target: &str, path: &str) -> Result<Endpoint, EndpointError> {
        let base = self.secret.expose().trim_end_matches('/');
        Endpoint::parse(target, &Secret::new(format!("{base}/{path}")))
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secrets_and_endpoints_is_redacted() {
        let s = Secret::new("xoxb-123-456-abcdef\n");
        assert_eq!(s.expose(), "xoxb-123-456-abcdef");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        let e = Endpoint::parse(
            "ops",
            &Secret::new("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
        )
        .expect("valid");
        let d = format!("{e:?}");
        assert!(!d.contains("XXXXSECRET") && !d.contains("T000"), "{d}");
        assert!(d.contains("hooks.slack.com"));
    }

    #[test]
    fn only_https_or_loopback_http_and_never_retired_connectors() {
        let ok = |u: &str| Endpoint::parse("t", &Secret::new(u));
        assert!(ok("https://example.com/x").is_ok());
        assert!(ok("http://127.0.0.1:8080/x").is_ok());
        assert_eq!(
            ok("http://example.com/x?token=abc"),
            Err(EndpointError::NotHttps { target: "t".into() })
        );
        assert_eq!(
            ok("not a url"),
            Err(EndpointError::Invalid { target: "t".into() })
        );
        assert_eq!(
            ok("https://contoso.webhook.office.com/webhookb2/abc"),
            Err(EndpointError::RetiredConnector { target: "t".into() })
        );
        let e = ok("http://example.com/x?token=abc").expect_err("refused");
        assert!(!e.to_string().contains("token=abc"));
    }

    #[test]
    fn join_appends_a_method_to_an_api_base() {
        let base = Endpoint::parse("t", &Secret::new("http://127.0.0.1:9/api/")).expect("valid");
        let m = base.join("t", "chat.update").expect("valid");
        assert_eq!(m.uri().path(), "/api/chat.update");
    }

    #[test]
    fn missing_env_names_the_variable() {
        let e = Secret::from_env("EKS_REMEDY_SURELY_UNSET_VARIABLE").expect_err("unset");
        assert!(e.to_string().contains("EKS_REMEDY_SURELY_UNSET_VARIABLE"));
    }
}
