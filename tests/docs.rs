//! The examples in `docs/mappings.md` are real: every ```toml block loads as
//! a mapping, and a block that names an example workbook reads it fully.

mod common;

use common::*;
use iorready::config::Source;
use iorready::mapping::Mapping;

/// The ```toml blocks of the document, with the line each starts on.
fn toml_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match current.take() {
            None if line.trim_start() == "```toml" => current = Some((i + 2, String::new())),
            None => {}
            Some(block) if fence => blocks.push(block),
            Some((start, mut text)) => {
                text.push_str(line);
                text.push('\n');
                current = Some((start, text));
            }
        }
    }
    blocks
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/mappings.md")).unwrap()
}

#[test]
fn the_reference_has_examples() {
    let blocks = toml_blocks(&doc());
    assert!(blocks.len() >= 5, "{} toml blocks", blocks.len());
}

#[test]
fn every_mapping_in_the_reference_loads() {
    for (line, text) in toml_blocks(&doc()) {
        let src = Source::new(format!("docs/mappings.md (block at line {line})"), text.as_str());
        if let Err(e) = Mapping::from_source(&src) {
            panic!("{e}");
        }
    }
}

#[test]
fn every_worked_example_reads_its_workbook() {
    let mut examples = 0;
    for (line, text) in toml_blocks(&doc()) {
        let Some(path) = text.lines().next().and_then(|l| l.strip_prefix("# example:")) else {
            continue;
        };
        examples += 1;
        let dir = tempfile::tempdir().unwrap();
        let mapping = dir.path().join("example.toml");
        std::fs::write(&mapping, &text).unwrap();
        let input = root().join(path.trim());
        let o = iorready(&["mapping", "check", mapping.to_str().unwrap(), input.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "docs/mappings.md block at line {line} on {}:\n{}{}",
            path.trim(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(examples >= 4, "a worked example per layout, found {examples}");
}
