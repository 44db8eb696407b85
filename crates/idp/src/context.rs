//! The facts about a request that sign-in decisions (and later conditional access) use.

use std::net::IpAddr;

/// How the client talks to us, in Graph's `clientAppTypes` vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApp {
    /// The sign-in pages.
    Browser,
    /// The JSON sign-in API (native and desktop clients).
    MobileAppsAndDesktopClients,
    /// Legacy password-only protocols.
    Other,
}

impl ClientApp {
    /// Graph's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientApp::Browser => "browser",
            ClientApp::MobileAppsAndDesktopClients => "mobileAppsAndDesktopClients",
            ClientApp::Other => "other",
        }
    }
}

/// Where a request comes from.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Source address: the socket's, or the forwarded one when the socket is a trusted proxy.
    pub ip: Option<IpAddr>,
    /// The user agent, cut to 256 characters.
    pub user_agent: Option<String>,
    /// Platform guessed from the user agent, in Graph's `devicePlatforms` vocabulary.
    pub device_platform: &'static str,
}

/// The client's address. `X-Forwarded-For` is believed only when the socket peer is a trusted
/// proxy, and then only up to the first address that is not itself a trusted proxy (reading
/// from the right, since a client can write anything on the left).
pub fn source_ip(
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(list) = forwarded else {
        return Some(peer);
    };
    let mut chosen = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                chosen = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(chosen)
}

/// The platform a user agent names, in Graph's `devicePlatforms` vocabulary.
pub fn platform(ua: &str) -> &'static str {
    let ua = ua.to_ascii_lowercase();
    if ua.contains("android") {
        "android"
    } else if ua.contains("iphone") || ua.contains("ipad") || ua.contains("ios") {
        "iOS"
    } else if ua.contains("windows") {
        "windows"
    } else if ua.contains("mac os") || ua.contains("macintosh") {
        "macOS"
    } else if ua.contains("linux") {
        "linux"
    } else {
        "unknown"
    }
}

/// Percent-encodes a path or query value for a URL this server builds (`/` is kept, so a
/// path handed on as `next=` stays readable).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = [proxy];
        assert_eq!(
            source_ip(Some(client), Some("1.2.3.4"), &trusted),
            Some(client)
        );
        assert_eq!(
            source_ip(Some(proxy), Some("6.6.6.6, 203.0.113.9"), &trusted),
            Some(client)
        );
        assert_eq!(source_ip(Some(proxy), None, &trusted), Some(proxy));
        assert_eq!(
            source_ip(Some(proxy), Some("garbage"), &trusted),
            Some(proxy)
        );
    }

    #[test]
    fn platforms_from_user_agents() {
        assert_eq!(
            platform("Mozilla/5.0 (X11; Linux x86_64) Chrome/120"),
            "linux"
        );
        assert_eq!(
            platform("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
            "iOS"
        );
        assert_eq!(
            platform("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            "windows"
        );
    }
}
