//! UDP listener thread.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::Result;
use crate::parse::parse_packet;
use crate::state::HeadState;

/// Read timeout of the socket: the longest the thread takes to notice [`OscListener::stop`].
const POLL_TIMEOUT: Duration = Duration::from_millis(20);

/// Largest datagram accepted (bigger ones are truncated by the OS and count as malformed).
const MAX_DATAGRAM_BYTES: usize = 65_536;

/// Background thread that receives OSC datagrams on a UDP socket, parses them with
/// [`parse_packet`], stores each update into a shared [`HeadState`] and counts packets
/// (`received` for accepted, `malformed` for rejected ones). Stops on [`OscListener::stop`]
/// or on drop (joins the thread).
#[derive(Debug)]
pub struct OscListener {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OscListener {
    /// Bind `bind_addr` (e.g. `"127.0.0.1:9000"`; port 0 picks a free port, see
    /// [`OscListener::local_addr`]) and start the thread.
    ///
    /// # Errors
    /// [`crate::OscError::Io`] if the address cannot be bound or the thread not spawned.
    pub fn spawn(bind_addr: &str, state: Arc<HeadState>) -> Result<Self> {
        let socket = UdpSocket::bind(bind_addr)?;
        socket.set_read_timeout(Some(POLL_TIMEOUT))?;
        let local_addr = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sphear-osc".into())
            .spawn(move || run(&socket, &state, &stop_thread))?;
        Ok(OscListener {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop the thread and wait for it (at most about one read timeout).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            // A panic inside the thread is not propagated: head tracking just stops.
            let _ = t.join();
        }
    }
}

impl Drop for OscListener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(socket: &UdpSocket, state: &HeadState, stop: &AtomicBool) {
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES];
    while !stop.load(Ordering::Acquire) {
        // Err: timeout (WouldBlock / TimedOut) or a transient error; poll the stop flag.
        if let Ok((n, _from)) = socket.recv_from(&mut buf) {
            match parse_packet(&buf[..n]) {
                Ok(msgs) => {
                    for m in &msgs {
                        state.store(m);
                    }
                    state.received.fetch_add(1, Ordering::AcqRel);
                }
                Err(_) => {
                    state.malformed.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
    }
}
