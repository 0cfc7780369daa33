//! The halo exchange: every rank sends the rows it owns that another rank's window covers and
//! receives the rows of its window that other ranks own, for several arrays at once
//! (non-blocking sends and receives, then one wait for all).
//!
//! The windows are contiguous arrays this module's caller allocated (`exec::alloc`), so a run
//! of rows is a run of bytes: the messages go straight from and into them.

use std::ops::Range;

use mpi::traits::*;

use crate::core::view::RawView;

use super::Partition;

/// Rows `rows` (global) of `part`'s array owned by `from` that `to`'s window of `depth` covers.
fn shared(part: &Partition, depth: usize, from: usize, to: usize) -> Range<usize> {
    let own = part.rows(from);
    let window = super::program::window_of(part, to, depth);
    own.start.max(window.start)..own.end.min(window.end).max(own.start.max(window.start))
}

/// The rows this rank exchanges with each other rank, the same at every exchange of a run (the
/// partition and the depth fix them): made once per run, not per step.
pub(super) struct Halo {
    /// The global row of the window's first row.
    start: usize,
    /// Per peer: the rows it sends this rank (ghost rows here) and the rows this rank sends
    /// it (rows this rank owns), global. Usually the two neighbours; farther ranks too when
    /// the ranks between hold fewer than `depth` rows (a rank may hold none: numjit's
    /// partition of a short axis, or a caller's).
    peers: Vec<(usize, Range<usize>, Range<usize>)>,
}

impl Halo {
    /// `rank`'s exchanges for windows of `depth` under `part`.
    pub fn new(part: &Partition, depth: usize, rank: usize) -> Halo {
        let peers = (0..part.ranks())
            .filter(|&q| q != rank)
            .map(|q| {
                (
                    q,
                    shared(part, depth, q, rank),
                    shared(part, depth, rank, q),
                )
            })
            .filter(|(_, incoming, outgoing)| !incoming.is_empty() || !outgoing.is_empty())
            .collect();
        Halo {
            start: super::program::window_of(part, rank, depth).start,
            peers,
        }
    }

    /// Refreshes the ghost rows of every window in `windows` (each this rank's window under
    /// the run's partition and depth, contiguous, allocated by `dist`) from the ranks that own
    /// them. Collective over `comm`: every rank calls it with the same arrays in the same
    /// order. Returns the bytes this rank sent.
    pub fn exchange(&self, comm: &impl Communicator, windows: &[&RawView]) -> usize {
        let mut sent = 0;
        mpi::request::scope(|scope| {
            let mut requests = Vec::new();
            for (tag, w) in windows.iter().enumerate() {
                let row_bytes = w.dtype.size() * w.shape[1..].iter().product::<usize>();
                let bytes = |rows: &Range<usize>| {
                    (
                        (rows.start - self.start) * row_bytes,
                        rows.len() * row_bytes,
                    )
                };
                for (q, incoming, outgoing) in &self.peers {
                    let r = comm.process_at_rank(*q as mpi::Rank);
                    if !incoming.is_empty() {
                        let (at, len) = bytes(incoming);
                        // SAFETY: `w` is a contiguous array of `shape[0]` rows of `row_bytes`
                        // bytes that `dist` allocated and nothing else touches during the
                        // exchange; `incoming` lies in the window and holds ghost rows only
                        // (rows `q` owns), disjoint from every slice sent below (rows this
                        // rank owns) and from the other windows.
                        let buf = unsafe {
                            std::slice::from_raw_parts_mut((w.ptr as *mut u8).add(at), len)
                        };
                        requests.push(r.immediate_receive_into_with_tag(scope, buf, tag as i32));
                    }
                    if !outgoing.is_empty() {
                        let (at, len) = bytes(outgoing);
                        sent += len;
                        // SAFETY: as above; `outgoing` holds rows this rank owns, which no
                        // receive writes.
                        let buf = unsafe { std::slice::from_raw_parts(w.ptr.add(at), len) };
                        requests.push(r.immediate_send_with_tag(scope, buf, tag as i32));
                    }
                }
            }
            for r in requests {
                r.wait_without_status();
            }
        });
        sent
    }
}
