//! A small element tree read from the XML ArcGIS stores in `GDB_Items.Definition` (quick-xml):
//! local names only (`typens:GPSyncReplica` and `GPSyncReplica` are one name), text with its
//! entities resolved, attributes by local name. Lookups ignore ASCII case, so the spellings
//! different ArcGIS versions write (quotes, prefixes, `xsi:type` on values) read alike.
//!
//! What it must not do: know what a replica is (that is `sync_replica.rs`), or panic on any
//! input: malformed XML is an [`XmlError`].

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// One element: its local name, attributes (local name, value), child elements and text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

/// Why the XML could not be read, one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

/// The deepest nesting accepted (the replica XML is about 8 levels deep).
const MAX_DEPTH: usize = 64;

impl Element {
    /// The first child named `name` (local name, ASCII case ignored).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    /// The trimmed text of the child `name`, if the child exists and has text.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The attribute `name` (local name, ASCII case ignored).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `xml` into its root element.
pub fn parse(xml: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError(format!("nested deeper than {MAX_DEPTH} elements")));
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => {
                let done = element(&start)?;
                close(&mut stack, &mut root, done)?;
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| XmlError("an end tag without its start".into()))?;
                close(&mut stack, &mut root, done)?;
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    let decoded = text.xml10_content().map_err(|e| XmlError(e.to_string()))?;
                    top.text.push_str(&decoded);
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    let decoded = data.decode().map_err(|e| XmlError(e.to_string()))?;
                    top.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(top) = stack.last_mut() {
                    let resolved = resolve_reference(&reference)?;
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError(format!(
            "the document ends inside <{}>",
            stack.last().map(|e| e.name.as_str()).unwrap_or_default()
        )));
    }
    root.ok_or_else(|| XmlError("no element in the document".into()))
}

fn close(stack: &mut [Element], root: &mut Option<Element>, done: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err(XmlError("more than one root element".into())),
    }
    Ok(())
}

fn element(start: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| XmlError(format!("in <{name}>: {e}")))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError(format!("in <{name}>: {e}")))?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, XmlError> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|e| XmlError(e.to_string()))?
    {
        return Ok(c.to_string());
    }
    let name = reference.decode().map_err(|e| XmlError(e.to_string()))?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| XmlError(format!("unknown entity &{name};")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_read_alike() {
        let single = "<GPSyncReplica xsi:type='typens:GPSyncReplica' xmlns:xsi='x'><ID>1</ID><G xsi:type='xs:long'>7</G></GPSyncReplica>";
        let double = "<typens:GPSyncReplica xmlns:typens=\"t\" xsi:type=\"typens:GPSyncReplica\"><typens:ID>1</typens:ID><G>7</G></typens:GPSyncReplica>";
        for xml in [single, double] {
            let root = parse(xml).unwrap();
            assert_eq!(root.name, "GPSyncReplica");
            assert_eq!(root.child_text("id"), Some("1"));
            assert_eq!(root.child_text("G"), Some("7"));
            assert_eq!(root.attribute("type"), Some("typens:GPSyncReplica"));
        }
    }

    #[test]
    fn entities_are_resolved() {
        let root = parse("<a><w>PROJCS[&quot;W&quot;,&#65;]</w></a>").unwrap();
        assert_eq!(root.child_text("w"), Some("PROJCS[\"W\",A]"));
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for bad in [
            "",
            "<a><b></a>",
            "<a>",
            "not xml",
            "<a></a><b></b>",
            "<a>&nope;</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
