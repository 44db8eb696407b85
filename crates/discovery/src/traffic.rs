//! Proxy and firewall log lines: Squid's native `access.log` and ArcSight CEF (the format most
//! firewalls and secure web gateways can emit). Each line gives one [`TrafficEvent`]; a line
//! that is not one is an error string, counted by the caller, never a stop.

/// One request or connection seen by a proxy or firewall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficEvent {
    /// Seconds since the Unix epoch, when the line says.
    pub time: Option<i64>,
    /// The authenticated user, when the device knew one.
    pub user: Option<String>,
    /// The client address.
    pub client: Option<String>,
    /// Destination host name (lowercase, no port), or address when no name is logged.
    pub host: String,
    /// Bytes transferred (both directions where the format tells them apart).
    pub bytes: u64,
    /// The device refused the request.
    pub blocked: bool,
}

impl TrafficEvent {
    /// Who made the request: the user when known, else the client address.
    pub fn who(&self) -> Option<&str> {
        self.user.as_deref().or(self.client.as_deref())
    }
}

/// Longest host name kept (DNS allows 253).
const MAX_HOST: usize = 253;
/// Longest user name kept.
const MAX_USER: usize = 256;

/// Parses one line of Squid's native access log:
/// `time elapsed client code/status bytes method URL user hierarchy/peer type`.
pub fn parse_squid(line: &str) -> Result<TrafficEvent, String> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() < 7 {
        return Err(format!("{} fields, Squid's native format has 10", f.len()));
    }
    let time = f[0]
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e11)
        .ok_or("the first field is not a Unix time")?;
    let client = f[2];
    let (code, _status) = f[3]
        .split_once('/')
        .ok_or("the fourth field is not CODE/STATUS")?;
    let bytes = f[4]
        .parse::<u64>()
        .map_err(|_| "the fifth field is not a byte count")?;
    let method = f[5];
    let host = if method.eq_ignore_ascii_case("CONNECT") {
        host_of(f[6])
    } else {
        url_host(f[6])
    }
    .ok_or("no destination host in the URL")?;
    let user = f
        .get(7)
        .filter(|u| **u != "-")
        .map(|u| bounded(u, MAX_USER));
    Ok(TrafficEvent {
        // Bounded above, so the conversion cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        time: Some(time as i64),
        user,
        client: (client != "-").then(|| bounded(client, MAX_USER)),
        host,
        bytes,
        blocked: code.contains("DENIED"),
    })
}

/// Parses one CEF line (`CEF:0|vendor|product|version|signature|name|severity|extension`),
/// possibly after a syslog header. Destination: `dhost`, else the host of `request`, else
/// `dst`; user: `suser`; bytes: `in` + `out`; time: `rt` or `start` (epoch milliseconds).
pub fn parse_cef(line: &str) -> Result<TrafficEvent, String> {
    let start = line.find("CEF:").ok_or("no `CEF:` header")?;
    let body = &line[start..];
    // Seven unescaped pipes end the header.
    let mut pipes = 0;
    let mut ext_start = None;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '|' => {
                pipes += 1;
                if pipes == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let ext_start = ext_start.ok_or("the CEF header does not have 7 fields")?;
    let ext = cef_extension(&body[ext_start..]);
    let get = |k: &str| {
        ext.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let host = get("dhost")
        .and_then(host_of)
        .or_else(|| get("request").and_then(url_host))
        .or_else(|| get("dst").and_then(host_of))
        .ok_or("no destination (dhost, request or dst)")?;
    let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let time = get("rt")
        .or_else(|| get("start"))
        .and_then(|v| v.parse::<i64>().ok())
        .map(|ms| ms / 1000);
    let act = get("act").unwrap_or("").to_ascii_lowercase();
    Ok(TrafficEvent {
        time,
        user: get("suser").map(|u| bounded(u, MAX_USER)),
        client: get("src").map(|u| bounded(u, MAX_USER)),
        host,
        bytes: num("in").saturating_add(num("out")),
        blocked: ["block", "deny", "drop", "reset"]
            .iter()
            .any(|w| act.contains(w)),
    })
}

/// Splits a CEF extension into keys and unescaped values. A key is a run of letters, digits,
/// `_`, `.` or `-` preceded by a space (or the start) and followed by `=`; a value runs to
/// the next key.
fn cef_extension(ext: &str) -> Vec<(&str, String)> {
    let bytes = ext.as_bytes();
    // Start positions of `key=`.
    let mut keys: Vec<(usize, usize)> = Vec::new(); // (key start, '=' index)
    let mut i = 0;
    while i < bytes.len() {
        if i == 0 || bytes[i - 1] == b' ' {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'.' | b'-'))
            {
                j += 1;
            }
            if j > i && j < bytes.len() && bytes[j] == b'=' && (j == 0 || bytes[j - 1] != b'\\') {
                keys.push((i, j));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(k, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(bytes.len(), |&(next, _)| next);
        let raw = ext.get(eq + 1..end).unwrap_or("").trim_end();
        let key = ext.get(k..eq).unwrap_or("");
        out.push((key, unescape_cef(raw)));
    }
    out
}

fn unescape_cef(v: &str) -> String {
    if !v.contains('\\') {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('r') => out.push(' '),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn bounded(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The host of `host`, `host:port` or `[v6]:port`, lowercase; `None` when it is not a
/// plausible host name or address.
pub fn host_of(s: &str) -> Option<String> {
    let s = s.trim();
    let h = if let Some(rest) = s.strip_prefix('[') {
        rest.split(']').next()?
    } else if s.matches(':').count() == 1 {
        s.split(':').next()?
    } else {
        s
    };
    let h = h.trim_end_matches('.');
    if h.is_empty()
        || h.len() > MAX_HOST
        || !h
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    {
        return None;
    }
    Some(h.to_ascii_lowercase())
}

/// The host of a URL (`scheme://[user@]host[:port]/...`), or of a bare `host[:port]/path`.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    host_of(host)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn squid_lines() {
        let e = parse_squid("1700000000.123    105 10.0.0.5 TCP_MISS/200 5210 GET http://www.Dropbox.com:80/s/x - HIER_DIRECT/162.125.1.18 text/html").unwrap();
        assert_eq!(e.host, "www.dropbox.com");
        assert_eq!(e.time, Some(1_700_000_000));
        assert_eq!(e.bytes, 5210);
        assert_eq!(e.who(), Some("10.0.0.5"));
        assert!(!e.blocked);
        let e = parse_squid("1700000001.000 20 10.0.0.6 TCP_TUNNEL/200 99 CONNECT slack.com:443 ada HIER_DIRECT/1.2.3.4 -").unwrap();
        assert_eq!((e.host.as_str(), e.who()), ("slack.com", Some("ada")));
        let e = parse_squid("1700000001.000 20 10.0.0.6 TCP_DENIED/403 0 GET https://user:pw@mega.nz/x bob NONE/- -").unwrap();
        assert!(e.blocked);
        assert_eq!(e.host, "mega.nz");
        for bad in [
            "",
            "hello world",
            "x 1 2 TCP/200 3 GET http://a.b/ - - -",
            "1 1 2 TCP_MISS 3 GET http://a.b/ - - -",
            "1 1 2 TCP_MISS/200 many GET http://a.b/ - - -",
            "1 1 2 TCP_MISS/200 3 GET http:/// - - -",
            "1e300 1 2 TCP_MISS/200 3 GET http://a.b/ - - -",
        ] {
            assert!(parse_squid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cef_lines() {
        let l = r"Dec  7 10:00:00 fw1 CEF:0|Vendor|FW|1.0|100|Allowed web|3|rt=1700000000000 src=10.0.0.7 suser=CORP\\ada dhost=Files.Box.com request=https://files.box.com/x?a\=b act=allowed in=100 out=50 msg=a \| pipe";
        let e = parse_cef(l).unwrap();
        assert_eq!(e.host, "files.box.com");
        assert_eq!(e.user.as_deref(), Some(r"CORP\ada"));
        assert_eq!(e.bytes, 150);
        assert_eq!(e.time, Some(1_700_000_000));
        let e = parse_cef(
            "CEF:0|V|P|1|2|n\\|ame|5|src=10.0.0.8 request=https://chatgpt.com/ act=blocked",
        )
        .unwrap();
        assert_eq!((e.host.as_str(), e.blocked), ("chatgpt.com", true));
        assert_eq!(e.who(), Some("10.0.0.8"));
        for bad in [
            "no cef here",
            "CEF:0|a|b|c",
            "CEF:0|V|P|1|2|n|5|src=1.2.3.4",
            "CEF:0|V|P|1|2|n|5|dhost=bad/host",
        ] {
            assert!(parse_cef(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(url_host("https://a.B.c:8443/x").as_deref(), Some("a.b.c"));
        assert_eq!(url_host("a.b.c/x").as_deref(), Some("a.b.c"));
        assert_eq!(host_of("[::1]:443").as_deref(), Some("::1"));
        assert_eq!(host_of("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert!(host_of("").is_none());
        assert!(host_of(&"a".repeat(300)).is_none());
    }
}
