//! Real servers for tests: Debian's `redis-server` and PostgreSQL, each
//! started on a free loopback port in its own temporary directory and
//! stopped when dropped. Tests that need them call [`RedisServer::start`] or
//! [`PostgresServer::start`]; both can be stopped and started again on the
//! same port to test outages. Nothing here is mocked.
//!
//! `.ci/run` installs the packages (`redis-server`, `postgresql`). When a
//! binary is missing the constructors return an error that names the package
//! to install, so a test fails with a clear message instead of hanging.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

fn wait_for_port(port: u16, up: bool, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let ok = TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().expect("socket address"),
            Duration::from_millis(200),
        )
        .is_ok();
        if ok == up {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "port {port} did not {} within {timeout:?}",
                if up { "open" } else { "close" }
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn find_binary(name: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    for d in extra_dirs {
        let p = d.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A `redis-server` on 127.0.0.1 without persistence.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    binary: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Result<RedisServer, String> {
        let binary = find_binary("redis-server", &[PathBuf::from("/usr/bin")]).ok_or(
            "redis-server not found: install Debian's package `redis-server` (.ci/run does)",
        )?;
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let mut s = RedisServer {
            port: free_port(),
            dir,
            binary,
            child: None,
        };
        s.resume()?;
        Ok(s)
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash would) and waits until the port closes.
    pub fn stop(&mut self) -> Result<(), String> {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        wait_for_port(self.port, false, START_TIMEOUT)
    }

    /// Starts the server again on the same port (empty: nothing persisted).
    pub fn resume(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let child = Command::new(&self.binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        wait_for_port(self.port, true, START_TIMEOUT)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off).
///
/// PostgreSQL refuses to run as root; when the tests run as root (CI), the
/// cluster directory is handed to the `postgres` system user and every
/// server command runs through `runuser -u postgres`.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    running: bool,
}

fn pg_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PostgresServer {
    /// Creates a cluster (`initdb`), starts it on a free port, and waits
    /// until it accepts connections. The database `postgres` and the
    /// superuser `palisade` exist.
    pub fn start() -> Result<PostgresServer, String> {
        let bin = pg_bin_dir().ok_or(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian's package `postgresql` (.ci/run does)",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("palisade-pg-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let as_postgres = is_root();
        if as_postgres {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !st.success() {
                return Err("chown of the cluster directory to postgres failed (is the `postgres` user present? install `postgresql`)".into());
            }
        }
        let mut s = PostgresServer {
            port: free_port(),
            dir,
            bin,
            as_postgres,
            running: false,
        };
        let data = s.data_dir();
        s.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-A",
                "trust",
                "-U",
                "palisade",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        s.resume()?;
        Ok(s)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("spawn {}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `postgres://palisade@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://palisade@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Directory of the cluster (for tests that inspect files).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server (`immediate`, as a crash would) and waits until the
    /// port closes.
    pub fn stop(&mut self) -> Result<(), String> {
        if !self.running {
            return Ok(());
        }
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )?;
        self.running = false;
        wait_for_port(self.port, false, START_TIMEOUT)
    }

    /// Starts the server again on the same port; data is kept.
    pub fn resume(&mut self) -> Result<(), String> {
        if self.running {
            return Ok(());
        }
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c full_page_writes=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-l",
                log.to_str().unwrap_or_default(),
                "-o",
                &opts,
                "-w",
                "-t",
                "20",
                "start",
            ],
        )?;
        self.running = true;
        wait_for_port(self.port, true, START_TIMEOUT)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(port: u16, msg: &[u8]) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(msg).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn redis_starts_answers_stops_and_resumes() {
        let mut r = RedisServer::start().unwrap();
        assert_eq!(talk(r.port(), b"PING\r\n"), b"+PONG\r\n");
        r.stop().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", r.port())).is_err());
        r.resume().unwrap();
        assert_eq!(talk(r.port(), b"PING\r\n"), b"+PONG\r\n");
    }

    #[test]
    fn postgres_starts_stops_and_resumes() {
        let mut p = PostgresServer::start().unwrap();
        // An SSLRequest gets a one-byte answer ('N' or 'S') from a live server.
        let ssl_request = [0u8, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(talk(p.port(), &ssl_request).len(), 1);
        p.stop().unwrap();
        assert!(TcpStream::connect(("127.0.0.1", p.port())).is_err());
        p.resume().unwrap();
        assert_eq!(talk(p.port(), &ssl_request).len(), 1);
    }
}
