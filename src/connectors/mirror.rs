//! The mirror of a connector's workbooks: each file saved under
//! `<job>/<connector>/<supplier>/` with a sidecar saying where it came from
//! and how to write its results back; names safe on any file system and
//! stable from run to run; and the files that leave it (deleted, moved,
//! no longer at the vendor).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::exchange::{io, ExchangeError};

/// A workbook fetched from a connector, remembered for write-back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fetched {
    /// The connector's name.
    pub connector: String,
    /// Where it was saved for scoring. In its sidecar, only its file name:
    /// the sidecar sits beside it, so a state folder that moves keeps its
    /// mirror.
    pub path: PathBuf,
    /// The supplier record it belongs to.
    pub parent: Option<serde_json::Value>,
    /// The id of the record that pointed at it (a drive item's id), which
    /// a delta listing names when the file is renamed or deleted.
    #[serde(default)]
    pub record_id: Option<String>,
    /// The file stream that listed it: record ids are only told apart
    /// within one stream (two streams, or two suppliers' attachments, may
    /// both have a record `5`). `None` in a sidecar written before it was
    /// kept: such a file is taken to be of whichever stream lists its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
}

/// What sits beside each mirrored workbook: how to write its results back.
const SIDECAR: &str = ".iorready.json";

/// The longest mirror file name, in bytes: room for the sidecar's suffix
/// and any file system's limit.
const MAX_NAME_BYTES: usize = 120;

/// A file name safe on every file system, keeping what it can of `name`:
/// never a folder above or the folder itself, never hidden (so never taken
/// for one of iorready's own `.iorready-` temporary files and swept), and
/// at most [`MAX_NAME_BYTES`] bytes, keeping the extension.
pub(super) fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    // `..`, `.` or nothing would name a folder above or the folder itself,
    // and a leading dot a hidden file: a name from an API must stay one
    // visible file inside the mirror.
    let safe = if safe.trim_matches(['.', ' ']).is_empty() || safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    shorten(&safe, MAX_NAME_BYTES)
}

/// The folder of a supplier's files: its id when that is already a safe
/// name; otherwise the safe form of the id followed by `~` and a digest of
/// the id as it is. Two ids that differ only in characters a file name
/// cannot hold (`x/y`, `x_y`) never share a folder: a plain name has no
/// `~`, and every other name carries its own id's digest. (Ids that differ
/// only in case are told apart by [`SupplierFolders`].)
pub(super) fn supplier_folder(id: &str) -> String {
    let safe = safe_name(id);
    if safe == id {
        safe
    } else {
        digested_folder(id)
    }
}

/// The safe form of `id` followed by `~` and a digest of `id`.
fn digested_folder(id: &str) -> String {
    let digest = blake3::hash(id.as_bytes()).to_hex();
    shorten_stem(&safe_name(id), MAX_NAME_BYTES - 17) + "~" + &digest.as_str()[..16]
}

/// Which supplier has which folder in a connector's mirror: a supplier
/// mirrored before keeps its folder; a new one gets [`supplier_folder`],
/// unless another supplier already has a folder of that name ignoring
/// case (`ABC` and `abc` would be one folder on a file system that ignores
/// case), when it gets the digested name, unique to its id.
pub(super) struct SupplierFolders {
    /// Folder name by supplier id.
    by_supplier: HashMap<String, String>,
}

impl SupplierFolders {
    /// The folders of the suppliers of the files `earlier` runs mirrored.
    pub(super) fn new(earlier: &[Fetched]) -> Self {
        let mut by_supplier = HashMap::new();
        for f in earlier {
            let supplier = f
                .parent
                .as_ref()
                .and_then(id_text)
                .unwrap_or_else(|| TOP_LEVEL.to_owned());
            if let Some(folder) = f.path.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
                by_supplier.entry(supplier).or_insert_with(|| folder.to_owned());
            }
        }
        Self { by_supplier }
    }

    /// The folder of the supplier `id`.
    pub(super) fn folder(&mut self, id: &str) -> String {
        if let Some(folder) = self.by_supplier.get(id) {
            return folder.clone();
        }
        let plain = supplier_folder(id);
        let taken = self
            .by_supplier
            .values()
            .any(|other| other.to_lowercase() == plain.to_lowercase());
        let folder = if taken { digested_folder(id) } else { plain };
        self.by_supplier.insert(id.to_owned(), folder.clone());
        folder
    }
}

/// The "supplier" of the files of a top-level stream: they share one
/// folder (the listing's order may change, so not one numbered by
/// position).
pub(super) const TOP_LEVEL: &str = "files";

/// `name` cut to at most `max` bytes on a character boundary.
fn shorten_stem(name: &str, max: usize) -> String {
    let mut cut = max.min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    name[..cut].to_owned()
}

/// `name` cut to at most `max` bytes on a character boundary, keeping its
/// extension (up to 16 bytes of it).
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= 16 => name.split_at(i),
        _ => (name, ""),
    };
    let mut cut = max.saturating_sub(ext.len()).min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// The text of a record's `id`: a string as it is, a number as written.
pub(super) fn id_text(record: &serde_json::Value) -> Option<String> {
    record
        .get("id")
        .filter(|id| !id.is_null())
        .map(super::templates::value_text)
}

/// How a mirrored file is named in its supplier's folder: its own name,
/// or `<record id>-<name>` when another record of the folder has the same
/// name. Which one keeps the plain name never depends on the order the API
/// lists them in: a file mirrored in an earlier run keeps the name its
/// sidecar records; among new ones, a clash gives each the prefixed name.
pub(super) struct MirrorNames {
    /// Earlier runs' files: by (supplier folder, record id), their path.
    pub(super) earlier_by_record: HashMap<(PathBuf, String), PathBuf>,
    /// Earlier runs' files: by path, the record id their sidecar names.
    earlier_holder: HashMap<PathBuf, Option<String>>,
    /// This run's claims of plain names: the record that took it (its id,
    /// empty when it has none, and its label), or `None` once two records
    /// clashed on it.
    claims: HashMap<PathBuf, Option<(String, String)>>,
}

/// Where a file goes, and an earlier file of this run to move aside.
pub(super) struct Placed {
    pub(super) path: PathBuf,
    /// A file saved earlier in this run under the plain name, with the
    /// path it moves to now that another record has the same name.
    pub(super) displaced: Option<(PathBuf, PathBuf)>,
}

impl MirrorNames {
    pub(super) fn new(earlier: &[Fetched]) -> Self {
        let mut earlier_by_record = HashMap::new();
        let mut earlier_holder = HashMap::new();
        for f in earlier {
            if let (Some(dir), Some(id)) = (f.path.parent(), &f.record_id) {
                earlier_by_record.insert((dir.to_owned(), id.clone()), f.path.clone());
            }
            earlier_holder.insert(f.path.clone(), f.record_id.clone());
        }
        Self {
            earlier_by_record,
            earlier_holder,
            claims: HashMap::new(),
        }
    }

    /// Where the file `name` of the record `id` (empty when it has none)
    /// goes in the folder `sub`; `label` prefixes its name on a clash: its
    /// id, or for a record without one a digest of its content.
    pub(super) fn place(&mut self, sub: &Path, id: &str, label: &str, name: &str) -> Placed {
        let plain = sub.join(safe_name(name));
        let prefixed = |label: &str| sub.join(safe_name(&format!("{label}-{name}")));
        let mine = prefixed(label);
        let kept = |path: PathBuf| Placed { path, displaced: None };
        if let Some(before) = self.earlier_by_record.get(&(sub.to_owned(), id.to_owned())) {
            if *before == plain || *before == mine {
                return kept(before.clone());
            }
        }
        // Without ids, the record that held the name before is taken to be
        // this one: nothing tells them apart.
        if self
            .earlier_holder
            .get(&plain)
            .is_some_and(|holder| holder.as_deref().unwrap_or_default() != id)
        {
            return kept(mine);
        }
        match self.claims.get(&plain) {
            None => {
                self.claims
                    .insert(plain.clone(), Some((id.to_owned(), label.to_owned())));
                kept(plain)
            }
            // The same record listed twice (a delta listing may).
            Some(Some((first, first_label))) if *first == id && (!id.is_empty() || first_label == label) => kept(plain),
            Some(Some((_, first_label))) => {
                let moved = prefixed(first_label);
                self.claims.insert(plain.clone(), None);
                Placed {
                    path: mine,
                    displaced: Some((plain, moved)),
                }
            }
            Some(None) => kept(mine),
        }
    }
}

/// Moves a file saved earlier in this run, and its sidecar, from `from` to
/// `to`: another record of its folder turned out to have the same name.
pub(super) fn move_aside(files: &mut [Fetched], from: &Path, to: &Path) -> Result<(), ExchangeError> {
    let Some(f) = files.iter_mut().find(|f| f.path == from) else {
        return Ok(());
    };
    std::fs::rename(from, to).map_err(io(from))?;
    let _ = std::fs::remove_file(sidecar_path(from));
    f.path = to.to_owned();
    write_sidecar(f)
}

/// Writes the sidecar of a mirrored file, naming the file relative to
/// itself.
pub(super) fn write_sidecar(fetched: &Fetched) -> Result<(), ExchangeError> {
    let sidecar = sidecar_path(&fetched.path);
    let relative = Fetched {
        path: PathBuf::from(fetched.path.file_name().unwrap_or_default()),
        ..fetched.clone()
    };
    let bytes = serde_json::to_vec(&relative).map_err(|e| ExchangeError::Io {
        path: sidecar.clone(),
        source: std::io::Error::other(e),
    })?;
    save(&sidecar, &bytes)
}

pub(super) fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR);
    path.with_file_name(name)
}

/// Writes a fetched file whole or not at all: a run killed mid-write must
/// not leave half a workbook in a mirror.
pub(super) fn save(path: &Path, bytes: &[u8]) -> Result<(), ExchangeError> {
    crate::sinks::write_atomically(path, |tmp| {
        std::io::Write::write_all(tmp, bytes).map_err(|source| crate::sinks::SinkError::Io {
            path: path.to_owned(),
            source,
        })
    })
    .map_err(|e| ExchangeError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// A file that left the mirror this run, by what tells a record apart:
/// its stream, its supplier's folder and its record id.
pub(super) type Gone = HashSet<(String, PathBuf, String)>;

/// Removes from the mirror the files a delta listing said left their
/// supplier's folder (`gone`: deleted, moved out of the stream's view, no
/// longer a workbook), and the old copies of files fetched again under a
/// new name (the same record of the same stream in the same folder, at
/// another path). A file of another stream or supplier that happens to
/// share the record id is left alone.
pub(super) fn forget_moved_and_deleted(dir: &Path, name: &str, fetched: &[Fetched], gone: &Gone) {
    if gone.is_empty() && fetched.iter().all(|f| f.record_id.is_none()) {
        return;
    }
    // By (folder, record id): the streams and paths fetched this run.
    type Listed<'a> = Vec<(Option<&'a str>, &'a Path)>;
    let mut current: HashMap<(&Path, &str), Listed> = HashMap::new();
    for f in fetched {
        if let (Some(id), Some(sub)) = (f.record_id.as_deref(), f.path.parent()) {
            current
                .entry((sub, id))
                .or_default()
                .push((f.stream.as_deref(), f.path.as_path()));
        }
    }
    for old in mirrored(dir, name) {
        let (Some(id), Some(sub)) = (old.record_id.as_deref(), old.path.parent()) else {
            continue;
        };
        // An old sidecar names no stream: it is the record of any stream.
        let same_stream = |stream: Option<&str>| old.stream.is_none() || stream == old.stream.as_deref();
        let now: Vec<&Path> = current
            .get(&(sub, id))
            .into_iter()
            .flatten()
            .filter(|(stream, _)| same_stream(*stream))
            .map(|(_, path)| *path)
            .collect();
        if now.contains(&old.path.as_path()) {
            continue;
        }
        let deleted = gone
            .iter()
            .any(|(stream, dir, gone_id)| dir == sub && gone_id == id && same_stream(Some(stream)));
        let moved = !now.is_empty();
        if deleted || moved {
            tracing::info!(connector = %name, file = %old.path.display(), deleted, "removed from the mirror");
            let _ = std::fs::remove_file(&old.path);
            let _ = std::fs::remove_file(sidecar_path(&old.path));
        }
    }
}

/// Every workbook mirrored in `dir/<name>/` with its sidecar. Each one's
/// path is the sidecar's own, less its suffix: what the sidecar says is
/// not trusted to point anywhere else, and the mirror may have moved.
pub fn mirrored(dir: &Path, name: &str) -> Vec<Fetched> {
    let folder = dir.join(crate::model::slug(name));
    let mut out = Vec::new();
    let mut stack = vec![folder];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let file_name = entry.file_name();
            let Some(workbook) = file_name.to_str().and_then(|n| n.strip_suffix(SIDECAR)) else {
                continue;
            };
            let parsed: Option<Fetched> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(mut f) = parsed {
                f.path = d.join(workbook);
                if f.path.is_file() {
                    out.push(f);
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Removes from the mirror `dir/<name>/` every workbook not in `keep` (the
/// vendor no longer has it), with its sidecar.
pub fn prune_mirror(dir: &Path, name: &str, keep: &[Fetched]) {
    let keep: HashSet<&Path> = keep.iter().map(|f| f.path.as_path()).collect();
    for f in mirrored(dir, name) {
        if !keep.contains(f.path.as_path()) {
            tracing::info!(connector = %name, file = %f.path.display(), "no longer at the vendor; removed from the mirror");
            let _ = std::fs::remove_file(&f.path);
            let _ = std::fs::remove_file(sidecar_path(&f.path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_from_an_api_never_leaves_its_folder() {
        for evil in ["..", ".", "", "../../etc/passwd", "a/../../b", " .. "] {
            let safe = safe_name(evil);
            assert!(
                !safe.contains('/') && !safe.trim_matches(['.', ' ']).is_empty(),
                "{evil:?} -> {safe:?}"
            );
            let p = Path::new("/mirror/x").join(&safe);
            assert_eq!(p.parent(), Some(Path::new("/mirror/x")), "{evil:?}");
        }
    }

    #[test]
    fn a_name_from_an_api_is_never_hidden_nor_taken_for_a_temporary_file() {
        for name in [".iorready-x.xlsx", ".hidden.xlsx", ".iorready-", "..x"] {
            let safe = safe_name(name);
            assert!(!safe.starts_with('.'), "{name:?} -> {safe:?}");
        }
        assert_eq!(safe_name(".iorready-x.xlsx"), "_.iorready-x.xlsx");
    }

    #[test]
    fn a_long_name_is_cut_on_a_character_boundary_keeping_its_extension() {
        let long = format!("{}.xlsx", "é".repeat(100));
        let safe = safe_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES, "{}", safe.len());
        assert!(safe.ends_with("é.xlsx"), "{safe}");
        assert_eq!(safe_name(&"a".repeat(300)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn records_clashing_on_a_name_are_named_alike_whatever_their_order() {
        let sub = Path::new("/m/c/S1");
        let names = |order: &[&str]| {
            let mut n = MirrorNames::new(&[]);
            let mut placed: Vec<(String, PathBuf)> = Vec::new();
            for id in order {
                let p = n.place(sub, id, id, "q.xlsx");
                if let Some((from, to)) = p.displaced {
                    for (_, path) in placed.iter_mut().filter(|(_, path)| *path == from) {
                        *path = to.clone();
                    }
                }
                placed.push((id.to_string(), p.path));
            }
            placed.sort();
            placed
        };
        let expected = vec![
            ("7".to_owned(), sub.join("7-q.xlsx")),
            ("8".to_owned(), sub.join("8-q.xlsx")),
        ];
        assert_eq!(names(&["7", "8"]), expected);
        assert_eq!(names(&["8", "7"]), expected);
    }

    #[test]
    fn a_name_an_earlier_run_gave_a_record_stays_its_own() {
        let sub = Path::new("/m/c/S1");
        let earlier = Fetched {
            connector: "c".into(),
            path: sub.join("q.xlsx"),
            parent: None,
            record_id: Some("7".into()),
            stream: None,
        };
        let mut n = MirrorNames::new(&[earlier]);
        assert_eq!(n.place(sub, "8", "8", "q.xlsx").path, sub.join("8-q.xlsx"));
        let seven = n.place(sub, "7", "7", "q.xlsx");
        assert_eq!((seven.path, seven.displaced), (sub.join("q.xlsx"), None));
    }

    #[test]
    fn an_ordinary_file_name_is_kept() {
        assert_eq!(safe_name("IOR questionnaire 2026.xlsx"), "IOR questionnaire 2026.xlsx");
    }

    #[test]
    fn ids_that_differ_only_in_characters_a_file_name_cannot_hold_get_their_own_folders() {
        assert_ne!(supplier_folder("x/y"), supplier_folder("x_y"));
        assert_eq!(supplier_folder("x_y"), "x_y");
        assert!(supplier_folder("x/y").starts_with("x_y~"));
    }

    #[test]
    fn ids_that_differ_only_in_case_get_folders_that_differ_ignoring_case() {
        let mut folders = SupplierFolders::new(&[]);
        let (a, b) = (folders.folder("ABC"), folders.folder("abc"));
        assert_eq!(a, "ABC");
        assert_ne!(a.to_lowercase(), b.to_lowercase());
        assert_eq!(folders.folder("abc"), b, "the same supplier, the same folder");
    }

    #[test]
    fn a_supplier_folder_is_the_same_from_run_to_run() {
        assert_eq!(
            supplier_folder("Société Générale/7"),
            supplier_folder("Société Générale/7")
        );
        assert!(supplier_folder(&"Ä/".repeat(100)).len() <= MAX_NAME_BYTES);
    }
}
