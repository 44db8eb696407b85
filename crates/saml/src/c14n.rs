//! Exclusive XML Canonicalization 1.0 without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>) of one parsed element, for checking the XML
//! signatures that SPs put on HTTP-POST requests.
//!
//! The input is a subtree of a `roxmltree` document, which has already applied what C14N takes
//! from parsing: line ends normalised, attribute values normalised, character and entity
//! references replaced, CDATA turned into text. What is left is the output form: namespace
//! declarations only where a prefix is visibly used and not already in force in the output,
//! sorted declarations and attributes, fixed escaping, no comments, and `<a></a>` for empty
//! elements.

use roxmltree::{Node, NodeId, NodeType};

use crate::xml::{push_attr_value, push_text};

/// Canonicalises the subtree at `apex`, leaving out the subtree `excluded` (the enveloped
/// signature). `inclusive_prefixes` is the `InclusiveNamespaces PrefixList` (`#default` names
/// the default namespace): those prefixes are treated as used wherever they are in scope.
///
/// The caller has capped the tree's depth, so the recursion is bounded.
pub(crate) fn canonicalize<'a>(
    apex: Node<'a, '_>,
    excluded: Option<NodeId>,
    inclusive_prefixes: &[&'a str],
) -> String {
    let mut out = String::new();
    let rendered: Vec<(&'a str, &'a str)> = Vec::new();
    write_node(apex, excluded, inclusive_prefixes, &rendered, &mut out);
    out
}

fn write_node<'a>(
    node: Node<'a, '_>,
    excluded: Option<NodeId>,
    inclusive: &[&str],
    // Prefix and URI of every declaration in force in the output at this point ("" is the
    // default namespace); later entries shadow earlier ones.
    rendered: &[(&'a str, &'a str)],
    out: &mut String,
) {
    if Some(node.id()) == excluded {
        return;
    }
    match node.node_type() {
        NodeType::Element => write_element(node, excluded, inclusive, rendered, out),
        NodeType::Text => push_text(out, node.text().unwrap_or_default()),
        NodeType::PI => {
            if let Some(pi) = node.pi() {
                out.push_str("<?");
                out.push_str(pi.target);
                if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                    out.push(' ');
                    out.push_str(value);
                }
                out.push_str("?>");
            }
        }
        NodeType::Comment | NodeType::Root => {}
    }
}

fn write_element<'a>(
    node: Node<'a, '_>,
    excluded: Option<NodeId>,
    inclusive: &[&'a str],
    rendered: &[(&'a str, &'a str)],
    out: &mut String,
) {
    let qname = element_qname(node);
    let (element_prefix, _) = split_qname(qname);

    // Prefixes this element visibly uses: its own, and those of its prefixed attributes.
    let mut used: Vec<&'a str> = vec![element_prefix];
    let mut attributes: Vec<(&str, &str, &str, &str)> = Vec::new(); // (ns, local, qname, value)
    for attr in node.attributes() {
        let attr_qname = attribute_qname(node, &attr);
        let (prefix, _) = split_qname(attr_qname);
        if !prefix.is_empty() && prefix != "xml" {
            used.push(prefix);
        }
        attributes.push((
            attr.namespace().unwrap_or(""),
            attr.name(),
            attr_qname,
            attr.value(),
        ));
    }
    for prefix in inclusive {
        let prefix = if *prefix == "#default" { "" } else { prefix };
        used.push(prefix);
    }
    used.sort_unstable();
    used.dedup();

    let mut declarations: Vec<(&'a str, &'a str)> = Vec::new();
    for prefix in used {
        let in_scope = if prefix.is_empty() {
            node.default_namespace().unwrap_or("")
        } else {
            match node.lookup_namespace_uri(Some(prefix)) {
                Some(uri) => uri,
                // An inclusive prefix not in scope here is simply not rendered.
                None => continue,
            }
        };
        let in_output = rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, uri)| *uri)
            .unwrap_or("");
        // The empty default namespace is in force at the start, so `xmlns=""` is only written
        // to undo a default rendered above.
        if in_scope != in_output {
            declarations.push((prefix, in_scope));
        }
    }

    out.push('<');
    out.push_str(qname);
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        push_attr_value(out, uri);
        out.push('"');
    }
    attributes.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, attr_qname, value) in &attributes {
        out.push(' ');
        out.push_str(attr_qname);
        out.push_str("=\"");
        push_attr_value(out, value);
        out.push('"');
    }
    out.push('>');

    let mut in_force = rendered.to_vec();
    in_force.extend(declarations);
    for child in node.children() {
        write_node(child, excluded, inclusive, &in_force, out);
    }
    out.push_str("</");
    out.push_str(qname);
    out.push('>');
}

/// The qualified name as written in the start tag (`roxmltree` keeps only the expanded name).
fn element_qname<'input>(node: Node<'_, 'input>) -> &'input str {
    let text = node.document().input_text();
    let start = node.range().start + 1; // past '<'
    let tail = text.get(start..).unwrap_or("");
    let end = tail
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(tail.len());
    &tail[..end]
}

fn attribute_qname<'input>(
    node: Node<'_, 'input>,
    attr: &roxmltree::Attribute<'_, 'input>,
) -> &'input str {
    node.document()
        .input_text()
        .get(attr.range_qname())
        .unwrap_or_else(|| attr.name())
}

fn split_qname(qname: &str) -> (&str, &str) {
    match qname.split_once(':') {
        Some((prefix, local)) => (prefix, local),
        None => ("", qname),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, apex_name: &str) -> String {
        let doc = roxmltree::Document::parse(xml).ok();
        let doc = doc.as_ref();
        let apex = doc.and_then(|d| d.descendants().find(|n| n.tag_name().name() == apex_name));
        apex.map(|a| canonicalize(a, None, &[])).unwrap_or_default()
    }

    #[test]
    fn drops_unused_declarations_and_sorts() {
        let xml = r#"<r:root xmlns:r="urn:r" xmlns:u="urn:unused" xmlns:b="urn:b"><r:a b:z="1" y='2' b:x="3" a="&lt;&amp;&quot;"/></r:root>"#;
        assert_eq!(
            c14n(xml, "a"),
            r#"<r:a xmlns:b="urn:b" xmlns:r="urn:r" a="&lt;&amp;&quot;" y="2" b:x="3" b:z="1"></r:a>"#
        );
    }

    #[test]
    fn declares_once_per_output_branch() {
        let xml =
            r#"<p:x xmlns:p="urn:p"><q:y xmlns:q="urn:q"><q:z/></q:y><q:w xmlns:q="urn:q"/></p:x>"#;
        assert_eq!(
            c14n(xml, "x"),
            r#"<p:x xmlns:p="urn:p"><q:y xmlns:q="urn:q"><q:z></q:z></q:y><q:w xmlns:q="urn:q"></q:w></p:x>"#
        );
    }

    #[test]
    fn default_namespace_and_undeclaring_it() {
        let xml = r#"<a xmlns="urn:d"><b xmlns=""><c/></b><!-- gone --><?pi data?></a>"#;
        assert_eq!(
            c14n(xml, "a"),
            r#"<a xmlns="urn:d"><b xmlns=""><c></c></b><?pi data?></a>"#
        );
        // A no-namespace apex with nothing rendered above writes no xmlns="".
        assert_eq!(c14n(r#"<a><b/></a>"#, "b"), "<b></b>");
    }

    #[test]
    fn text_escaping_and_normalised_line_ends() {
        let xml = "<a attr=\"x&#9;y&#10;z\">1 &lt; 2 &amp;&gt; 3\r\n<![CDATA[<raw>]]>&#13;</a>";
        assert_eq!(
            c14n(xml, "a"),
            "<a attr=\"x&#x9;y&#xA;z\">1 &lt; 2 &amp;&gt; 3\n&lt;raw&gt;&#xD;</a>"
        );
    }

    #[test]
    fn leaves_out_the_excluded_subtree() {
        let xml = r#"<a xmlns:s="urn:s"><s:sig><x/></s:sig><b/></a>"#;
        let doc = roxmltree::Document::parse(xml).ok();
        let out = doc.as_ref().and_then(|doc| {
            let sig = doc.descendants().find(|n| n.tag_name().name() == "sig")?;
            Some(canonicalize(doc.root_element(), Some(sig.id()), &[]))
        });
        assert_eq!(out.as_deref(), Some("<a><b></b></a>"));
    }

    #[test]
    fn inclusive_prefixes_render_when_in_scope() {
        let xml = r#"<a xmlns:xs="urn:xs" xmlns:n="urn:n"><b>xs:string</b></a>"#;
        let doc = roxmltree::Document::parse(xml).ok();
        let out = doc
            .as_ref()
            .map(|doc| canonicalize(doc.root_element(), None, &["xs", "absent"]));
        assert_eq!(
            out.as_deref(),
            Some(r#"<a xmlns:xs="urn:xs"><b>xs:string</b></a>"#)
        );
    }
}
