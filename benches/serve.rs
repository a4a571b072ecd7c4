//! Benchmark: `aup serve`'s two busiest pages over the synthetic index of 50
//! schools × 200 staff × 5 years (see `fixture`): the school-year page (200
//! staff) and the overview (50 schools' current years, 10,000 people, with
//! links to their four earlier years). Each is fetched over HTTP from the real server, signed
//! in, as a browser would; the figure is the whole request, both with the index
//! unchanged since the last request (figures kept) and just after a change
//! (everything read again). Target: under 100 ms each, and no more than one
//! request for assets before the first paint.
//!
//! Run with `cargo bench --bench serve`; it prints the figures.

mod fixture;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 31;
const COLD_RUNS: usize = 11;

fn main() {
    let scratch = tempfile::tempdir().expect("temp dir");
    fixture::fifty_schools(scratch.path());
    // Each account added is an audit entry: the index's generation moves on, and
    // the pages' kept figures are read again, as after a filing.
    let add_user = |name: &str| {
        let mut add = Command::new(env!("CARGO_BIN_EXE_aup"))
            .args(["user", "add", name, "--role", "head", "--password-stdin"])
            .current_dir(scratch.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(add.stdin.take().unwrap(), "bench password 1").unwrap();
        assert!(add.wait().unwrap().success());
    };
    add_user("head");

    let mut server = Command::new(env!("CARGO_BIN_EXE_aup"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(scratch.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let base = url.trim().trim_end_matches('/').to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();

    // Sign in as the page does.
    let mut form = agent.get(&format!("{base}/login")).call().unwrap();
    let login_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("aup_login=")?
                .split(';')
                .next()
                .map(str::to_owned)
        })
        .unwrap();
    let html = form.body_mut().read_to_string().unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = &html[at..at + 64];
    let signed_in = agent
        .post(&format!("{base}/login"))
        .header("Cookie", &format!("aup_login={login_cookie}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("csrf={token}&name=head&password=bench+password+1").as_bytes())
        .unwrap();
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("aup_session=")?
                .split(';')
                .next()
                .map(str::to_owned)
        })
        .expect("signed in");
    let cookie = format!("aup_session={session}");

    for (page, path, rows_marker, rows_wanted) in [
        (
            "school year, 200 staff",
            "/school/school00/2025-26",
            "<tr data-state=",
            200,
        ),
        (
            "overview, 50 schools × 200 staff",
            "/",
            "<section class=\"card\"",
            50,
        ),
    ] {
        let fetch = || {
            let started = Instant::now();
            let mut response = agent
                .get(&format!("{base}{path}"))
                .header("Cookie", &cookie)
                .call()
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body = response.body_mut().read_to_string().unwrap();
            (started.elapsed(), body)
        };
        for _ in 0..3 {
            fetch();
        }
        let mut times: Vec<Duration> = Vec::new();
        let mut html = String::new();
        for _ in 0..RUNS {
            let (took, body) = fetch();
            times.push(took);
            html = body;
        }
        times.sort();
        let mut cold: Vec<Duration> = Vec::new();
        for n in 0..COLD_RUNS {
            add_user(&format!("change{}{n}", path.len()));
            cold.push(fetch().0);
        }
        cold.sort();
        let rows = html.matches(rows_marker).count();
        assert_eq!(rows, rows_wanted, "{page}: rows shown");
        // What the browser must fetch before it can paint: stylesheets and
        // scripts that are not deferred (images below the fold do not block).
        let stylesheets = html.matches("rel=\"stylesheet\"").count();
        let blocking_scripts = html
            .match_indices("<script")
            .filter(|(at, _)| {
                let tag = &html[*at..html[*at..].find('>').map_or(html.len(), |e| at + e)];
                tag.contains("src=") && !tag.contains("defer") && !tag.contains("async")
            })
            .count();
        let all_assets = html.matches("<script src=").count() + stylesheets;
        println!("{page} ({path}): {} KB of HTML", html.len() / 1024);
        println!(
            "  unchanged index: median {:.1} ms, best {:.1} ms, worst {:.1} ms ({RUNS} requests over HTTP, signed in)",
            times[RUNS / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[RUNS - 1].as_secs_f64() * 1e3
        );
        println!(
            "  first request after a change: median {:.1} ms, best {:.1} ms, worst {:.1} ms ({COLD_RUNS} requests)",
            cold[COLD_RUNS / 2].as_secs_f64() * 1e3,
            cold[0].as_secs_f64() * 1e3,
            cold[COLD_RUNS - 1].as_secs_f64() * 1e3
        );
        println!(
            "  asset requests before first paint: {} ({all_assets} asset file{} in all; the CSS is inline)",
            stylesheets + blocking_scripts,
            if all_assets == 1 { "" } else { "s" }
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
