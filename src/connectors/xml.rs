//! XML answers (Coupa's default, older SOAP-ish APIs) turned into the same
//! JSON shape the rest of the engine reads, so record paths and templates
//! work alike: the document becomes `{"<root>": ...}`; an element with only
//! text becomes a string; one with children or attributes an object whose
//! repeated children collect into an array; `type="array"` (the Rails
//! convention Coupa uses) makes an array even of one child; `nil="true"`
//! makes null. Attributes are kept under `@name`, text beside children under
//! `#text`. Built with an explicit stack, so deep nesting cannot overflow.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

/// Deeper documents are refused: no vendor's records nest this far.
const MAX_DEPTH: usize = 256;

/// One element being built.
struct Open {
    name: String,
    array: bool,
    nil: bool,
    attrs: Map<String, Value>,
    children: Vec<(String, Value)>,
    text: String,
}

impl Open {
    fn new(e: &quick_xml::events::BytesStart<'_>) -> Result<Self, String> {
        let name = e.local_name().as_ref().to_owned();
        let mut open = Open {
            name,
            array: false,
            nil: false,
            attrs: Map::new(),
            children: Vec::new(),
            text: String::new(),
        };
        for a in e.attributes() {
            let a = a.map_err(|err| format!("a bad attribute in <{}>: {err}", open.name))?;
            let key = a.key.local_name().as_ref().to_owned();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| format!("a bad attribute value in <{}>: {err}", open.name))?;
            match (key.as_str(), value.as_ref()) {
                ("type", "array") => open.array = true,
                ("nil", "true") => open.nil = true,
                // Type hints (integer, datetime, boolean) describe the text.
                ("type", _) => {}
                _ => {
                    open.attrs.insert(format!("@{key}"), Value::String(value.into_owned()));
                }
            }
        }
        Ok(open)
    }

    fn finish(self) -> Value {
        if self.nil {
            return Value::Null;
        }
        if self.array {
            return Value::Array(self.children.into_iter().map(|(_, v)| v).collect());
        }
        let text = self.text.trim();
        if self.children.is_empty() && self.attrs.is_empty() {
            return Value::String(text.to_owned());
        }
        let mut object = self.attrs;
        for (name, value) in self.children {
            match object.get_mut(&name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    object.insert(name, value);
                }
            }
        }
        if !text.is_empty() {
            object.insert("#text".into(), Value::String(text.to_owned()));
        }
        Value::Object(object)
    }
}

/// Converts an XML document to JSON; the message says what is wrong and
/// where (byte offset).
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML at byte {at}: {e}"))?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("XML nested deeper than {MAX_DEPTH} elements"));
                }
                stack.push(Open::new(&e)?);
            }
            Event::Empty(e) => {
                let open = Open::new(&e)?;
                let name = open.name.clone();
                close(&mut stack, &mut root, name, open.finish())?;
            }
            Event::End(_) => {
                let open = stack
                    .pop()
                    .ok_or_else(|| format!("an unexpected end tag at byte {at}"))?;
                let name = open.name.clone();
                close(&mut stack, &mut root, name, open.finish())?;
            }
            Event::Text(t) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let Some(open) = stack.last_mut() else { continue };
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| format!("a bad character reference at byte {at}: {e}"))?
                {
                    open.text.push(c);
                } else {
                    let name = r.into_inner();
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("an unknown entity &{name}; at byte {at}"))?;
                    open.text.push_str(resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("the XML document ends before its elements are closed (cut short?)".into());
    }
    let (name, value) = root.ok_or("the XML document has no element")?;
    let mut doc = Map::new();
    doc.insert(name, value);
    Ok(Value::Object(doc))
}

fn close(stack: &mut [Open], root: &mut Option<(String, Value)>, name: String, value: Value) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push((name, value)),
        None if root.is_none() => *root = Some((name, value)),
        None => return Err("the XML document has more than one root element".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rails_style_array_of_records_becomes_a_json_array() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<suppliers type="array">
  <supplier><id type="integer">1</id><name>Acme &amp; Sons</name><display-name nil="true"/></supplier>
</suppliers>"#;
        assert_eq!(
            to_json(xml).unwrap(),
            json!({"suppliers": [{"id": "1", "name": "Acme & Sons", "display-name": null}]})
        );
    }

    #[test]
    fn repeated_children_collect_and_attributes_are_kept() {
        let xml = r#"<r><item code="A">x</item><item>y&#233;</item></r>"#;
        assert_eq!(
            to_json(xml).unwrap(),
            json!({"r": {"item": [{"@code": "A", "#text": "x"}, "yé"]}})
        );
    }

    #[test]
    fn a_document_cut_short_is_an_error() {
        assert!(to_json("<suppliers><supplier><id>1</id>")
            .unwrap_err()
            .contains("cut short"));
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_without_overflowing() {
        let deep = "<a>".repeat(100_000);
        assert!(to_json(&deep).unwrap_err().contains("deeper"));
    }
}
