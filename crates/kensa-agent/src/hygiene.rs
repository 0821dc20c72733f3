//! Process hygiene: the agent runs on production servers whose real work
//! must not notice it.
//!
//! - **Nice 10**: collection (walking language-package trees, parsing
//!   package databases, hashing) is CPU work that can wait; at nice 10 the
//!   scheduler gives it what the host's own services leave. On Linux an I/O
//!   priority that was not set explicitly follows the nice value
//!   (best-effort class, level 6 at nice 10), so disk reads yield too. The
//!   systemd unit goes further with `IOSchedulingClass=idle` and
//!   `CPUQuota=20%`; there is no `ioprio_set` in `rustix`, and the crate
//!   allows no `unsafe`, so the idle class is left to the unit (or to
//!   `ionice -c3` under cron).
//! - **Address-space limit** (`RLIMIT_AS`, default 1 GiB): a corrupt or
//!   hostile package database or archive that made a parser allocate
//!   without bound makes the agent fail fast (an allocation failure aborts
//!   it) instead of pushing the host into swap or waking the OOM killer
//!   against the host's own services. It works also outside systemd (cron,
//!   by hand), where the unit's `MemoryMax` does not apply. The limit is on
//!   virtual memory, which is larger than what is resident (thread stacks,
//!   allocator arenas, mapped files), hence 1 GiB for an agent that needs
//!   well under 128 MiB resident.
//!
//! Both apply to the calling thread and what it starts afterwards, so call
//! [`apply`] first thing, before any thread is spawned.

use rustix::process::{
    Resource, Rlimit, getpriority_process, getrlimit, setpriority_process, setrlimit,
};

use crate::error::{AgentError, Result};

/// The default nice value.
pub const DEFAULT_NICE: i32 = 10;
/// The default address-space limit: 1 GiB.
pub const DEFAULT_ADDRESS_SPACE: u64 = 1 << 30;

/// Lower the priority to `nice` (never raise it: a process already nicer
/// stays so) and cap the address space at `address_space` bytes (never
/// above an existing hard limit). `None` leaves either alone.
pub fn apply(nice: Option<i32>, address_space: Option<u64>) -> Result<()> {
    if let Some(nice) = nice {
        let current = getpriority_process(None)
            .map_err(|e| AgentError::Process(format!("getpriority: {e}")))?;
        if current < nice {
            setpriority_process(None, nice)
                .map_err(|e| AgentError::Process(format!("setpriority to nice {nice}: {e}")))?;
        }
    }
    if let Some(limit) = address_space {
        let old = getrlimit(Resource::As);
        let current = match old.maximum {
            Some(max) => limit.min(max),
            None => limit,
        };
        setrlimit(
            Resource::As,
            Rlimit {
                current: Some(current),
                maximum: old.maximum,
            },
        )
        .map_err(|e| AgentError::Process(format!("setrlimit(RLIMIT_AS, {current}): {e}")))?;
    }
    Ok(())
}
