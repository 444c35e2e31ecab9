//! Where a download may go, and which origins receive the access token.
//!
//! A download URL comes from a listing, so it is not trusted:
//!
//! - **Allowed hosts**: `https` on a Zoom host (`zoom.us`, `zoom.com` or a subdomain of
//!   either), the configured API host or OAuth host (any port), and, when the API host is a
//!   loopback host (the simulator, a test), any loopback host. Plain `http` only to a
//!   loopback host.
//! - **Redirects** follow the same rule and never go to an IP address literal (private,
//!   loopback, link-local, unspecified or public), except a loopback one when the API host
//!   is loopback.
//! - **The access token** goes only to the configured API origin and OAuth origin (scheme,
//!   host and port). The OAuth host already receives the client secret; it is also Zoom's
//!   web host (`zoom.us`), where Zoom's archive and phone download URLs point and which
//!   asks for the token. Any other host (the file host, a CDN) never sees it.
//!
//! A refusal is [`ZoomError::Refused`] (not retryable), naming the host and
//! the rule, never the URL (a download URL may carry a signed query).

use archiver_core::ZoomError;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// The rule a refused host broke, for the error message.
const NOT_ALLOWED: &str =
    "not a Zoom host over https (zoom.us, zoom.com or a subdomain) nor the configured API host";

/// Scheme, host (lower case, without a trailing dot) and port of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: Host<String>,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: normalised_host(url)?,
            port: url.port_or_known_default(),
        })
    }
}

/// The host of `url`, domains in lower case without a trailing dot, IPv4-mapped IPv6
/// addresses as IPv4.
fn normalised_host(url: &Url) -> Option<Host<String>> {
    Some(match url.host()? {
        Host::Domain(d) => Host::Domain(d.trim_end_matches('.').to_ascii_lowercase()),
        Host::Ipv4(ip) => Host::Ipv4(ip),
        Host::Ipv6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => Host::Ipv4(v4),
            None => Host::Ipv6(ip),
        },
    })
}

/// `zoom.us`, `zoom.com`, or a name ending with `.zoom.us` / `.zoom.com`.
fn is_zoom_domain(name: &str) -> bool {
    ["zoom.us", "zoom.com"].iter().any(|zoom| {
        name == *zoom
            || name
                .strip_suffix(zoom)
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|sub| !sub.is_empty() && !sub.ends_with('.'))
    })
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Domain(d) => d == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// What kind of address an IP literal is, for the error message.
fn address_kind(host: &Host<String>) -> Option<&'static str> {
    match host {
        Host::Domain(_) => None,
        Host::Ipv4(ip) => Some(v4_kind(*ip)),
        Host::Ipv6(ip) => Some(v6_kind(*ip)),
    }
}

fn v4_kind(ip: Ipv4Addr) -> &'static str {
    if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if ip.is_unspecified() {
        "unspecified"
    } else {
        "public"
    }
}

fn v6_kind(ip: Ipv6Addr) -> &'static str {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if first & 0xfe00 == 0xfc00 {
        "private (unique local)"
    } else if first & 0xffc0 == 0xfe80 {
        "link-local"
    } else {
        "public"
    }
}

/// Host and explicit port of a URL: what a refusal names (never the path or query).
struct HostPort<'a>(&'a Url);

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.host_str().unwrap_or("(none)"))?;
        match self.0.port() {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

fn refused(message: String) -> ZoomError {
    ZoomError::Refused(message)
}

/// The download rules of one client, derived from its configured endpoints.
#[derive(Clone, Debug)]
pub(crate) struct HostPolicy {
    api: Origin,
    oauth: Option<Origin>,
    api_is_loopback: bool,
}

impl HostPolicy {
    /// The rules for a client whose API base is `api` and whose token endpoint is `oauth`;
    /// `None` when the API base has no host.
    pub(crate) fn new(api: &Url, oauth: &Url) -> Option<HostPolicy> {
        let api = Origin::of(api)?;
        Some(HostPolicy {
            api_is_loopback: is_loopback(&api.host),
            oauth: Origin::of(oauth),
            api,
        })
    }

    /// Whether a request to `url` may carry the access token: the API origin or the OAuth
    /// origin, exactly (scheme, host and port).
    pub(crate) fn gets_token(&self, url: &Url) -> bool {
        Origin::of(url).is_some_and(|o| o == self.api || self.oauth.as_ref() == Some(&o))
    }

    /// Checks a download URL from a listing, before any request.
    pub(crate) fn check_download(&self, url: &Url) -> Result<(), ZoomError> {
        self.check(url)
            .map_err(|why| refused(format!("refused download host {}: {why}", HostPort(url))))
    }

    /// Checks the target `to` of a redirect answered by `from`, before following it: the
    /// host rule of [`HostPolicy::check_download`], and no IP address literal (unless a
    /// loopback one while the API host is loopback).
    pub(crate) fn check_redirect(&self, to: &Url, from: &Url) -> Result<(), ZoomError> {
        let refuse = |why: String| {
            refused(format!(
                "refused download redirect to host {} (from {}): {why}",
                HostPort(to),
                HostPort(from)
            ))
        };
        if let Some(host) = normalised_host(to)
            && let Some(kind) = address_kind(&host)
            && !(self.api_is_loopback && is_loopback(&host))
        {
            return Err(refuse(format!("an IP address literal ({kind})")));
        }
        self.check(to).map_err(refuse)
    }

    /// The host rule shared by download URLs and redirect targets.
    fn check(&self, url: &Url) -> Result<(), String> {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") {
            return Err(format!("unsupported scheme {scheme}"));
        }
        let Some(host) = normalised_host(url) else {
            return Err("no host".into());
        };
        let zoom = matches!(&host, Host::Domain(d) if is_zoom_domain(d));
        let configured =
            host == self.api.host || self.oauth.as_ref().is_some_and(|o| o.host == host);
        let loopback = is_loopback(&host);
        if !(zoom || configured || (self.api_is_loopback && loopback)) {
            return Err(NOT_ALLOWED.into());
        }
        if scheme == "http" && !loopback {
            return Err("plain http is allowed only to a loopback host".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(api: &str, oauth: &str) -> HostPolicy {
        HostPolicy::new(&Url::parse(api).unwrap(), &Url::parse(oauth).unwrap()).unwrap()
    }

    fn zoom() -> HostPolicy {
        policy("https://api.zoom.us/v2", "https://zoom.us/oauth/token")
    }

    fn sim() -> HostPolicy {
        policy(
            "http://127.0.0.1:4000/v2",
            "http://127.0.0.1:4001/oauth/token",
        )
    }

    fn download(p: &HostPolicy, url: &str) -> Result<(), String> {
        p.check_download(&Url::parse(url).unwrap())
            .map_err(|e| e.to_string())
    }

    fn redirect(p: &HostPolicy, to: &str) -> Result<(), String> {
        let from = Url::parse("https://zoom.us/rec/archive/download/x").unwrap();
        p.check_redirect(&Url::parse(to).unwrap(), &from)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn zoom_domains_end_at_a_label_boundary() {
        for ok in [
            "zoom.us",
            "zoom.com",
            "file.zoom.us",
            "us06web.zoom.us",
            "a.b.zoom.com",
        ] {
            assert!(is_zoom_domain(ok), "{ok}");
        }
        for bad in [
            "evilzoom.us",
            "zoom.us.evil.com",
            "zoom.usa",
            ".zoom.us",
            "a..zoom.us",
            "zoomus",
            "zoom.co",
        ] {
            assert!(!is_zoom_domain(bad), "{bad}");
        }
    }

    #[test]
    fn production_downloads_go_to_zoom_over_https_only() {
        let p = zoom();
        for ok in [
            "https://zoom.us/rec/archive/download/x?access_token=t",
            "https://file.zoom.us/file?jwt=x",
            "https://ZOOM.US./x",
            "https://api.zoom.us:8443/x",
            "https://zoom.com/x",
        ] {
            assert_eq!(download(&p, ok), Ok(()), "{ok}");
        }
        let refused = |url: &str, why: &str| {
            let e = download(&p, url).unwrap_err();
            assert!(
                e.contains("refused download host") && e.contains(why),
                "{url}: {e}"
            );
            assert!(!e.contains('?') && !e.contains("/x"), "{e}");
            e
        };
        let e = refused("http://169.254.169.254/latest/meta-data", "not a Zoom host");
        assert!(e.contains("169.254.169.254"), "{e}");
        refused("https://10.0.0.5/x", "not a Zoom host");
        refused("https://evilzoom.us/x?jwt=secret", "not a Zoom host");
        refused("http://zoom.us/x", "plain http");
        refused("http://127.0.0.1:8080/x", "not a Zoom host");
        refused("http://localhost/x", "not a Zoom host");
        refused("https://[::1]/x", "not a Zoom host");
        refused("ftp://zoom.us/x", "unsupported scheme ftp");
        refused("file:///etc/passwd", "unsupported scheme file");
        // Not retryable: the downloader fails the file instead of trying again.
        let e = zoom()
            .check_download(&Url::parse("https://evilzoom.us/x").unwrap())
            .unwrap_err();
        assert!(!e.is_retryable());
    }

    #[test]
    fn a_configured_gateway_host_is_allowed_on_any_port() {
        let p = policy(
            "https://zoom-gw.corp.example/v2",
            "https://zoom.us/oauth/token",
        );
        assert_eq!(download(&p, "https://zoom-gw.corp.example:9443/f"), Ok(()));
        assert!(download(&p, "http://zoom-gw.corp.example/f").is_err());
        assert!(download(&p, "https://other.corp.example/f").is_err());
        let p = policy("https://10.1.2.3/v2", "https://10.1.2.3/oauth/token");
        assert_eq!(download(&p, "https://10.1.2.3:8443/f"), Ok(()));
        // A redirect never goes to an IP literal, even the configured one.
        assert!(
            redirect(&p, "https://10.1.2.3/f")
                .unwrap_err()
                .contains("literal (private)")
        );
    }

    #[test]
    fn a_loopback_api_allows_loopback_hosts_of_any_name() {
        let p = sim();
        for ok in [
            "http://127.0.0.1:4001/rec/archive/download/x",
            "http://127.0.0.1:9/x",
            "http://localhost:4001/x",
            "http://127.0.0.2/x",
            "http://[::1]:4001/x",
            "https://zoom.us/x",
        ] {
            assert_eq!(download(&p, ok), Ok(()), "{ok}");
            assert_eq!(redirect(&p, ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://169.254.169.254/x",
            "http://0.0.0.0:4001/x",
            "http://10.0.0.5/x",
            "http://zoom.us/x",
            "https://evilzoom.us/x",
        ] {
            assert!(download(&p, bad).is_err(), "{bad}");
            assert!(redirect(&p, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_never_go_to_ip_literals() {
        let p = zoom();
        for (to, kind) in [
            ("https://169.254.169.254/latest", "link-local"),
            ("https://10.0.0.5/x", "private"),
            ("https://172.16.0.1/x", "private"),
            ("https://192.168.1.1/x", "private"),
            ("https://127.0.0.1/x", "loopback"),
            ("https://0.0.0.0/x", "unspecified"),
            ("https://[fd00::1]/x", "private (unique local)"),
            ("https://[fe80::1]/x", "link-local"),
            ("https://[::]/x", "unspecified"),
            ("https://[::ffff:169.254.169.254]/x", "link-local"),
            ("https://8.8.8.8/x", "public"),
        ] {
            let e = redirect(&p, to).unwrap_err();
            assert!(e.contains("refused download redirect to host"), "{to}: {e}");
            assert!(
                e.contains(&format!("an IP address literal ({kind}")),
                "{to}: {e}"
            );
            assert!(e.contains("(from zoom.us)"), "{e}");
        }
        let p = sim();
        for (to, kind) in [
            ("http://169.254.169.254/latest", "literal (link-local)"),
            ("http://0.0.0.0:4001/x", "literal (unspecified)"),
            ("https://[fe80::1]/x", "literal (link-local)"),
        ] {
            let e = redirect(&p, to).unwrap_err();
            assert!(e.contains(kind), "{to}: {e}");
        }
        assert_eq!(redirect(&p, "https://file.zoom.us/file?jwt=x"), Ok(()));
        assert!(
            redirect(&p, "https://evilzoom.us/x")
                .unwrap_err()
                .contains("evilzoom.us")
        );
    }

    #[test]
    fn address_kinds() {
        let kind = |h: &str| {
            let u = Url::parse(&format!("https://{h}/")).unwrap();
            address_kind(&normalised_host(&u).unwrap())
        };
        assert_eq!(kind("169.254.169.254"), Some("link-local"));
        assert_eq!(kind("10.0.0.5"), Some("private"));
        assert_eq!(kind("172.31.255.255"), Some("private"));
        assert_eq!(kind("192.168.0.1"), Some("private"));
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("0.0.0.0"), Some("unspecified"));
        assert_eq!(kind("[fc00::1]"), Some("private (unique local)"));
        assert_eq!(kind("[fe80::1]"), Some("link-local"));
        assert_eq!(kind("[::1]"), Some("loopback"));
        assert_eq!(kind("[::ffff:10.0.0.1]"), Some("private"));
        assert_eq!(kind("8.8.8.8"), Some("public"));
        assert_eq!(kind("zoom.us"), None);
    }

    #[test]
    fn the_token_goes_to_the_api_and_oauth_origins_only() {
        let p = zoom();
        let gets = |u: &str| p.gets_token(&Url::parse(u).unwrap());
        assert!(gets("https://api.zoom.us/v2/x"));
        assert!(gets("https://api.zoom.us:443/v2/x"));
        assert!(gets("https://zoom.us/rec/archive/download/x"));
        assert!(gets("https://ZOOM.US/v2/phone/recording/download/x"));
        assert!(!gets("https://file.zoom.us/file?jwt=x"));
        assert!(!gets("https://us06web.zoom.us/rec/x"));
        assert!(!gets("http://zoom.us/x"));
        assert!(!gets("https://api.zoom.us:8443/v2/x"));
        let p = sim();
        let gets = |u: &str| p.gets_token(&Url::parse(u).unwrap());
        assert!(gets("http://127.0.0.1:4000/v2/x"));
        assert!(gets("http://127.0.0.1:4001/rec/archive/download/x"));
        assert!(!gets("http://127.0.0.1:4002/file"));
        assert!(!gets("http://localhost:4000/v2/x"));
    }
}
