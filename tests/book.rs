//! The book's promises about itself: every chapter in SUMMARY.md exists and
//! every page is in SUMMARY.md; every `{{#include}}` names a file that exists
//! and an anchor in it (never line numbers, which rot silently); a listing
//! cut from inside an `impl` or a function says so with `// ...`; and every
//! program output the book includes is a committed file that a test compares
//! with a real run.

use std::fs;
use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = fs::read_dir(book_src())
        .expect("book/src exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

/// The targets of the markdown links `[title](target)` in `text`.
fn link_targets(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .collect()
}

/// One `{{#include path}}` or `{{#include path:anchor}}`, as written.
struct Include {
    page: PathBuf,
    path: String,
    anchor: Option<String>,
}

fn includes(page: &Path) -> Vec<Include> {
    let text = fs::read_to_string(page).unwrap();
    includes_in(page, &text)
}

/// The includes written in `text`, a part of `page`.
fn includes_in(page: &Path, text: &str) -> Vec<Include> {
    assert!(
        !text.contains("{{#rustdoc_include"),
        "{}: use {{{{#include}}}}: rustdoc_include hides lines from the reader",
        page.display()
    );
    text.split("{{#include ")
        .skip(1)
        .map(|rest| {
            let spec = rest.split("}}").next().unwrap().trim();
            let (path, anchor) = match spec.split_once(':') {
                Some((path, anchor)) => (path, Some(anchor.to_string())),
                None => (spec, None),
            };
            Include {
                page: page.to_path_buf(),
                path: path.to_string(),
                anchor,
            }
        })
        .collect()
}

fn all_includes() -> Vec<Include> {
    pages().iter().flat_map(|page| includes(page)).collect()
}

fn resolve(include: &Include) -> PathBuf {
    include.page.parent().unwrap().join(&include.path)
}

#[test]
fn summary_and_pages_agree() {
    let summary = fs::read_to_string(book_src().join("SUMMARY.md")).unwrap();
    let listed: Vec<&str> = link_targets(&summary);
    assert!(!listed.is_empty(), "SUMMARY.md lists no chapter");
    for target in &listed {
        assert!(
            book_src().join(target).is_file(),
            "SUMMARY.md lists {target}, which does not exist"
        );
    }
    for page in pages() {
        let name = page.file_name().unwrap().to_str().unwrap();
        assert!(
            name == "SUMMARY.md" || listed.contains(&name),
            "{name} is not in SUMMARY.md"
        );
    }
}

#[test]
fn every_include_resolves_to_a_file_and_an_anchor() {
    let found = all_includes();
    assert!(!found.is_empty(), "the book includes no code at all");
    for include in found {
        let file = resolve(&include);
        let text = fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{} includes {}: {e}", include.page.display(), include.path)
        });
        let Some(anchor) = include.anchor else {
            continue;
        };
        assert!(
            !anchor.starts_with(|c: char| c.is_ascii_digit()),
            "{} includes {} by line numbers; use an anchor",
            include.page.display(),
            include.path
        );
        for marker in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
            assert!(
                text.lines().any(|line| line.trim_end().ends_with(&marker)),
                "{} includes {}:{anchor}, but the file has no `{marker}`",
                include.page.display(),
                include.path
            );
        }
    }
}

/// The code blocks of `page`, each as its lines.
fn code_blocks(page: &Path) -> Vec<Vec<String>> {
    let text = fs::read_to_string(page).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.starts_with("```") => current = Some(Vec::new()),
            None => {}
            Some(_) if line.starts_with("```") => blocks.extend(current.take()),
            Some(block) => block.push(line.to_string()),
        }
    }
    blocks
}

#[test]
fn a_listing_cut_from_inside_a_block_shows_what_it_left_out() {
    // An anchor on an indented line is inside an `impl` or a function: the
    // reader must see that the listing is part of something larger.
    for page in pages() {
        for block in code_blocks(&page) {
            let text = block.join("\n");
            for include in includes_in(&page, &text) {
                let Some(anchor) = &include.anchor else {
                    continue;
                };
                let source = fs::read_to_string(resolve(&include)).unwrap();
                let marker = format!("ANCHOR: {anchor}");
                let starts_inside = source
                    .lines()
                    .find(|line| line.trim_end().ends_with(&marker))
                    .is_some_and(|line| line.starts_with([' ', '\t']));
                assert!(
                    !starts_inside || text.contains("// ..."),
                    "{}: the listing of {}:{anchor} starts inside a block; \
                     wrap it in that block, with `// ...` for what it leaves out",
                    page.display(),
                    include.path
                );
            }
        }
    }
}

#[test]
fn every_output_in_the_book_is_checked_by_a_test() {
    for include in all_includes() {
        let path = include.path.as_str();
        if path.ends_with(".rs") || path.ends_with(".py") {
            continue; // code listings: compiled and run by the tests themselves
        }
        let (crate_dir, file_name) = path.split_once("/tests/output/").unwrap_or_else(|| {
            panic!("{path}: program output must live in a crate's tests/output/")
        });
        let tests_dir = include.page.parent().unwrap().join(crate_dir).join("tests");
        let checked = fs::read_dir(&tests_dir)
            .unwrap_or_else(|e| panic!("{}: {e}", tests_dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|test| test.extension().is_some_and(|ext| ext == "rs"))
            .any(|test| fs::read_to_string(test).unwrap().contains(file_name));
        assert!(
            checked,
            "{path} is in the book, but no test in {crate_dir}/tests compares it with a run"
        );
    }
}

/// Every `.rs` file in a `tests/` folder of the workspace: the root's and
/// each crate's.
fn test_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("tests")];
    for entry in fs::read_dir(root.join("crates")).unwrap() {
        dirs.push(entry.unwrap().path().join("tests"));
    }
    dirs.iter()
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect()
}

#[test]
fn every_picture_in_the_book_is_drawn_by_a_test() {
    let Ok(images) = fs::read_dir(book_src().join("images")) else {
        return; // no pictures yet
    };
    let sources: Vec<String> = test_sources()
        .iter()
        .map(|path| fs::read_to_string(path).unwrap())
        .collect();
    for image in images {
        let name = image.unwrap().file_name().into_string().unwrap();
        assert!(
            sources.iter().any(|source| source.contains(&name)),
            "book/src/images/{name} is not compared with a drawing by any test"
        );
    }
}

/// The rows of the table between `<!-- runtime map -->` and
/// `<!-- /runtime map -->` in `page`: each names, in backticks, a function
/// or type first in its second column, and the file it is in third.
fn runtime_map(page: &str) -> Vec<(String, String)> {
    let text = fs::read_to_string(book_src().join(page)).unwrap();
    let (_, rest) = text
        .split_once("<!-- runtime map -->")
        .unwrap_or_else(|| panic!("{page} has no runtime map"));
    let (table, _) = rest.split_once("<!-- /runtime map -->").unwrap();
    table
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| #"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells[1].split('`').nth(1).expect("a name in backticks");
            let file = cells[2].trim_matches('`');
            (name.to_string(), file.to_string())
        })
        .collect()
}

#[test]
fn every_step_of_the_runtime_map_is_where_the_book_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = runtime_map("ch07-at-scale.md");
    assert!(map.len() >= 10, "{map:?}");
    for (name, file) in map {
        let source = fs::read_to_string(root.join(&file))
            .unwrap_or_else(|e| panic!("the runtime map names {file}: {e}"));
        let defined = ["fn", "struct", "trait", "enum"].iter().any(|kind| {
            source.contains(&format!("{kind} {name}("))
                || source.contains(&format!("{kind} {name}<"))
                || source.contains(&format!("{kind} {name} "))
        });
        assert!(
            defined,
            "the runtime map says `{name}` is in {file}; it is not"
        );
    }
}
