//! The registry docs in `docs/` are generated from the schemas and the examples.
//! This test fails when they are stale; `UPDATE_DOCS=1 cargo test --test it docs::`
//! rewrites them. It also fails on any attribute without a description, and on a function
//! without a summary, a description or a description of each parameter.

use std::path::{Path, PathBuf};

use identity_provider::provider::IdentityProvider;
use identity_provider::tfplugin::Provider;
use identity_provider::tfplugin::docs::{PageKind, render_function_page, render_page, render_schema, undescribed};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_opt(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn expected_pages() -> Vec<(PathBuf, String)> {
    let p = IdentityProvider;
    let mut pages = Vec::new();

    let schema = p.schema();
    let example = read_opt(&root().join("examples/provider/provider.tf")).unwrap_or_default();
    let mut index = String::new();
    index.push_str("---\npage_title: \"identity Provider\"\ndescription: |-\n");
    for line in schema.block.description.lines() {
        index.push_str(&format!("  {line}\n"));
    }
    index.push_str("---\n\n# identity Provider\n\n");
    index.push_str(&schema.block.description);
    index.push_str(
        "\n\nEvery setting can also come from an environment variable (named in each attribute below); \
         a value in the configuration wins. A resource whose vendor is not configured fails with a \
         diagnostic naming the missing attribute and variable.\n\n\
         For a local try-out, `identity-sandbox` emulates all four APIs: see the README's quickstart.\n\n",
    );
    index.push_str(&format!("## Example Usage\n\n```terraform\n{}\n```\n\n", example.trim_end()));
    index.push_str(&render_schema(&schema));
    pages.push((root().join("docs/index.md"), index));

    for r in p.resources() {
        let name = r.type_name();
        let short = name.trim_start_matches("identity_");
        let dir = root().join("examples/resources").join(name);
        let page = render_page(
            "identity",
            name,
            PageKind::Resource,
            &r.schema(),
            read_opt(&dir.join("resource.tf")).as_deref(),
            read_opt(&dir.join("import.sh")).as_deref(),
        );
        // Hand-written sections (access, combinations, migrations) follow the generated ones.
        let page = match read_opt(&dir.join("notes.md")) {
            Some(notes) => format!("{page}\n{}\n", notes.trim_end()),
            None => page,
        };
        pages.push((root().join(format!("docs/resources/{short}.md")), page));
    }
    for d in p.data_sources() {
        let name = d.type_name();
        let short = name.trim_start_matches("identity_");
        let dir = root().join("examples/data-sources").join(name);
        let page = render_page("identity", name, PageKind::DataSource, &d.schema(), read_opt(&dir.join("data-source.tf")).as_deref(), None);
        pages.push((root().join(format!("docs/data-sources/{short}.md")), page));
    }
    for e in p.ephemeral_resources() {
        let name = e.type_name();
        let short = name.trim_start_matches("identity_");
        let dir = root().join("examples/ephemeral-resources").join(name);
        let page = render_page(
            "identity",
            name,
            PageKind::EphemeralResource,
            &e.schema(),
            read_opt(&dir.join("ephemeral-resource.tf")).as_deref(),
            None,
        );
        pages.push((root().join(format!("docs/ephemeral-resources/{short}.md")), page));
    }
    for l in p.list_resources() {
        let name = l.type_name();
        let short = name.trim_start_matches("identity_");
        let dir = root().join("examples/list-resources").join(name);
        let page = render_page(
            "identity",
            name,
            PageKind::ListResource,
            &l.schema(),
            read_opt(&dir.join("list-resource.tfquery.hcl")).as_deref(),
            None,
        );
        pages.push((root().join(format!("docs/list-resources/{short}.md")), page));
    }
    for a in p.actions() {
        let name = a.type_name();
        let short = name.trim_start_matches("identity_");
        let dir = root().join("examples/actions").join(name);
        let page = render_page("identity", name, PageKind::Action, &a.schema(), read_opt(&dir.join("action.tf")).as_deref(), None);
        pages.push((root().join(format!("docs/actions/{short}.md")), page));
    }
    for f in p.functions() {
        let name = f.name();
        let example = read_opt(&root().join("examples/functions").join(name).join("function.tf"));
        let page = render_function_page("identity", name, &f.signature(), example.as_deref());
        pages.push((root().join(format!("docs/functions/{name}.md")), page));
    }
    pages
}

/// Whether this run rewrites stale pages: `UPDATE_DOCS=1`, never under CI (where a
/// rewrite would make a stale page pass). Any other value is a mistake, not a "no".
fn update_docs() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match std::env::var("UPDATE_DOCS") {
        Err(_) => false,
        Ok(_) if ci => panic!("UPDATE_DOCS is set under CI (CI=true): CI checks the docs and never rewrites them"),
        Ok(v) if v == "1" => true,
        Ok(v) => panic!("UPDATE_DOCS={v:?}: set UPDATE_DOCS=1 to rewrite the docs, or leave it unset to check them"),
    }
}

#[test]
fn docs_are_current() {
    let update = update_docs();
    let mut stale = Vec::new();
    for (path, want) in expected_pages() {
        if read_opt(&path).as_deref() == Some(want.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, want).expect("write doc");
        } else {
            stale.push(path.strip_prefix(root()).unwrap_or(&path).display().to_string());
        }
    }
    assert!(stale.is_empty(), "docs are stale: {stale:?}; run `UPDATE_DOCS=1 cargo test --test it docs::` and commit");
}

#[test]
fn every_attribute_is_described() {
    let p = IdentityProvider;
    let mut missing: Vec<String> = undescribed(&p.schema()).into_iter().map(|a| format!("provider.{a}")).collect();
    assert!(!p.schema().block.description.is_empty());
    for r in p.resources() {
        assert!(!r.schema().block.description.is_empty(), "{} has no description", r.type_name());
        missing.extend(undescribed(&r.schema()).into_iter().map(|a| format!("{}.{a}", r.type_name())));
    }
    for d in p.data_sources() {
        assert!(!d.schema().block.description.is_empty(), "{} has no description", d.type_name());
        missing.extend(undescribed(&d.schema()).into_iter().map(|a| format!("{}.{a}", d.type_name())));
    }
    for e in p.ephemeral_resources() {
        assert!(!e.schema().block.description.is_empty(), "{} has no description", e.type_name());
        missing.extend(undescribed(&e.schema()).into_iter().map(|a| format!("ephemeral.{}.{a}", e.type_name())));
    }
    for l in p.list_resources() {
        assert!(!l.schema().block.description.is_empty(), "list {} has no description", l.type_name());
        missing.extend(undescribed(&l.schema()).into_iter().map(|a| format!("list.{}.{a}", l.type_name())));
    }
    for a in p.actions() {
        assert!(!a.schema().block.description.is_empty(), "action {} has no description", a.type_name());
        missing.extend(undescribed(&a.schema()).into_iter().map(|x| format!("action.{}.{x}", a.type_name())));
    }
    for f in p.functions() {
        let sig = f.signature();
        assert!(!sig.summary.trim().is_empty(), "function {} has no summary", f.name());
        assert!(!sig.description.trim().is_empty(), "function {} has no description", f.name());
        for param in sig.parameters.iter().chain(sig.variadic.as_ref()) {
            if param.description.trim().is_empty() {
                missing.push(format!("function.{}.{}", f.name(), param.name));
            }
        }
    }
    assert!(missing.is_empty(), "attributes without a description: {missing:?}");
}

#[test]
fn examples_are_terraform_fmt_clean() {
    let terraform = std::env::var("TERRAFORM").unwrap_or_else(|_| "terraform".to_string());
    let out = std::process::Command::new(&terraform)
        .args(["fmt", "-check", "-recursive", "-diff", "examples"])
        .current_dir(root())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {terraform} (the tests need the terraform CLI): {e}"));
    assert!(
        out.status.success(),
        "examples are not `terraform fmt` clean:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docs/` holds only what the Terraform registry renders: `index.md` and the known
/// subfolders, each holding Markdown pages only (no images, no other pages at the root).
#[test]
fn docs_follow_the_registry_layout() {
    const FOLDERS: [&str; 7] = ["actions", "data-sources", "ephemeral-resources", "functions", "guides", "list-resources", "resources"];
    let docs = root().join("docs");
    let mut unexpected = Vec::new();
    for e in std::fs::read_dir(&docs).expect("read docs/") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() && FOLDERS.contains(&name.as_str()) {
            for f in std::fs::read_dir(&path).expect("read a docs folder") {
                let f = f.expect("entry");
                let fname = f.file_name().to_string_lossy().into_owned();
                if !(f.path().is_file() && fname.ends_with(".md")) {
                    unexpected.push(format!("docs/{name}/{fname}"));
                }
            }
        } else if name != "index.md" {
            unexpected.push(format!("docs/{name}"));
        }
    }
    assert!(
        unexpected.is_empty(),
        "the registry renders none of {unexpected:?}: move them out of docs/ (benchmark pages live in benches/)"
    );
    // Every guide has the front matter the registry needs.
    for g in std::fs::read_dir(docs.join("guides")).expect("read docs/guides") {
        let p = g.expect("entry").path();
        let text = std::fs::read_to_string(&p).expect("read a guide");
        assert!(
            text.starts_with("---\npage_title: ") && text.contains("\nsubcategory: ") && text.contains("\ndescription: "),
            "{} lacks the registry front matter (page_title, subcategory, description)",
            p.display()
        );
    }
}
