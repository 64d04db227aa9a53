//! Ctrl-C (SIGINT) and SIGTERM sent to a real `tradeflow run` (and to the
//! what-if commands `compare`, `sweep` and `sensitivity`): it stops promptly
//! with 130 / 143, the previous results are byte for byte as they were, and
//! no temporary file or folder is left.

use crate::support::{binary, run_cli, shipped};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Every file under `dir` (relative path → bytes), hidden ones included.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p.clone());
                out.insert(
                    p.strip_prefix(dir).expect("prefix").to_path_buf(),
                    Vec::new(),
                );
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.insert(p.strip_prefix(dir).expect("prefix").to_path_buf(), bytes);
            }
        }
    }
    out
}

/// Previous results of the baseline in `tmp/res`, written by a short run.
fn previous_results(tmp: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let o = run_cli(
        tmp,
        &[
            "run", "--trials", "40", "--quiet", "--charts", "svg", "--out", "res",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = snapshot(tmp);
    assert!(before.contains_key(Path::new("res/baseline/timeseries.csv")));
    before
}

/// A `run` long enough to take tens of seconds: the signal lands mid-run.
const LONG_RUN: &[&str] = &[
    "run",
    "--trials",
    "400000",
    "--quiet",
    "--charts",
    "none",
    "--memory-mib",
    "64",
    "--out",
    "res",
];

#[cfg(unix)]
fn interrupt_a_long_run(signal: i32, times: usize, expected_status: i32) {
    interrupt_a_long_command(signal, times, expected_status, LONG_RUN);
}

/// Sends `signal` `times` times to `tradeflow ARGS` (which writes into
/// `res`) a moment after it starts, and checks the status, the message and
/// the folder.
#[cfg(unix)]
fn interrupt_a_long_command(signal: i32, times: usize, expected_status: i32, args: &[&str]) {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let before = previous_results(tmp.path());
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "{} ended before the signal",
        args[0]
    );
    let pid = i32::try_from(child.id()).expect("pid");
    for _ in 0..times {
        // SAFETY: kill(2) with the pid of our own child and a valid signal number.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill failed");
    }
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{} did not stop within 20 s of the signal", args[0]);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed();
    let stderr = {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    };
    assert_eq!(
        status.code(),
        Some(expected_status),
        "{}: status {status:?} (signal {:?}); stderr: {stderr}",
        args[0],
        status.signal()
    );
    assert!(
        stderr.contains("previous results are untouched"),
        "{stderr}"
    );
    // Promptly: the workers check the flag between blocks of 16 trials.
    assert!(
        took < Duration::from_secs(5),
        "{}: took {took:?} to stop",
        args[0]
    );
    // The previous results byte for byte, and nothing else (no `.tmp` litter).
    assert_eq!(snapshot(tmp.path()), before, "{}", args[0]);
}

#[cfg(unix)]
#[test]
fn sigint_stops_a_run_with_130_and_keeps_the_previous_results() {
    interrupt_a_long_run(libc::SIGINT, 1, 130);
}

/// Two Ctrl-C in a row: the second may arrive while the run is stopping, and
/// then ends it at once; either way nothing is lost or left behind.
#[cfg(unix)]
#[test]
fn a_double_ctrl_c_stops_at_once_and_still_keeps_the_previous_results() {
    interrupt_a_long_run(libc::SIGINT, 2, 130);
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_run_with_143_and_keeps_the_previous_results() {
    interrupt_a_long_run(libc::SIGTERM, 1, 143);
}

/// A stop requested before the results are committed: nothing is replaced,
/// nothing is left, and a folder the run created is removed again.
#[test]
fn a_stopped_run_commits_nothing_and_leaves_no_litter() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let before = previous_results(tmp.path());
    let stop = AtomicBool::new(true);
    for out in ["res", "fresh"] {
        let opts = tradeflow::app::RunOptions {
            scenarios: Vec::new(),
            trials: Some(40),
            seed: None,
            threads: Some(1),
            out: tmp.path().join(out),
            charts: Vec::new(),
            quiet: true,
            memory_mib: None,
            command: vec!["test".into()],
            overrides: Vec::new(),
        };
        let err = tradeflow::app::run(&opts, &stop).expect_err("stopped");
        assert_eq!(err.exit_status(), 130);
        assert_eq!(snapshot(tmp.path()), before, "{out}");
    }
}

/// The what-if commands, each long enough for the signal to land mid-run.
#[cfg(unix)]
#[test]
fn signals_stop_the_what_if_commands_and_keep_the_previous_results() {
    let baseline = shipped("baseline.toml").display().to_string();
    let reban = shipped("h200-reban.toml").display().to_string();
    let quiet = [
        "--quiet",
        "--charts",
        "none",
        "--memory-mib",
        "64",
        "--out",
        "res",
    ];
    let with = |head: &[&str], trials: &'static str| -> Vec<String> {
        head.iter()
            .chain(&["--trials", trials])
            .chain(&quiet)
            .map(|s| s.to_string())
            .collect()
    };
    let cases = [
        (
            libc::SIGINT,
            130,
            with(&["compare", &baseline, &reban], "400000"),
        ),
        (
            libc::SIGTERM,
            143,
            with(
                &[
                    "sweep",
                    &baseline,
                    "--vary",
                    "product.H200.price=20000:40000:5000",
                ],
                "200000",
            ),
        ),
        (
            libc::SIGINT,
            130,
            with(
                &[
                    "sensitivity",
                    &baseline,
                    "--metric",
                    "share_compute:CN",
                    "--month",
                    "2028-12",
                ],
                "200000",
            ),
        ),
    ];
    for (signal, status, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        interrupt_a_long_command(signal, 1, status, &args);
    }
}

/// A stop requested before the what-if results are committed: nothing is
/// replaced, nothing is left, and a folder the command created is removed.
#[test]
fn stopped_what_if_commands_commit_nothing_and_leave_no_litter() {
    use tradeflow::whatif::{CommonOptions, compare, sensitivity, sweep};
    let tmp = tempfile::tempdir().expect("temp dir");
    let before = previous_results(tmp.path());
    let stop = AtomicBool::new(true);
    for out in ["res", "fresh"] {
        let common = CommonOptions {
            trials: Some(40),
            threads: Some(1),
            out: tmp.path().join(out),
            quiet: true,
            command: vec!["test".into()],
            ..CommonOptions::default()
        };
        let statuses = [
            compare::compare(
                &compare::CompareOptions {
                    base: shipped("baseline.toml"),
                    alternatives: vec![shipped("h200-reban.toml")],
                    alt_seed: None,
                    common: common.clone(),
                },
                &stop,
            )
            .map(|_| ()),
            sweep::sweep(
                &sweep::SweepOptions {
                    scenario: None,
                    vary: vec!["product.H200.price=20000,30000".into()],
                    metrics: Vec::new(),
                    point_files: true,
                    common: common.clone(),
                },
                &stop,
            )
            .map(|_| ()),
            sensitivity::sensitivity(
                &sensitivity::SensitivityOptions {
                    scenario: None,
                    metric: "share_compute:CN".into(),
                    month: Some("2028-12".into()),
                    top: 10,
                    swing: sensitivity::Swing::Mean,
                    common: common.clone(),
                },
                &stop,
            )
            .map(|_| ()),
        ];
        for (i, r) in statuses.into_iter().enumerate() {
            let err = r.expect_err("stopped");
            assert_eq!(err.exit_status(), 130, "command {i}, {out}: {err}");
        }
        assert_eq!(snapshot(tmp.path()), before, "{out}");
    }
}

/// A second run into the same folder replaces the first one's results whole
/// (the commit path that moves the old folder aside), within a time limit.
#[test]
fn a_run_replaces_previous_results_in_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let before = previous_results(tmp.path());
    let mut child = Command::new(binary())
        .args([
            "run", "--trials", "30", "--seed", "9", "--quiet", "--charts", "svg", "--out", "res",
        ])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the second run did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let after = snapshot(tmp.path());
    // The same files, none left over, and new contents.
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    let trials = Path::new("res/baseline/trials.csv");
    assert_ne!(after[trials], before[trials]);
}

/// A what-if command into a folder holding its previous results replaces
/// them whole (the same commit path as `run`), within a time limit.
#[test]
fn a_what_if_command_replaces_its_previous_results_in_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let baseline = shipped("baseline.toml").display().to_string();
    let compare = |seed: &str| {
        let o = run_cli(
            tmp.path(),
            &[
                "compare", &baseline, &baseline, "--trials", "20", "--seed", seed, "--quiet",
                "--charts", "none", "--out", "res",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        snapshot(tmp.path())
    };
    let before = compare("1");
    let after = compare("2");
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    let manifest = Path::new("res/compare-baseline/manifest.json");
    assert_ne!(after[manifest], before[manifest]);
}
