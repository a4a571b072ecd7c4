//! Benchmark: the signing page a personal link opens, over HTTP from the real
//! server, for the longest shipped policy (St Margaret's): the page itself,
//! first view (its policy compiled as PDF pages and as HTML, then kept) and
//! later views; and signing (fill, seal with the school's key, keep, place in
//! the inbox). Targets: a view under 100 ms with no more than one asset
//! request before the first paint; signing under 1 s.
//!
//! Run with `cargo bench --bench signing`; it prints the figures.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PEOPLE: usize = 21;

fn aup(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path();
    let schools = dir.join("schools");
    std::fs::create_dir_all(&schools).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        repo.join("schools/st-margarets.yaml"),
        schools.join("st-margarets.yaml"),
    )
    .unwrap();
    let roster: String = std::iter::once("Name,Role\n".to_owned())
        .chain((0..PEOPLE).map(|i| format!("Person {i:02},Teacher\n")))
        .collect();
    std::fs::write(schools.join("st-margarets.staff.csv"), roster).unwrap();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    aup(dir, &["generate", "--date", &today]);
    aup(dir, &["seal", "init", "--school", "st-margarets"]);
    std::fs::create_dir_all(dir.join("inbox")).unwrap();

    let mut server = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--out",
            "out",
            "--poll",
            "3600",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let base = url.trim().trim_end_matches('/').to_owned();
    let links: Vec<String> = aup(
        dir,
        &[
            "links",
            "--school",
            "st-margarets",
            "--public-url",
            &base,
            "--format",
            "json",
        ],
    )
    .lines()
    .map(|l| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["link"]
            .as_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    assert_eq!(links.len(), PEOPLE);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |link: &str| -> (Duration, String) {
        let start = Instant::now();
        let body = agent
            .get(link)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        (start.elapsed(), body)
    };

    let (first, html) = get(&links[0]);
    let assets = html.matches("<script src=").count() + html.matches("rel=\"stylesheet\"").count();
    let later: Vec<Duration> = (0..31).map(|i| get(&links[i % PEOPLE]).0).collect();
    let mut signing = Vec::new();
    for link in &links[1..] {
        let (_, page) = get(link);
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        let csrf = &page[at..at + 43];
        let body =
            format!("csrf={csrf}&role=Teacher&declaration=yes&how=typed&typed=Person+Signing");
        let start = Instant::now();
        let answer = agent
            .post(link)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .unwrap();
        signing.push(start.elapsed());
        assert_eq!(answer.status(), 200);
    }
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "signing page, St Margaret's policy ({} KB of HTML), over HTTP:",
        html.len() / 1024
    );
    println!(
        "  first view (policy compiled):  {:>7.1} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  later views, median of 31:     {:>7.1} ms",
        median(later).as_secs_f64() * 1e3
    );
    println!("  asset requests before paint:   {assets:>7}");
    println!(
        "  signing (fill, seal, file), median of {}: {:>7.1} ms",
        signing.len(),
        median(signing).as_secs_f64() * 1e3
    );
}
