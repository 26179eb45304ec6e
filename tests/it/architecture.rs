//! Keeps ARCHITECTURE.md true. Reads the rules block of ARCHITECTURE.md (the parts, what each may
//! import, which external crates belong to which parts, and the arrows that must never exist) and
//! every file under `src/`, and fails when:
//! * a part imports a part it may not (`crate::…`, `super::…` and `self::…` paths, `use` trees
//!   with braces, paths in code; comments and string literals are not code);
//! * an owned external crate (`reqwest`, `rusqlite`, `egui`, …) is named outside its owners;
//! * files import each other in a circle (a file using its own parent module or child module is
//!   not a circle; two siblings, or longer loops, are);
//! * a file under `src/` belongs to no part;
//! * a file of the repository points at documents outside it.
//!
//! The unit tests at the bottom feed the checker sample source texts and show that it catches a
//! forbidden import, a crate outside its owners and a circle, and ignores comments and strings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The rules, as ARCHITECTURE.md states them
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Part {
    name: String,
    /// `src/engine/` (a folder) or `src/main.rs` (a file).
    roots: Vec<String>,
    /// `None`: may import any part.
    may_use: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone)]
struct Rules {
    parts: Vec<Part>,
    /// External crate → the parts that may name it.
    crates: BTreeMap<String, BTreeSet<String>>,
    /// (from, to) → why not.
    never: BTreeMap<(String, String), String>,
}

/// The fenced block tagged `architecture` in ARCHITECTURE.md.
fn parse_rules(markdown: &str) -> Result<Rules, String> {
    let start = markdown
        .find("```architecture\n")
        .ok_or("ARCHITECTURE.md has no ```architecture block")?;
    let body = &markdown[start + "```architecture\n".len()..];
    let end = body
        .find("```")
        .ok_or("the ```architecture block is not closed")?;
    let mut rules = Rules {
        parts: Vec::new(),
        crates: BTreeMap::new(),
        never: BTreeMap::new(),
    };
    for (n, raw) in body[..end].lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = || format!("rules line {}: cannot read {raw:?}", n + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("part") => {
                let (head, tail) = line.split_once("may use:").ok_or_else(bad)?;
                let head: Vec<&str> = head.split_whitespace().collect();
                let name = head.get(1).ok_or_else(bad)?.to_string();
                let roots: Vec<String> = head[2..].iter().map(|s| s.to_string()).collect();
                if roots.is_empty() {
                    return Err(bad());
                }
                let tail: Vec<&str> = tail.split_whitespace().collect();
                let may_use = match tail.as_slice() {
                    ["anything"] => None,
                    ["nothing"] => Some(BTreeSet::new()),
                    list => Some(list.iter().map(|s| s.to_string()).collect()),
                };
                rules.parts.push(Part {
                    name,
                    roots,
                    may_use,
                });
            }
            Some("crate") => {
                let (head, tail) = line.split_once("only in:").ok_or_else(bad)?;
                let owners: BTreeSet<String> =
                    tail.split_whitespace().map(|s| s.to_string()).collect();
                for name in head.split_whitespace().skip(1) {
                    rules.crates.insert(name.to_string(), owners.clone());
                }
            }
            Some("never") => {
                // never FROM -> TO  reason…
                let (from, to) = (words.get(1).ok_or_else(bad)?, words.get(3).ok_or_else(bad)?);
                if words.get(2) != Some(&"->") {
                    return Err(bad());
                }
                let reason = words[4..].join(" ");
                rules
                    .never
                    .insert((from.to_string(), to.to_string()), reason);
            }
            _ => return Err(bad()),
        }
    }
    let names: BTreeSet<&str> = rules.parts.iter().map(|p| p.name.as_str()).collect();
    for part in &rules.parts {
        for used in part.may_use.iter().flatten() {
            if !names.contains(used.as_str()) {
                return Err(format!("part {} may use unknown part {used}", part.name));
            }
        }
    }
    for (from, to) in rules.never.keys() {
        let part = rules
            .parts
            .iter()
            .find(|p| &p.name == from)
            .ok_or(format!("never-arrow from unknown part {from}"))?;
        if part.may_use.as_ref().is_none_or(|m| m.contains(to)) {
            return Err(format!(
                "never {from} -> {to} contradicts what {from} may use"
            ));
        }
    }
    Ok(rules)
}

impl Rules {
    /// The part a file under `src/` belongs to (the longest matching root).
    fn part_of(&self, file: &str) -> Option<&Part> {
        self.parts
            .iter()
            .flat_map(|p| p.roots.iter().map(move |r| (p, r)))
            .filter(|(_, root)| {
                if root.ends_with('/') {
                    file.starts_with(root.as_str())
                } else {
                    file == root.as_str()
                }
            })
            .max_by_key(|(_, root)| root.len())
            .map(|(p, _)| p)
    }

    /// The part that owns the top-level module `name` (`engine` → the part rooted at `src/engine/`
    /// or `src/engine.rs`).
    fn part_of_module(&self, name: &str) -> Option<&Part> {
        self.part_of(&format!("src/{name}/mod.rs"))
            .or_else(|| self.part_of(&format!("src/{name}.rs")))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading Rust source: tokens without comments and literals, then the paths in them
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation; comments, strings, chars and numbers are dropped.
fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if (c == 'r' || c == 'b')
            && (at(i + 1) == '"' || at(i + 1) == '#' || (at(i + 1) == 'r' && c == 'b'))
            && raw_string_len(&chars[i..]).is_some()
        {
            i += raw_string_len(&chars[i..]).unwrap_or(1);
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::PathSep);
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// The length of a raw (byte) string literal starting here (`r"…"`, `r#"…"#`, `br"…"`), if it is one.
fn raw_string_len(chars: &[char]) -> Option<usize> {
    let mut i = 0;
    if chars.first() == Some(&'b') {
        i += 1;
    }
    if chars.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    if chars.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    loop {
        if i >= chars.len() {
            return Some(chars.len());
        }
        if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
}

/// One path found in a file: where it starts (`crate`, `super`, `self`) made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UsedPath {
    /// Module segments from the crate root (`["engine", "api", "Command"]`).
    segments: Vec<String>,
}

/// Every path in `text` that names something of this crate, resolved against the module `module`
/// (the file's module path; inline `mod name { … }` blocks are followed).
fn crate_paths(text: &str, module: &[String]) -> Vec<UsedPath> {
    let toks = tokens(text);
    let mut out = Vec::new();
    // Inline modules: (name, brace depth at which its block opened).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(first)
                if matches!(first.as_str(), "crate" | "super" | "self")
                    && toks.get(i + 1) == Some(&Tok::PathSep)
                    && (i == 0 || toks[i - 1] != Tok::PathSep) =>
            {
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let (trees, next) = path_tree(&toks, i);
                for relative in trees {
                    if let Some(segments) = absolute(&relative, &here) {
                        out.push(UsedPath { segments });
                    }
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads the path (or `use` tree) starting at `toks[i]`: every leaf path, and the index after it.
fn path_tree(toks: &[Tok], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match toks.get(i) {
            Some(Tok::Ident(name)) => {
                prefix.push(name.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => return (vec![prefix], i + 1),
            Some(Tok::Punct('{')) => {
                let mut leaves = Vec::new();
                i += 1;
                loop {
                    match toks.get(i) {
                        Some(Tok::Punct('}')) => return (leaves, i + 1),
                        Some(Tok::Punct(',')) => i += 1,
                        None => return (leaves, i),
                        Some(_) => {
                            let (sub, next) = path_tree(toks, i);
                            for s in sub {
                                let mut full = prefix.clone();
                                // `self` inside braces names the prefix itself.
                                full.extend(s.into_iter().filter(|seg| seg != "self"));
                                leaves.push(full);
                            }
                            // Skip `as alias` and anything else up to the next `,` or `}`.
                            i = next;
                            while !matches!(
                                toks.get(i),
                                None | Some(Tok::Punct(',')) | Some(Tok::Punct('}'))
                            ) {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => return (vec![prefix], i),
        }
        if toks.get(i) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// `crate::a::b` → `[a, b]`; `super::x` / `self::x` against the current module.
fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = here.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// `src/engine/job/sync.rs` → `[engine, job, sync]`; `src/engine/mod.rs` → `[engine]`.
fn module_of(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut segs: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        segs.last().map(String::as_str),
        Some("mod") | Some("lib") | Some("main")
    ) {
        segs.pop();
    }
    segs
}

/// External crate names used in `text` (`reqwest::Client`, `use rusqlite;`).
fn external_crates(text: &str, watched: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let toks = tokens(text);
    let mut found = BTreeSet::new();
    for (i, tok) in toks.iter().enumerate() {
        if let Tok::Ident(name) = tok {
            let after_sep = i > 0 && toks[i - 1] == Tok::PathSep;
            let used_as_path = toks.get(i + 1) == Some(&Tok::PathSep);
            let used_whole = i > 0
                && toks[i - 1] == Tok::Ident("use".into())
                && toks.get(i + 1) == Some(&Tok::Punct(';'));
            if watched.contains_key(name) && !after_sep && (used_as_path || used_whole) {
                found.insert(name.clone());
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

/// Everything wrong with `files` (path relative to the repository, text) under `rules`.
fn check(rules: &Rules, files: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let known: BTreeSet<Vec<String>> = files.iter().map(|(f, _)| module_of(f)).collect();
    let file_of: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|(f, _)| (module_of(f), f.clone()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    for (file, text) in files {
        let Some(part) = rules.part_of(file) else {
            problems.push(format!(
                "{file} belongs to no part of ARCHITECTURE.md: add it to a part's files"
            ));
            continue;
        };
        let module = module_of(file);
        for used in crate_paths(text, &module) {
            let Some(top) = used.segments.first() else {
                continue;
            };
            // Part rule.
            if let Some(target) = rules.part_of_module(top)
                && target.name != part.name
                && let Some(may) = &part.may_use
                && !may.contains(&target.name)
            {
                let why = rules
                    .never
                    .get(&(part.name.clone(), target.name.clone()))
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                problems.push(format!(
                    "{file}: {} must not import {}{why}: crate::{}",
                    part.name,
                    target.name,
                    used.segments.join("::")
                ));
            }
            // File edge: the longest prefix of the path that is a file.
            let target = (1..=used.segments.len())
                .rev()
                .map(|n| used.segments[..n].to_vec())
                .find(|prefix| known.contains(prefix));
            if let Some(target) = target {
                let related = target.starts_with(&module) || module.starts_with(&target);
                if !related && let Some(target_file) = file_of.get(&target) {
                    edges
                        .entry(file.clone())
                        .or_default()
                        .insert(target_file.clone());
                }
            }
        }
        for name in external_crates(text, &rules.crates) {
            let owners = &rules.crates[&name];
            if !owners.contains(&part.name) {
                problems.push(format!(
                    "{file}: {} uses the crate {name}, which only {} may use",
                    part.name,
                    owners.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for cycle in cycles(&edges) {
        problems.push(format!(
            "files import each other in a circle: {}",
            cycle.join(", ")
        ));
    }
    problems
}

/// The strongly connected groups of two or more files (Tarjan), each sorted by path.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    group.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in edges.keys() {
        if !t.index.contains_key(node.as_str()) {
            t.visit(node);
        }
    }
    t.groups
}

// ---------------------------------------------------------------------------------------------
// The repository
// ---------------------------------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source_files() -> Vec<(String, String)> {
    let root = repo();
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under the repository")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            (rel, text)
        })
        .collect()
}

fn architecture_md() -> String {
    std::fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md exists")
}

/// `src/` keeps the rules of ARCHITECTURE.md: no forbidden import, no owned crate outside its
/// owners, no circle of files, no file outside the parts.
#[test]
fn src_follows_architecture_md() {
    let rules = parse_rules(&architecture_md()).expect("ARCHITECTURE.md's rules block reads");
    let files = source_files();
    assert!(files.len() > 50, "read the sources ({} files)", files.len());
    let mut problems = check(&rules, &files);
    for part in &rules.parts {
        for root in &part.roots {
            if !repo().join(root).exists() {
                problems.push(format!(
                    "ARCHITECTURE.md names {root} for {}, which does not exist",
                    part.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md is not kept ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Nothing in the repository points at documents a clone does not have.
#[test]
fn no_file_points_outside_the_repository() {
    let outside = ["..", "/shared"].concat();
    let cited = [
        ["seed ", "000"].concat(),
        ["seed ", "004"].concat(),
        ["DESIGN", ".md"].concat(),
        ["sync-ux", ".md"].concat(),
    ];
    let root = repo();
    let mut texts = Vec::new();
    for dir in ["src", "tests", "benches", "docs", ".ci", "assets"] {
        let mut files = Vec::new();
        walk(&root.join(dir), &mut files);
        texts.extend(files);
    }
    for entry in std::fs::read_dir(&root).expect("the repository").flatten() {
        if entry.path().extension().is_some_and(|e| e == "md") {
            texts.push(entry.path());
        }
    }
    let mut found = Vec::new();
    for path in texts {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not text
        };
        for (n, line) in text.lines().enumerate() {
            let missing = cited_documents(line)
                .into_iter()
                .filter(|doc| !root.join(doc).exists() && !root.join("docs").join(doc).exists())
                .collect::<Vec<_>>();
            if line.contains(&outside)
                || cited.iter().any(|c| line.contains(c.as_str()))
                || !missing.is_empty()
            {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "these lines point outside the repository:\n{}",
        found.join("\n")
    );
}

/// The documents a line names (`docs/arcgis-sync.md`, `README.md`): words ending in `.md`.
fn cited_documents(line: &str) -> Vec<String> {
    line.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
        .filter(|w| w.ends_with(".md") && w.len() > 3)
        .map(|w| w.trim_start_matches("./").to_string())
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checker's own tests, on sample texts
// ---------------------------------------------------------------------------------------------

const SAMPLE_RULES: &str = "
```architecture
part protocol src/protocol/ may use: nothing
part store    src/store/    may use: protocol
part engine   src/engine/   may use: protocol store
part ui       src/ui/       may use: protocol engine
part cli      src/cli/ src/lib.rs may use: anything
crate reqwest only in: engine
never ui -> cli   the window is started, it does not start
never store -> engine   data below, workers above
```
";

fn sample(files: &[(&str, &str)]) -> Vec<String> {
    let rules = parse_rules(SAMPLE_RULES).expect("sample rules read");
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    check(&rules, &files)
}

#[test]
fn a_forbidden_import_is_caught_with_its_reason() {
    let problems = sample(&[
        ("src/ui/mod.rs", "use crate::cli::exit;\nfn f() {}"),
        ("src/cli/mod.rs", "pub mod exit;"),
        ("src/cli/exit.rs", "pub const OK: u8 = 0;"),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("ui must not import cli"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("the window is started"),
        "{problems:?}"
    );
}

#[test]
fn imports_inside_braces_and_in_code_are_read() {
    let problems = sample(&[
        (
            "src/ui/app.rs",
            "use crate::{engine::Command, store::{Store, self}};\nfn f() { crate::cli::run(); }",
        ),
        ("src/store/mod.rs", "use super::engine::Thing;"),
    ]);
    let text = problems.join("\n");
    assert!(text.contains("ui must not import store"), "{text}");
    assert!(text.contains("ui must not import cli"), "{text}");
    assert!(
        text.contains("store must not import engine (data below"),
        "{text}"
    );
    assert!(
        !text.contains("import engine: crate::engine::Command"),
        "{text}"
    );
}

#[test]
fn comments_strings_and_test_modules_are_not_imports() {
    let problems = sample(&[
        (
            "src/engine/mod.rs",
            "//! Talks to `crate::ui` never.\n/* crate::cli::x */\nconst S: &str = \"crate::cli::x\";\n\
             const R: &str = r#\"crate::ui::y\"#;\nfn f<'a>(x: &'a str) -> char { 'c' }\n\
             #[cfg(test)]\nmod tests { use super::*; use super::super::protocol::X; }",
        ),
        ("src/protocol/mod.rs", "pub struct X;"),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn owned_crates_outside_their_owners_are_caught() {
    let problems = sample(&[
        (
            "src/ui/net.rs",
            "fn f() { let c = reqwest::Client::new(); }",
        ),
        (
            "src/engine/net.rs",
            "use reqwest;\nfn f() { reqwest::get(); }",
        ),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("src/ui/net.rs: ui uses the crate reqwest"),
        "{problems:?}"
    );
}

#[test]
fn a_circle_of_sibling_files_is_caught_but_parent_and_child_are_not() {
    let problems = sample(&[
        (
            "src/engine/mod.rs",
            "mod a; mod b; pub use a::A; use crate::engine::b::B;",
        ),
        (
            "src/engine/a.rs",
            "use super::b::B; use super::Deps; pub struct A;",
        ),
        ("src/engine/b.rs", "use crate::engine::a::A; pub struct B;"),
        ("src/engine/c.rs", "use super::a::A;"),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].ends_with("in a circle: src/engine/a.rs, src/engine/b.rs"),
        "{problems:?}"
    );
}

#[test]
fn a_file_outside_every_part_is_caught() {
    let problems = sample(&[("src/helpers.rs", "pub fn f() {}")]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("belongs to no part"), "{problems:?}");
}

#[test]
fn rules_that_contradict_themselves_are_refused() {
    let text = "```architecture\npart ui src/ui/ may use: cli\npart cli src/cli/ may use: anything\n\
                never ui -> cli no\n```";
    assert!(parse_rules(text).unwrap_err().contains("contradicts"));
}
