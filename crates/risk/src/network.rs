//! The "network" of an address, as sprays and familiarity see it, and user-agent families.

use std::net::IpAddr;

pub use trustplane_store::network_of;

/// A user agent without its version numbers, so a browser update stays familiar.
pub fn user_agent_family(ua: &str) -> String {
    ua.chars()
        .take(256)
        .filter(|c| !c.is_ascii_digit())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The network of an address as a number, for comparisons without formatting
/// ([`network_of`] writes the same network as text).
pub fn network_key(ip: IpAddr) -> (bool, u128) {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => (false, u128::from(u32::from(v4) & 0xffff_ff00)),
        IpAddr::V6(v6) => (true, u128::from(v6) & !((1u128 << 64) - 1)),
    }
}

/// Whether two addresses are in the same network.
pub fn same_network(a: IpAddr, b: IpAddr) -> bool {
    network_key(a) == network_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_do_not_change_the_family() {
        assert_eq!(
            user_agent_family("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
            user_agent_family("Mozilla/5.0 (X11; Linux x86_64) Chrome/121.1")
        );
        assert_ne!(
            user_agent_family("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
            user_agent_family("curl/8.5.0")
        );
    }

    #[test]
    fn networks_are_slash_24_and_slash_64() {
        assert!(same_network(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.200".parse().unwrap()
        ));
        assert!(!same_network(
            "192.0.2.1".parse().unwrap(),
            "192.0.3.1".parse().unwrap()
        ));
        assert!(same_network(
            "2001:db8:1:2::1".parse().unwrap(),
            "2001:db8:1:2:ffff::9".parse().unwrap()
        ));
        assert!(!same_network(
            "2001:db8:1:2::1".parse().unwrap(),
            "2001:db8:1:3::1".parse().unwrap()
        ));
        assert!(same_network(
            "::ffff:192.0.2.1".parse().unwrap(),
            "192.0.2.9".parse().unwrap()
        ));
        // The key and the text agree.
        for (a, b) in [
            ("192.0.2.1", "192.0.3.1"),
            ("2001:db8::1", "2001:db8:0:1::1"),
        ] {
            let (a, b): (IpAddr, IpAddr) = (a.parse().unwrap(), b.parse().unwrap());
            assert_eq!(
                network_key(a) == network_key(b),
                network_of(a) == network_of(b)
            );
        }
    }
}
