//! [`Rdd::pipe`]: each partition's records through an external command.
//!
//! The task thread feeds records (their `Display` text, one per line) to a stdin-writer
//! thread and takes output lines from a stdout-reader thread, waiting on whichever is
//! ready first, so a command that writes a lot before reading all its input never
//! deadlocks against us. A third thread keeps the last lines of stderr for the error
//! message when the command fails.

use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crossbeam_channel::{Receiver, Select, Sender};
use std::collections::VecDeque;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How many of the last stderr lines a failure message shows.
const STDERR_TAIL: usize = 20;

/// The output of a command fed one partition (Spark's `PipedRDD`).
struct PipedRdd<T: Data> {
    info: RddInfo,
    parent: Rdd<T>,
    argv: Arc<Vec<String>>,
    env: Arc<Vec<(String, String)>>,
}

impl<T: Data> RddBase for PipedRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.base())]
    }
}

impl<T: Data + Display> RddNode<String> for PipedRdd<T> {
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<String>> {
        let input = self.parent.iterator(split, tc)?;
        let command = self.argv.join(" ");
        let Some((program, args)) = self.argv.split_first() else {
            return Err(Error::Pipe {
                command,
                reason: "the command is empty".into(),
            });
        };
        let mut child = Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Pipe {
                command: command.clone(),
                reason: format!("cannot start it: {e}"),
            })?;
        let io = |what: &str| Error::Pipe {
            command: command.clone(),
            reason: format!("no {what} pipe"),
        };
        let stdin = child.stdin.take().ok_or_else(|| io("stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| io("stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| io("stderr"))?;

        let (in_tx, in_rx) = crossbeam_channel::bounded::<String>(256);
        let writer = std::thread::Builder::new()
            .name(format!("pipe-stdin-{split}"))
            .spawn(move || {
                let mut w = std::io::BufWriter::new(stdin);
                for line in in_rx {
                    if w.write_all(line.as_bytes()).is_err() || w.write_all(b"\n").is_err() {
                        // The command stopped reading (closed its stdin): its exit status
                        // says whether that was a failure.
                        return;
                    }
                }
                let _ = w.flush();
            })
            .map_err(|e| Error::Task(format!("pipe: cannot start the stdin thread: {e}")))?;
        let (out_tx, out_rx) = crossbeam_channel::bounded::<String>(1024);
        let reader = std::thread::Builder::new()
            .name(format!("pipe-stdout-{split}"))
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match r.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            if buf.last() == Some(&b'\n') {
                                buf.pop();
                                if buf.last() == Some(&b'\r') {
                                    buf.pop();
                                }
                            }
                            let line = String::from_utf8_lossy(&buf).into_owned();
                            if out_tx.send(line).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::Task(format!("pipe: cannot start the stdout thread: {e}")))?;
        let errors = std::thread::Builder::new()
            .name(format!("pipe-stderr-{split}"))
            .spawn(move || {
                let mut tail = VecDeque::new();
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                tail.into_iter().collect::<Vec<String>>()
            })
            .map_err(|e| Error::Task(format!("pipe: cannot start the stderr thread: {e}")))?;
        Ok(Box::new(PipeIter {
            input: Some(input),
            pending: None,
            in_tx: Some(in_tx),
            out_rx,
            child: Some(child),
            threads: Some((writer, reader, errors)),
            command,
        }))
    }
}

/// The output lines of one running command.
struct PipeIter<T> {
    input: Option<BoxIter<T>>,
    /// A line read from the input but not yet taken by the writer.
    pending: Option<String>,
    in_tx: Option<Sender<String>>,
    out_rx: Receiver<String>,
    child: Option<Child>,
    threads: Option<(JoinHandle<()>, JoinHandle<()>, JoinHandle<Vec<String>>)>,
    command: String,
}

impl<T: Display> PipeIter<T> {
    /// The next input line, if there is input left and the writer still takes it.
    fn next_input(&mut self) -> Option<String> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        match self.input.as_mut()?.next() {
            Some(x) => Some(x.to_string()),
            None => {
                self.input = None;
                None
            }
        }
    }

    /// The command's output is over: waits for it and fails the task if it failed.
    fn finish(&mut self) {
        self.in_tx = None;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = child.wait();
        let tail = match self.threads.take() {
            Some((w, r, e)) => {
                let _ = w.join();
                let _ = r.join();
                e.join().unwrap_or_default()
            }
            None => Vec::new(),
        };
        let reason = match status {
            Ok(s) if s.success() => return,
            Ok(s) => format!("exited with {s}"),
            Err(e) => format!("could not be waited for: {e}"),
        };
        let stderr = if tail.is_empty() {
            "(its stderr was empty)".to_string()
        } else {
            format!("last lines of its stderr:\n{}", tail.join("\n"))
        };
        TaskContext::fail_current(Error::Pipe {
            command: self.command.clone(),
            reason: format!("{reason}; {stderr}"),
        });
    }
}

impl<T: Display> Iterator for PipeIter<T> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            let line = if self.in_tx.is_some() {
                self.next_input()
            } else {
                None
            };
            let Some(line) = line else {
                // No more input: close stdin and drain the output.
                self.in_tx = None;
                self.input = None;
                return match self.out_rx.recv() {
                    Ok(out) => Some(out),
                    Err(_) => {
                        self.finish();
                        None
                    }
                };
            };
            let tx = self.in_tx.as_ref()?;
            // Whichever is ready: an output line for the caller, or room for input.
            let mut sel = Select::new();
            let recv_i = sel.recv(&self.out_rx);
            let send_i = sel.send(tx);
            let op = sel.select();
            if op.index() == recv_i {
                self.pending = Some(line);
                match op.recv(&self.out_rx) {
                    Ok(out) => return Some(out),
                    Err(_) => {
                        // Output closed before the input ran out.
                        self.pending = None;
                        self.in_tx = None;
                        self.input = None;
                        self.finish();
                        return None;
                    }
                }
            } else if op.index() == send_i && op.send(tx, line).is_err() {
                // The writer stopped (the command closed its stdin): drop the rest.
                self.in_tx = None;
                self.input = None;
            }
        }
    }
}

impl<T> Drop for PipeIter<T> {
    fn drop(&mut self) {
        // Abandoned early (a `take`, a failed task): stop the command and its threads.
        self.in_tx = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Unblock the reader (its channel is closed once `out_rx` goes, after this).
        while self.out_rx.try_recv().is_ok() {}
        if let Some((w, _r, _e)) = self.threads.take() {
            let _ = w.join();
            // The readers end at the killed command's end of output, or when their
            // channel closes right after this; they are not joined here.
        }
    }
}

impl<T: Data + Display> Rdd<T> {
    /// Each partition's records, one `Display` line each, piped through the command
    /// `command` (split on whitespace, as Spark's `pipe(String)`); the command's output
    /// lines are the records of the result. A command that cannot start or exits with a
    /// non-zero status fails the task with an error naming it, its exit status and the
    /// last lines of its stderr.
    pub fn pipe(&self, command: &str) -> Rdd<String> {
        self.pipe_with(
            command.split_whitespace().map(String::from).collect(),
            Vec::new(),
        )
    }

    /// [`Rdd::pipe`] with the program and its arguments given one by one (no splitting)
    /// and extra environment variables for the command (Spark's `pipe(Seq, Map)`).
    pub fn pipe_with(&self, argv: Vec<String>, env: Vec<(String, String)>) -> Rdd<String> {
        let deps = vec![Dependency::Narrow(self.base())];
        let info = RddInfo::new(self.context(), "pipe", self.num_partitions(), &deps);
        Rdd::from_node(Arc::new(PipedRdd {
            info,
            parent: self.clone(),
            argv: Arc::new(argv),
            env: Arc::new(env),
        }))
    }
}
