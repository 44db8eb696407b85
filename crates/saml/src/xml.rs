//! Writing XML that is already in exclusive canonical form, and the parsing settings every
//! input goes through.
//!
//! Canonical XML escapes text and attribute values in one exact way (C14N 1.0 §2.3); writing
//! it that way from the start makes the bytes on the wire the bytes that are digested.

use time::OffsetDateTime;

use crate::error::{Result, SamlError};

/// Namespace of SAML 2.0 protocol messages.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// Namespace of SAML 2.0 assertions.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// Namespace of SAML 2.0 metadata.
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// Namespace of XML-DSig.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive XML canonicalisation 1.0 (omitting comments).
pub const ALG_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ALG_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSASSA-PKCS1-v1_5 with SHA-256.
pub const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// RSASSA-PKCS1-v1_5 with SHA-1 (refused).
pub const ALG_RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// SHA-256 digest.
pub const ALG_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Appends text content escaped as C14N does: `&`, `<`, `>` and carriage return.
pub(crate) fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Appends an attribute value escaped as C14N does: `&`, `<`, `"`, tab, line feed and carriage
/// return (the whitespace ones so that attribute-value normalisation cannot change them).
pub(crate) fn push_attr_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Refuses characters outside the XML 1.0 `Char` production: no escaping can carry them.
pub(crate) fn check_chars(field: &'static str, value: &str) -> Result<()> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if value.chars().all(allowed) {
        Ok(())
    } else {
        Err(SamlError::UnrepresentableChar(field))
    }
}

/// Writes an `xs:dateTime` in UTC to the second (`2026-11-28T19:21:00Z`), the form SAML
/// recommends and every SP reads.
pub(crate) fn format_instant(field: &'static str, at: OffsetDateTime) -> Result<String> {
    let at = at.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&at.year()) {
        return Err(SamlError::TimeOutOfRange(field));
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

/// Reads an `xs:dateTime` with an explicit offset (SAML requires UTC with `Z`; an offset is
/// tolerated and converted).
pub(crate) fn parse_instant(field: &'static str, text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| SamlError::InvalidValue {
            what: field,
            value: crate::error::excerpt(text),
        })
}

/// Reads an `xs:boolean`.
pub(crate) fn parse_bool(field: &'static str, text: &str) -> Result<bool> {
    match text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(SamlError::InvalidValue {
            what: field,
            value: crate::error::excerpt(other),
        }),
    }
}

/// Parses untrusted XML: no DTD (so no entities, internal or external), a cap on nodes, and a
/// cap on element depth checked before anything walks the tree recursively.
pub(crate) fn parse_document(
    text: &str,
    max_nodes: u32,
    max_depth: usize,
) -> Result<roxmltree::Document<'_>> {
    // The parser recurses once per open element, so depth must be refused before it runs:
    // a few thousand levels overflow a worker's stack and abort the whole process.
    prescan(text, max_depth)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: max_nodes,
    };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| SamlError::Xml(e.to_string()))?;
    // Depth of every node, by id; a parent always comes before its children in document order.
    let mut depths = vec![0usize; doc.descendants().len()];
    for node in doc.descendants().filter(|n| n.is_element()) {
        let parent_depth = node
            .parent()
            .and_then(|p| depths.get(p.id().get_usize()).copied())
            .unwrap_or(0);
        let depth = parent_depth + 1;
        if depth > max_depth {
            return Err(SamlError::TooDeep { limit: max_depth });
        }
        if let Some(slot) = depths.get_mut(node.id().get_usize()) {
            *slot = depth;
        }
    }
    Ok(doc)
}

/// Most attributes (namespace declarations included) on one element. SAML elements carry
/// fewer than 20; the XML parser's duplicate check costs the square of this number.
pub(crate) const MAX_ATTRIBUTES: usize = 48;
/// Most namespace declarations in one document. Each element that declares one copies every
/// declaration in scope, so this bounds that copying.
pub(crate) const MAX_NAMESPACE_DECLARATIONS: usize = 128;

/// One linear pass over the markup before parsing, refusing documents whose shape would make
/// the parser's work grow with the square of their size: too many attributes on one element
/// (40 s for 100,000 of them in a 1 MiB document) or too many namespace declarations; and
/// documents nested deeper than `max_depth`, which the parser would recurse into.
///
/// It only counts; anything it misreads is left for the parser to refuse. Its depth is never
/// less than the parser's: every start tag that is not self-closing opens a level, and only an
/// end tag closes one (a stray end tag makes the parser stop at once).
fn prescan(text: &str, max_depth: usize) -> Result<()> {
    let bytes = text.as_bytes();
    let mut namespaces = 0usize;
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| *b == b'<'))
    {
        i += offset + 1;
        let rest = bytes.get(i..).unwrap_or_default();
        // Comments, CDATA, processing instructions, DOCTYPE and end tags carry no attributes.
        let skip_to: Option<&[u8]> = if rest.starts_with(b"!--") {
            Some(b"-->")
        } else if rest.starts_with(b"![CDATA[") {
            Some(b"]]>")
        } else if rest.starts_with(b"?") {
            Some(b"?>")
        } else if rest.starts_with(b"!") {
            Some(b">")
        } else if rest.starts_with(b"/") {
            depth = depth.saturating_sub(1);
            Some(b">")
        } else {
            None
        };
        if let Some(end) = skip_to {
            match find(rest, end) {
                Some(at) => i += at + end.len(),
                None => return Ok(()),
            }
            continue;
        }
        // A start tag: count `=` and `xmlns` outside quoted values, up to the closing `>`.
        let mut attributes = 0usize;
        let mut quote: Option<u8> = None;
        let mut j = 0usize;
        let mut self_closing = false;
        while let Some(&b) = rest.get(j) {
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'=' => attributes += 1,
                    b'>' => {
                        self_closing = j > 0 && rest.get(j - 1) == Some(&b'/');
                        break;
                    }
                    b'x' if rest.get(j..j + 5) == Some(b"xmlns") => namespaces += 1,
                    _ => {}
                },
            }
            j += 1;
        }
        if !self_closing {
            depth += 1;
            if depth > max_depth {
                return Err(SamlError::TooDeep { limit: max_depth });
            }
        }
        if attributes > MAX_ATTRIBUTES {
            return Err(SamlError::TooMany {
                what: "attributes on one element",
                limit: MAX_ATTRIBUTES,
            });
        }
        if namespaces > MAX_NAMESPACE_DECLARATIONS {
            return Err(SamlError::TooMany {
                what: "namespace declarations",
                limit: MAX_NAMESPACE_DECLARATIONS,
            });
        }
        i += j;
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `{namespace}local` of an element, for error messages.
pub(crate) fn expanded_name(node: roxmltree::Node<'_, '_>) -> String {
    let name = node.tag_name();
    match name.namespace() {
        Some(ns) => crate::error::excerpt(&format!("{{{ns}}}{}", name.name())),
        None => crate::error::excerpt(name.name()),
    }
}

/// Whether `node` is the element `local` in namespace `ns`.
pub(crate) fn is(node: roxmltree::Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == local
}

/// The first child element `local` in namespace `ns`.
pub(crate) fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    ns: &str,
    local: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children().find(|c| is(*c, ns, local))
}

/// All child elements `local` in namespace `ns`.
pub(crate) fn children<'a, 'input: 'a>(
    node: roxmltree::Node<'a, 'input>,
    ns: &'a str,
    local: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> + 'a {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The concatenated text of an element, trimmed.
pub(crate) fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_canonical_xml() {
        let mut text = String::new();
        push_text(&mut text, "a&b<c>d\"e\r\n\t");
        assert_eq!(text, "a&amp;b&lt;c&gt;d\"e&#xD;\n\t");
        let mut attr = String::new();
        push_attr_value(&mut attr, "a&b<c>d\"e\r\n\t");
        assert_eq!(attr, "a&amp;b&lt;c>d&quot;e&#xD;&#xA;&#x9;");
    }

    #[test]
    fn refuses_control_characters() {
        assert!(check_chars("x", "tab\tok é 😀").is_ok());
        assert!(check_chars("x", "nul\0").is_err());
        assert!(check_chars("x", "bell\u{7}").is_err());
        assert!(check_chars("x", "\u{FFFE}").is_err());
    }

    #[test]
    fn instants_round_trip_in_utc() {
        let at = time::macros::datetime!(2026-11-28 19:21:07.5 +01:00);
        let text = format_instant("t", at).ok();
        assert_eq!(text.as_deref(), Some("2026-11-28T18:21:07Z"));
        let back = parse_instant("t", "2026-11-28T18:21:07.123Z").ok();
        assert_eq!(back.map(|t| t.unix_timestamp()), Some(at.unix_timestamp()));
        assert!(parse_instant("t", "yesterday").is_err());
    }

    /// Issue 13 item 1: 4,000 nested elements overflowed a 2 MiB worker stack inside the
    /// parser before the depth check ran, aborting the process. The prescan refuses them first,
    /// on a stack as small as a tokio worker's.
    #[test]
    fn deep_nesting_is_refused_before_the_parser_recurses() {
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
                let unclosed = "<a>".repeat(100_000);
                let with_noise = format!(
                    "{}{}",
                    "<a x='/>'><!-- > --><b/>".repeat(40),
                    "</a>".repeat(40)
                );
                (
                    matches!(
                        parse_document(&deep, 1_000_000, 32),
                        Err(SamlError::TooDeep { limit: 32 })
                    ),
                    matches!(
                        parse_document(&unclosed, 1_000_000, 32),
                        Err(SamlError::TooDeep { limit: 32 })
                    ),
                    matches!(
                        parse_document(&with_noise, 1_000_000, 32),
                        Err(SamlError::TooDeep { limit: 32 })
                    ),
                    parse_document(&with_noise, 1_000_000, 48).is_ok(),
                )
            })
            .unwrap();
        assert_eq!(handle.join().unwrap(), (true, true, true, true));
        // Siblings and self-closing elements do not add depth.
        let wide = format!("<r>{}</r>", "<a><b/></a>".repeat(1000));
        assert!(parse_document(&wide, 100_000, 3).is_ok());
        assert!(matches!(
            parse_document(&wide, 100_000, 2),
            Err(SamlError::TooDeep { .. })
        ));
    }

    #[test]
    fn prescan_refuses_quadratic_shapes() {
        let many_attributes: String = (0..=MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"\""))
            .collect();
        let many_attributes = format!("<a{many_attributes}/>");
        assert!(matches!(
            parse_document(&many_attributes, 1000, 32),
            Err(SamlError::TooMany { .. })
        ));
        // Quoted '=' and '>' and markup outside start tags are not counted.
        let quoted = format!(
            "<a b=\"{}>\" c='{}'><!-- {} --><![CDATA[{}]]><?p {}?>{}</a>",
            "=".repeat(100),
            "=".repeat(100),
            "x=".repeat(100),
            "y=".repeat(100),
            "z=".repeat(100),
            "t=".repeat(100),
        );
        assert!(parse_document(&quoted, 1000, 32).is_ok());
        let many_namespaces: String = (0..=MAX_NAMESPACE_DECLARATIONS)
            .map(|i| format!("<e xmlns:n{i}=\"urn:n\"/>"))
            .collect();
        assert!(matches!(
            parse_document(&format!("<r>{many_namespaces}</r>"), 1000, 32),
            Err(SamlError::TooMany { .. })
        ));
    }

    #[test]
    fn depth_is_capped() {
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert!(matches!(
            parse_document(&deep, 1000, 32),
            Err(SamlError::TooDeep { limit: 32 })
        ));
        assert!(parse_document(&deep, 1000, 40).is_ok());
    }
}
