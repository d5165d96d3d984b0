//! `iorready plan` and `template --rollout` as a user runs them: the demo
//! rollout, rollouts in a workbook and in TOML, the requirement of each row
//! (tier, liability, compliance), exclusions and preferences, the outputs
//! and the exit statuses.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// Runs `plan` with `args`, writing plan.json into `out`; returns the
/// output and the plan JSON.
fn plan(out: &Path, args: &[&str]) -> (std::process::Output, Value) {
    let json = out.join("plan.json");
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    let (o, j) = (out.display().to_string(), json.display().to_string());
    all.extend(["--out", &o, "--json", &j]);
    let output = iorready(&all);
    let value = std::fs::read_to_string(&json)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    (output, value)
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A JSON result with providers given as (name, [(country, tier, score,
/// liability, product compliance)]).
/// (country, tier, score, liability, product compliance)
type Row<'a> = (&'a str, &'a str, f64, &'a str, &'a str);

fn result(dir: &Path, providers: &[(&str, &[Row])]) -> std::path::PathBuf {
    let providers: Vec<Value> = providers
        .iter()
        .map(|(name, rows)| {
            json!({
                "name": name,
                "source": format!("{name}.xlsx"),
                "assessments": rows.iter().map(|(c, tier, score, liability, compliance)| json!({
                    "country": c, "tier": tier, "score": score, "coverage_class": "active",
                    "confidence": "medium", "liability": liability, "product_compliance": compliance,
                    "flags": [], "why": format!("{score:.2}, as answered"),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let path = dir.join("result.json");
    std::fs::write(&path, serde_json::to_vec(&json!({"providers": providers})).unwrap()).unwrap();
    path
}

fn rollout_toml(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rollout.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn primary_of(plan: &Value, country: &str) -> Value {
    let a = plan["plan"]["assignments"].as_array().unwrap();
    let row = a.iter().find(|r| r["country"] == country).unwrap();
    row["primary"]["provider"].clone()
}

fn fallback_of(plan: &Value, country: &str) -> Value {
    let a = plan["plan"]["assignments"].as_array().unwrap();
    let row = a.iter().find(|r| r["country"] == country).unwrap();
    row["fallback"]["provider"].clone()
}

#[test]
fn the_demo_rollout_contracts_three_providers_and_names_each_gap() {
    let out = tempfile::tempdir().unwrap();
    let rollout = root().join("examples/rollout.xlsx");
    let inputs = examples();
    let (o, p) = plan(
        out.path(),
        &[
            rollout.to_str().unwrap(),
            inputs.to_str().unwrap(),
            "--as-of",
            "2026-11-24",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "gaps exit 1: {}", text(&o));
    let f = &p["plan"]["objective"];
    assert_eq!(p["plan"]["optimal"], true);
    assert_eq!(
        (f["countries_covered"].as_u64(), f["providers"].as_u64()),
        (Some(13), Some(3))
    );
    assert_eq!(primary_of(&p, "DE"), "Meridian Trade Compliance");
    assert_eq!(fallback_of(&p, "DE"), "GlobeReach IOR Network");
    assert_eq!(primary_of(&p, "BR"), "Atlas Import Services");
    let gaps = p["plan"]["gaps"].as_array().unwrap();
    let india = gaps.iter().find(|g| g["country"] == "IN").unwrap();
    assert_eq!(india["missing"], "primary");
    assert!(india["why"].as_str().unwrap().starts_with("best: Meridian Trade Compliance (28.50): Coverage only, Conditional needed. 28.50, 21.50 short of Conditional"), "{india}");
    for name in [
        "plan.xlsx",
        "portfolio.xlsx",
        "result.json",
        "meridian-trade-compliance.annotated.xlsx",
    ] {
        assert!(out.path().join(name).is_file(), "{name}");
    }
    for s in ["Plan", "Contracts", "Gaps", "Options"] {
        let range = sheet(&out.path().join("plan.xlsx"), s);
        assert!(range.height() > 1, "sheet {s}");
    }
}

#[test]
fn the_rollout_in_toml_and_in_the_workbook_give_the_same_plan() {
    let out = tempfile::tempdir().unwrap();
    let result = out.path().join("result.json");
    let (_, _) = score(&[&examples()], out.path(), &[]);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let from = ["--from", result.to_str().unwrap()];
    let (_, x) = plan(
        a.path(),
        &[root().join("examples/rollout.xlsx").to_str().unwrap(), from[0], from[1]],
    );
    let (_, y) = plan(
        b.path(),
        &[root().join("examples/rollout.toml").to_str().unwrap(), from[0], from[1]],
    );
    assert_eq!(x["plan"]["assignments"], y["plan"]["assignments"]);
    assert_eq!(x["plan"]["objective"], y["plan"]["objective"]);
}

#[test]
fn a_primary_must_accept_the_rows_liability_but_a_fallback_need_not() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(
        dir.path(),
        &[
            ("Capped Co", &[("DE", "ready", 95.0, "capped", "provider_handles")]),
            ("Full Co", &[("DE", "conditional", 60.0, "full", "provider_handles")]),
        ],
    );
    let rollout = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"DE\"\nminimum_tier = \"conditional\"\nliability = \"full\"\n",
    );
    let (o, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(primary_of(&p, "DE"), "Full Co");
    assert_eq!(fallback_of(&p, "DE"), "Capped Co");
}

#[test]
fn required_provider_compliance_knocks_out_a_provider_that_does_not_support_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(
        dir.path(),
        &[
            ("Best Co", &[("IT", "ready", 98.0, "full", "not_supported")]),
            ("Other Co", &[("IT", "ready", 80.0, "full", "provider_handles")]),
        ],
    );
    let rollout = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"Italy\"\nprovider_handled_compliance = true\nfallback_needed = false\n",
    );
    let (o, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(primary_of(&p, "IT"), "Other Co");
}

#[test]
fn fewer_providers_come_before_higher_scores() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(
        dir.path(),
        &[
            (
                "Broad Co",
                &[("DE", "ready", 80.0, "full", ""), ("FR", "ready", 80.0, "full", "")],
            ),
            ("Star DE", &[("DE", "ready", 99.0, "full", "")]),
            ("Star FR", &[("FR", "ready", 99.0, "full", "")]),
        ],
    );
    let rollout = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"DE\"\nfallback_needed = false\n[[countries]]\ncountry = \"FR\"\nfallback_needed = false\n",
    );
    let (_, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(p["plan"]["objective"]["providers"], 1);
    assert_eq!(primary_of(&p, "DE"), "Broad Co");
    assert_eq!(p["plan"]["contracts"][0]["primary"], json!(["DE", "FR"]));
}

#[test]
fn a_preferred_provider_wins_over_an_equal_one_and_an_excluded_one_is_never_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let rows: &[Row] = &[("DE", "ready", 90.0, "full", "")];
    let r = result(dir.path(), &[("Alpha", rows), ("Beta", rows), ("Gamma", rows)]);
    let rollout = rollout_toml(
        dir.path(),
        "[options]\nprefer = [\"beta\"]\nexclude = [\"Alpha\"]\n[[countries]]\ncountry = \"DE\"\n",
    );
    let (o, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(primary_of(&p, "DE"), "Beta");
    assert_eq!(fallback_of(&p, "DE"), "Gamma");
}

#[test]
fn exclude_on_the_command_line_shows_what_losing_a_provider_costs() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(
        dir.path(),
        &[
            (
                "Main Co",
                &[("DE", "ready", 90.0, "full", ""), ("FR", "ready", 90.0, "full", "")],
            ),
            ("Spare Co", &[("DE", "ready", 70.0, "full", "")]),
        ],
    );
    let rollout = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"DE\"\nfallback_needed = false\n[[countries]]\ncountry = \"FR\"\nfallback_needed = false\n",
    );
    let (o, p) = plan(
        dir.path(),
        &[
            rollout.to_str().unwrap(),
            "--from",
            r.to_str().unwrap(),
            "--exclude",
            "Main Co",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "FR is left without a primary");
    let said = text(&o);
    assert!(
        said.contains("Without Main Co: countries with a primary 2 -> 1"),
        "{said}"
    );
    assert!(said.contains("DE: primary Main Co -> Spare Co"), "{said}");
    assert_eq!(p["plan"]["gaps"][0]["country"], "FR");
    assert_eq!(p["plan"]["gaps"][0]["best"], Value::Null);
}

#[test]
fn a_maximum_of_providers_leaves_the_gap_that_costs_least_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(
        dir.path(),
        &[
            (
                "Two Co",
                &[("DE", "ready", 90.0, "full", ""), ("FR", "ready", 90.0, "full", "")],
            ),
            ("One Co", &[("JP", "ready", 90.0, "full", "")]),
        ],
    );
    let rollout = rollout_toml(
        dir.path(),
        "[options]\nmaximum_providers = 1\n[[countries]]\ncountry = \"DE\"\nfallback_needed = false\n[[countries]]\ncountry = \"FR\"\nfallback_needed = false\n[[countries]]\ncountry = \"JP\"\nfallback_needed = false\n",
    );
    let (o, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(p["plan"]["objective"]["countries_covered"], 2);
    let gap = &p["plan"]["gaps"][0];
    assert_eq!(gap["country"], "JP");
    assert!(gap["why"].as_str().unwrap().contains("Maximum providers"), "{gap}");
}

#[test]
fn a_wrong_value_in_the_rollout_workbook_names_the_file_sheet_and_cell_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollout.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Rollout").unwrap();
    for (c, h) in ["Country", "Minimum tier", "Fallback needed"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Germany").unwrap();
    ws.write_string(2, 0, "France").unwrap();
    ws.write_string(2, 1, "excellent").unwrap();
    wb.save(&path).unwrap();
    let r = result(dir.path(), &[]);
    let (o, _) = plan(dir.path(), &[path.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let said = text(&o);
    assert!(
        said.contains("rollout.xlsx, sheet Rollout, cell B3: 'excellent' is not a minimum tier"),
        "{said}"
    );
}

#[test]
fn an_unknown_country_or_a_country_twice_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(dir.path(), &[]);
    let bad = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"DE\"\n[[countries]]\ncountry = \"Atlantis\"\n",
    );
    let (o, _) = plan(dir.path(), &[bad.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("'Atlantis' is not a country name or ISO code"),
        "{}",
        text(&o)
    );
    let twice = rollout_toml(
        dir.path(),
        "[[countries]]\ncountry = \"DE\"\n[[countries]]\ncountry = \"Germany\"\n",
    );
    let (o, _) = plan(dir.path(), &[twice.to_str().unwrap(), "--from", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Germany is listed twice"), "{}", text(&o));
}

#[test]
fn the_rollout_template_reads_back_with_the_countries_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollout.xlsx");
    let o = iorready(&[
        "template",
        "--rollout",
        "--countries",
        "DE,UAE,Brazil",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rollout = iorready::planning::read_rollout(&path).unwrap();
    let codes: Vec<&str> = rollout.targets.iter().map(|t| t.country.alpha2()).collect();
    assert_eq!(codes, ["DE", "AE", "BR"]);
    assert!(rollout
        .targets
        .iter()
        .all(|t| t.fallback_needed && t.minimum_tier == iorready::scoring::Tier::Ready));
    assert_eq!(rollout.options.max_providers, None);
    let range = sheet(&path, "Options");
    assert_eq!(cell_text(&range, "A2"), "Maximum providers");
}

#[test]
fn a_job_with_a_rollout_refreshes_its_plan_and_says_what_moved_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    for f in ["meridian-trade-compliance.xlsx", "globereach-ior-network.xlsx"] {
        std::fs::copy(examples().join(f), inbox.join(f)).unwrap();
    }
    let rollout = |exclude: &str| {
        let text = format!(
            "[options]\nexclude = [{exclude}]\n[[countries]]\ncountry = \"DE\"\nminimum_tier = \"conditional\"\n[[countries]]\ncountry = \"NL\"\nminimum_tier = \"conditional\"\n"
        );
        std::fs::write(dir.path().join("rollout.toml"), text).unwrap();
    };
    rollout("");
    let config = dir.path().join("iorready.toml");
    std::fs::write(
        &config,
        "[state]\ndir = \"state\"\n[jobs.rollout]\nschedule = \"@daily\"\ntimezone = \"UTC\"\ninputs = [\"inbox\"]\nout = \"out\"\nplan = \"rollout.toml\"\n",
    )
    .unwrap();
    let run = || iorready(&["run", "--config", config.to_str().unwrap(), "--as-of", "2026-11-24"]);
    let read = || -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/plan.json")).unwrap()).unwrap()
    };
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.path().join("out/plan.xlsx").is_file());
    assert!(
        dir.path().join("out/result.json").is_file(),
        "the plan's result is written"
    );
    assert_eq!(primary_of(&read(), "DE"), "Meridian Trade Compliance");
    // Only the rollout changes: the plan is made again all the same.
    rollout("\"Meridian Trade Compliance\"");
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan = read();
    assert_eq!(primary_of(&plan, "DE"), "GlobeReach IOR Network");
    let details: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert!(
        details.contains(
            &"DE: primary Meridian Trade Compliance -> GlobeReach IOR Network: Meridian Trade Compliance is excluded"
        ),
        "{details:?}"
    );
    let range = sheet(&dir.path().join("out/plan.xlsx"), "Changes");
    assert_eq!(cell_text(&range, "A2"), "DE");
}

#[test]
fn validate_names_a_jobs_rollout_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inbox")).unwrap();
    std::fs::write(
        dir.path().join("rollout.toml"),
        "[[countries]]\ncountry = \"Atlantis\"\n",
    )
    .unwrap();
    let config = dir.path().join("iorready.toml");
    std::fs::write(
        &config,
        "[jobs.rollout]\nschedule = \"@daily\"\ninputs = [\"inbox\"]\nout = \"out\"\nplan = \"rollout.toml\"\n",
    )
    .unwrap();
    let o = iorready(&["validate", "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let said = text(&o);
    assert!(
        said.contains("key `jobs.rollout.plan`") && said.contains("'Atlantis' is not a country"),
        "{said}"
    );
}

#[test]
fn every_rollout_example_in_the_planning_guide_reads() {
    let doc = std::fs::read_to_string(root().join("docs/planning.md")).unwrap();
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("[[countries]]"))
        .collect();
    assert!(!blocks.is_empty(), "the guide has a TOML rollout");
    let dir = tempfile::tempdir().unwrap();
    for block in blocks {
        let path = rollout_toml(dir.path(), block);
        let rollout = iorready::planning::read_rollout(&path).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert!(!rollout.targets.is_empty());
    }
}

#[test]
fn a_rollout_nobody_can_serve_is_all_gaps_with_or_without_a_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(dir.path(), &[("Elsewhere Co", &[("JP", "ready", 90.0, "full", "")])]);
    for options in ["", "[options]\nmaximum_providers = 2\n"] {
        let rollout = rollout_toml(
            dir.path(),
            &format!("{options}[[countries]]\ncountry = \"DE\"\n[[countries]]\ncountry = \"FR\"\n"),
        );
        let (o, p) = plan(dir.path(), &[rollout.to_str().unwrap(), "--from", r.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert_eq!(p["plan"]["objective"]["countries_covered"], 0);
        assert_eq!(p["plan"]["gaps"][0]["why"], "no provider in the inputs offers Germany");
    }
}

#[test]
fn a_time_limit_that_is_not_a_positive_number_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = result(dir.path(), &[]);
    let rollout = rollout_toml(dir.path(), "[[countries]]\ncountry = \"DE\"\n");
    for limit in ["0", "-1", "NaN", "1e300"] {
        let (o, _) = plan(
            dir.path(),
            &[
                rollout.to_str().unwrap(),
                "--from",
                r.to_str().unwrap(),
                "--time-limit",
                limit,
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{limit}: {}", text(&o));
    }
}
