//! A small HTTP/1.1 load client for the PKI services (`scripts/bench-pki.sh`): N connections,
//! each a thread POSTing the same request body over keep-alive (reconnecting when the server
//! closes), for a bounded time; prints responses/s and p50/p99 latency as one JSON line.
//!
//! usage: cargo run --release --example pki_load -- URL BODY_FILE CONTENT_TYPE CONNECTIONS SECONDS
//!
//! Standard library only, so that the client costs little next to the server it measures.

#![allow(clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Target {
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Some(Target {
        host: host.to_owned(),
        path: path.to_owned(),
    })
}

/// One response: (status, keep the connection?). The body is read and dropped.
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or("");
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut keep = version == "HTTP/1.1";
    let mut length: Option<usize> = None;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            if k == "content-length" {
                length = v.parse().ok();
            } else if k == "connection" {
                keep = v != "close" && (keep || v == "keep-alive");
            }
        }
    }
    match length {
        Some(n) => {
            let mut buf = vec![0u8; n];
            r.read_exact(&mut buf)?;
        }
        None => {
            let mut sink = Vec::new();
            r.read_to_end(&mut sink)?;
            keep = false;
        }
    }
    Ok((status, keep))
}

fn worker(target: &Target, request: &[u8], until: Instant) -> (Vec<u32>, u64) {
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < until {
        let start = Instant::now();
        let c = match conn.take() {
            Some(c) => c,
            None => match TcpStream::connect(&target.host) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    BufReader::new(s)
                }
                Err(_) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let mut c = c;
        if c.get_mut().write_all(request).is_err() {
            errors += 1;
            continue;
        }
        match read_response(&mut c) {
            Ok((200, keep)) => {
                let us = start.elapsed().as_micros();
                latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                if keep {
                    conn = Some(c);
                }
            }
            Ok((_, keep)) => {
                errors += 1;
                if keep {
                    conn = Some(c);
                }
            }
            Err(_) => errors += 1,
        }
    }
    (latencies, errors)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: pki_load URL BODY_FILE CONTENT_TYPE CONNECTIONS SECONDS");
        std::process::exit(2);
    }
    let Some(target) = parse_url(&args[1]) else {
        eprintln!("URL must be http://HOST:PORT/PATH");
        std::process::exit(2);
    };
    let body = match std::fs::read(&args[2]) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", args[2]);
            std::process::exit(2);
        }
    };
    let connections: usize = args[4].parse().unwrap_or(16).max(1);
    let seconds: f64 = args[5].parse().unwrap_or(10.0);
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        target.path,
        target.host,
        args[3],
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);

    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let (mut all, errors) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..connections)
            .map(|_| s.spawn(|| worker(&target, &request, until)))
            .collect();
        let mut all = Vec::new();
        let mut errors = 0;
        for h in handles {
            if let Ok((l, e)) = h.join() {
                all.extend(l);
                errors += e;
            }
        }
        (all, errors)
    });
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all[i.min(all.len() - 1)]) / 1000.0
    };
    println!(
        "{{\"url\": \"{}\", \"connections\": {connections}, \"seconds\": {elapsed:.2}, \"responses\": {}, \"errors\": {errors}, \"rps\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        args[1],
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
