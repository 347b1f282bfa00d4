//! Worker processes and threads from the container's CPU and memory limits.
//!
//! Formula (documented in docs/run.md):
//! - `cpus` = the cgroup CPU quota rounded up (`cpu.max` on cgroup v2, `cpu.cfs_quota_us /
//!   cpu.cfs_period_us` on v1), no more than the CPUs the process may run on, at least 1;
//! - memory allows `(limit_MiB - 64) / 128` processes (at least 1) when a limit is set;
//! - processes = min(cpus, memory allowance), at most 12;
//! - threads per process = ceil(64 / processes) within 8..=32, so that processes x threads
//!   admits at least 64 concurrent requests where 32 threads per process allow it (WSGI
//!   applications mostly wait on I/O; threads share one copy of the app's memory, and Python
//!   runs one of them at a time, so CPU-bound requests lose nothing to the extra threads);
//! - `WEB_CONCURRENCY` replaces the process count (threads follow it).
//!
//! Workers without threads (gunicorn's sync workers, where its threaded worker cannot run: a
//! Python 2 without the `futures` backport): processes = min(2 x ceil(CPUs) + 1, memory
//! allowance, 12), gunicorn's own advice for sync workers, each serving one request at a time;
//! `WEB_CONCURRENCY` replaces it.
//!
//! Overload (mod_wsgi-express, the default server):
//! - Apache accepts `4 x processes x threads` connections (`--max-clients`; mod_wsgi-express
//!   alone accepts `10 + 1.5 x` as many), so that requests beyond the slots wait inside Apache,
//!   where the queue timeout applies, rather than in the kernel's listen backlog, where none does;
//! - Apache starts with 30% of those connections' threads (`--initial-workers 0.3`, kept as
//!   spare), at least one per slot, so that a burst right after the start (or after a quiet
//!   spell) does not wait for Apache to fork more children, which it does one a second at first;
//! - a request that waited more than 5 s for a thread is answered at once with an error when a
//!   thread frees (`--queue-timeout`; mod_wsgi-express's default is 45 s), so a backlog drains
//!   in one sweep instead of being served to clients that gave up (the OpenShift router gives up
//!   after 30 s).

use std::fs;
use std::path::{Path, PathBuf};

/// Concurrent requests the threads of all processes admit together, at least.
pub const TARGET_SLOTS: u32 = 64;
/// Fewest threads per process.
pub const MIN_THREADS: u32 = 8;
/// Most threads per process.
pub const MAX_THREADS: u32 = 32;

/// Threads per process for threaded WSGI servers with `processes` processes.
#[must_use]
pub fn threads(processes: u32) -> u32 {
    TARGET_SLOTS
        .div_ceil(processes.max(1))
        .clamp(MIN_THREADS, MAX_THREADS)
}
/// Connections Apache accepts per request slot (thread) under mod_wsgi-express.
pub const CLIENTS_PER_SLOT: u32 = 4;
/// Share of Apache's connections (threads) started at once and kept spare: above
/// 1 / [`CLIENTS_PER_SLOT`], so at least one thread per slot after mod_wsgi-express rounds it to
/// whole child processes.
pub const INITIAL_WORKERS: &str = "0.3";
/// Seconds a request may wait for a mod_wsgi daemon thread before it is answered with an error.
pub const QUEUE_TIMEOUT_SECS: u32 = 5;

/// Connections Apache accepts for `processes x threads` request slots.
#[must_use]
pub fn max_clients(processes: u32, threads: u32) -> u32 {
    processes
        .saturating_mul(threads)
        .saturating_mul(CLIENTS_PER_SLOT)
}

/// Upper bound on processes chosen automatically.
pub const MAX_PROCESSES: u32 = 12;
/// MiB kept for the server itself.
const BASE_MIB: u64 = 64;
/// MiB budgeted per application process.
const PER_PROCESS_MIB: u64 = 128;

/// The limits found and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// CPUs the container may use (a quota may be fractional).
    pub cpus: f64,
    pub cpu_source: String,
    /// Memory limit in bytes, `None` when unlimited.
    pub memory: Option<u64>,
    pub memory_source: String,
}

/// The chosen worker shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    pub processes: u32,
    pub threads: u32,
    /// Why, for `--dry-run`.
    pub reason: String,
}

/// Where cgroup files are read (a fake tree in tests).
#[derive(Debug, Clone)]
pub struct CgroupFs {
    /// Usually `/sys/fs/cgroup`.
    pub root: PathBuf,
    /// Contents of `/proc/self/cgroup`.
    pub self_cgroup: String,
}

impl CgroupFs {
    /// The running process's view.
    #[must_use]
    pub fn system() -> Self {
        Self {
            root: PathBuf::from("/sys/fs/cgroup"),
            self_cgroup: fs::read_to_string("/proc/self/cgroup").unwrap_or_default(),
        }
    }

    fn read(path: &Path) -> Option<String> {
        fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
    }

    /// Directories to look in for a controller, innermost first: the process's own cgroup, its
    /// parents, and the mount root (inside a container the mount root is the container's cgroup).
    fn dirs(&self, controller: Option<&str>) -> Vec<PathBuf> {
        let (base, rel) = if let Some(controller) = controller {
            let rel = self.self_cgroup.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
                list.split(',')
                    .any(|c| c == controller)
                    .then(|| path.to_owned())
            });
            let candidates: &[&str] = if controller == "cpu" {
                &["cpu,cpuacct", "cpuacct,cpu", "cpu"]
            } else {
                &["memory"]
            };
            let base = candidates
                .iter()
                .map(|name| self.root.join(name))
                .find(|dir| dir.is_dir())
                .unwrap_or_else(|| self.root.join(controller));
            (base, rel)
        } else {
            let rel = self
                .self_cgroup
                .lines()
                .find_map(|line| line.strip_prefix("0::").map(str::to_owned));
            (self.root.clone(), rel)
        };
        let mut dirs = Vec::new();
        if let Some(rel) = rel {
            let mut path = PathBuf::from(rel.trim_start_matches('/'));
            loop {
                dirs.push(base.join(&path));
                if !path.pop() {
                    break;
                }
            }
        }
        if !dirs.contains(&base) {
            dirs.push(base);
        }
        dirs
    }

    fn is_v2(&self) -> bool {
        self.root.join("cgroup.controllers").exists()
    }

    /// CPU quota in CPUs and the file it came from.
    fn cpu_quota(&self) -> Option<(f64, String)> {
        let mut best: Option<(f64, String)> = None;
        let mut consider = |cpus: f64, source: String| {
            if best.as_ref().is_none_or(|(b, _)| cpus < *b) {
                best = Some((cpus, source));
            }
        };
        if self.is_v2() {
            for dir in self.dirs(None) {
                let file = dir.join("cpu.max");
                if let Some(text) = Self::read(&file) {
                    let mut parts = text.split_whitespace();
                    if let (Some(quota), Some(period)) = (parts.next(), parts.next()) {
                        if let (Ok(q), Ok(p)) = (quota.parse::<f64>(), period.parse::<f64>()) {
                            if q > 0.0 && p > 0.0 {
                                consider(q / p, format!("{} = {text}", file.display()));
                            }
                        }
                    }
                }
            }
        } else {
            for dir in self.dirs(Some("cpu")) {
                let quota =
                    Self::read(&dir.join("cpu.cfs_quota_us")).and_then(|q| q.parse::<f64>().ok());
                let period =
                    Self::read(&dir.join("cpu.cfs_period_us")).and_then(|p| p.parse::<f64>().ok());
                if let (Some(q), Some(p)) = (quota, period) {
                    if q > 0.0 && p > 0.0 {
                        consider(
                            q / p,
                            format!("{}/cpu.cfs_quota_us = {q}, period {p}", dir.display()),
                        );
                    }
                }
            }
        }
        best
    }

    /// Memory limit in bytes and the file it came from.
    fn memory_limit(&self) -> Option<(u64, String)> {
        let (dirs, name) = if self.is_v2() {
            (self.dirs(None), "memory.max")
        } else {
            (self.dirs(Some("memory")), "memory.limit_in_bytes")
        };
        dirs.into_iter()
            .filter_map(|dir| {
                let file = dir.join(name);
                let value = Self::read(&file)?.parse::<u64>().ok()?;
                // cgroup v1 reports "no limit" as a huge page-aligned number.
                (value < (1 << 60)).then(|| (value, format!("{} = {value}", file.display())))
            })
            .min_by_key(|(v, _)| *v)
    }

    /// Reads the limits; `host_cpus` is what the scheduler lets the process use.
    #[must_use]
    pub fn limits(&self, host_cpus: usize) -> Limits {
        let host = host_cpus.max(1) as f64;
        let (cpus, cpu_source) = match self.cpu_quota() {
            Some((q, source)) if q < host => (q, source),
            Some((_, source)) => (
                host,
                format!("{host_cpus} CPUs available ({source} allows more)"),
            ),
            None => (
                host,
                format!("{host_cpus} CPUs available, no cgroup CPU quota"),
            ),
        };
        let (memory, memory_source) = match self.memory_limit() {
            Some((m, source)) => (Some(m), source),
            None => (None, "no cgroup memory limit".to_owned()),
        };
        Limits {
            cpus,
            cpu_source,
            memory,
            memory_source,
        }
    }
}

/// ceil(CPUs) (at least 1), the processes the memory limit allows (`None`: no limit), and
/// the sentence saying where both came from.
fn basis(limits: &Limits) -> (u32, Option<u32>, String) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let cpus = (limits.cpus.ceil() as u32).max(1);
    let by_memory = limits
        .memory
        .map(|bytes| (((bytes >> 20).saturating_sub(BASE_MIB)) / PER_PROCESS_MIB).max(1));
    let by_memory = by_memory.map(|m| u32::try_from(m).unwrap_or(u32::MAX));
    let memory = limits.memory.map_or_else(
        || "no memory limit".to_owned(),
        |m| format!("{} MiB", m >> 20),
    );
    let basis = format!(
        "{:.2} CPUs ({}), memory {memory} ({})",
        limits.cpus, limits.cpu_source, limits.memory_source
    );
    (cpus, by_memory, basis)
}

/// The shape for workers without threads (gunicorn's sync workers): one request at a time per
/// process, so more processes: min(2 x ceil(CPUs) + 1, memory allowance, 12);
/// `web_concurrency` wins. `why` says why there are no threads.
#[must_use]
pub fn without_threads(limits: &Limits, web_concurrency: Option<u32>, why: &str) -> Tuning {
    let (cpus, by_memory, basis) = basis(limits);
    let advised = cpus.saturating_mul(2).saturating_add(1);
    let auto = advised
        .min(by_memory.unwrap_or(u32::MAX))
        .min(MAX_PROCESSES);
    let (processes, formula) = match web_concurrency {
        Some(n) => (n, format!("WEB_CONCURRENCY={n} processes")),
        None => (
            auto,
            format!(
                "{auto} processes = min(2 x ceil(CPUs) + 1 = {advised}, memory allowance {}, {MAX_PROCESSES})",
                by_memory.map_or_else(|| "unlimited".to_owned(), |m| m.to_string())
            ),
        ),
    };
    Tuning {
        processes,
        threads: 1,
        reason: format!("{formula}, one request at a time each (no threads: {why}); {basis}"),
    }
}

/// Applies the formula; `web_concurrency` (the user's `WEB_CONCURRENCY`) wins.
#[must_use]
pub fn tune(limits: &Limits, web_concurrency: Option<u32>) -> Tuning {
    let (cpus, by_memory, basis) = basis(limits);
    let auto = cpus.min(by_memory.unwrap_or(u32::MAX)).min(MAX_PROCESSES);
    match web_concurrency {
        Some(n) => Tuning {
            processes: n,
            threads: threads(n),
            reason: format!(
                "WEB_CONCURRENCY={n} processes; {} threads each = ceil({TARGET_SLOTS} / processes) within {MIN_THREADS}..{MAX_THREADS}; {basis}",
                threads(n)
            ),
        },
        None => Tuning {
            processes: auto,
            threads: threads(auto),
            reason: format!(
                "{auto} processes = min(ceil(CPUs) {cpus}, memory allowance {}, {MAX_PROCESSES}); {} threads each = ceil({TARGET_SLOTS} / processes) within {MIN_THREADS}..{MAX_THREADS}; {basis}",
                by_memory.map_or_else(|| "unlimited".to_owned(), |m| m.to_string()),
                threads(auto)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup file system in a temporary directory holding `files` (path, content), seen
    /// from a process whose `/proc/self/cgroup` is `self_cgroup`.
    fn cgroups(files: &[(&str, &str)], self_cgroup: &str) -> (tempfile::TempDir, CgroupFs) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
        let fs = CgroupFs {
            root: dir.path().to_path_buf(),
            self_cgroup: self_cgroup.into(),
        };
        (dir, fs)
    }

    #[test]
    fn apache_accepts_four_connections_per_thread() {
        assert_eq!(max_clients(2, threads(2)), 256);
        assert_eq!(max_clients(3, threads(3)), 264);
        assert_eq!(max_clients(u32::MAX, 8), u32::MAX);
    }

    #[test]
    fn cgroup_v2_quota_and_memory() {
        let (_dir, fs) = cgroups(
            &[
                ("cgroup.controllers", "cpu memory"),
                ("kubepods/pod1/cpu.max", "150000 100000"),
                ("kubepods/pod1/memory.max", "536870912"),
                ("kubepods/cpu.max", "max 100000"),
            ],
            "0::/kubepods/pod1\n",
        );
        let limits = fs.limits(8);
        assert!((limits.cpus - 1.5).abs() < 1e-9, "{limits:?}");
        assert_eq!(limits.memory, Some(512 << 20));
        let t = tune(&limits, None);
        // ceil(1.5) = 2 CPUs; (512 - 64) / 128 = 3 by memory.
        assert_eq!((t.processes, t.threads), (2, 32));
    }

    #[test]
    fn threads_admit_64_requests_within_8_to_32_per_process() {
        assert_eq!(
            [0, 1, 2, 3, 4, 8, 12].map(threads),
            [32, 32, 32, 22, 16, 8, 8]
        );
    }

    #[test]
    fn cgroup_v2_unlimited_uses_host_cpus() {
        let (_dir, fs) = cgroups(
            &[
                ("cgroup.controllers", "cpu"),
                ("cpu.max", "max 100000"),
                ("memory.max", "max"),
            ],
            "0::/\n",
        );
        let limits = fs.limits(4);
        assert_eq!(limits.memory, None);
        assert_eq!(tune(&limits, None).processes, 4);
        assert_eq!(tune(&limits, Some(7)).processes, 7);
    }

    #[test]
    fn cgroup_v1_quota_and_small_memory() {
        let (_dir, fs) = cgroups(
            &[
                ("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "400000"),
                ("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000"),
                ("memory/docker/abc/memory.limit_in_bytes", "268435456"),
                ("memory/memory.limit_in_bytes", "9223372036854771712"),
            ],
            "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n",
        );
        let limits = fs.limits(16);
        assert!((limits.cpus - 4.0).abs() < 1e-9, "{limits:?}");
        assert_eq!(limits.memory, Some(256 << 20));
        // (256 - 64) / 128 = 1 process by memory.
        assert_eq!(tune(&limits, None).processes, 1);
    }

    #[test]
    fn workers_without_threads_are_more_processes() {
        let limits = Limits {
            cpus: 2.0,
            cpu_source: String::new(),
            memory: None,
            memory_source: String::new(),
        };
        let t = without_threads(&limits, None, "no concurrent.futures");
        assert_eq!((t.processes, t.threads), (5, 1));
        assert!(
            t.reason.contains("no threads: no concurrent.futures"),
            "{}",
            t.reason
        );
        // The memory allowance still bounds them: (512 - 64) / 128 = 3.
        let small = Limits {
            memory: Some(512 << 20),
            ..limits.clone()
        };
        assert_eq!(without_threads(&small, None, "x").processes, 3);
        assert_eq!(without_threads(&limits, Some(7), "x").processes, 7);
        let big = Limits {
            cpus: 16.0,
            ..limits
        };
        assert_eq!(without_threads(&big, None, "x").processes, 12);
    }

    #[test]
    fn cap_on_big_machines() {
        let limits = Limits {
            cpus: 64.0,
            cpu_source: String::new(),
            memory: None,
            memory_source: String::new(),
        };
        // docs/run.md: "processes = min(cpus, memory allowance, 12)", written out.
        assert_eq!(tune(&limits, None).processes, 12);
    }
}
