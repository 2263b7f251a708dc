//! `Engine::process` must not allocate or free: a counting global allocator checks it across
//! many calls with varying block sizes and head-rotation updates (every call, so the
//! per-partition rotation-matrix recomputation and crossfade run too), and across a design swap
//! (new design picked up, warm-up, crossfade, old design sent back): the old design is freed
//! only later, by `DesignSwapper::collect` on the control side.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{FS_HZ, hrtf, noise};
use sphear_engine::{Engine, EngineConfig, FilterPhase, ShDomainDesign};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static DEALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is exactly the system allocator's; the counter is a relaxed atomic
// increment with no other effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        DEALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn process_does_not_allocate() {
    let h = hrtf();
    for cfg in [EngineConfig::ambix(4), EngineConfig::em32(4)] {
        let mut engine = Engine::new(cfg.clone(), &h).expect("design");
        let mut swapper = engine.swapper().expect("swapper");
        engine.prepare(FS_HZ, 4096).expect("prepare");
        // The design to swap to (other order and FIR cut), built and queued before counting.
        let new_cfg = EngineConfig {
            order: 3,
            input: match cfg.input {
                sphear_render::InputKind::Ambix { .. } => {
                    sphear_render::InputKind::Ambix { order: 3 }
                }
                ref a => a.clone(),
            },
            phase: FilterPhase::low_latency(),
            ..cfg.clone()
        };
        let new_design = ShDomainDesign::design(&new_cfg, &h).expect("new design");
        let n_in = engine.num_inputs();
        let input = noise(n_in, 4096, 7);
        let mut out = vec![vec![0.0f32; 4096]; 2];
        // All slices prepared up front; the loop itself only calls the engine.
        let blocks = [1usize, 7, 64, 256, 1023, 4096, 33, 5, 128, 4000];
        let ins_all: Vec<Vec<&[f32]>> = blocks
            .iter()
            .map(|&b| input.iter().map(|c| &c[..b]).collect())
            .collect();
        let head = engine.head_rotation();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let before_free = DEALLOCATIONS.load(Ordering::SeqCst);
        assert!(before > 0, "the counting allocator is not active");
        let mut queued = Some(new_design);
        for round in 0..20 {
            if round == 5
                && let Some(d) = queued.take()
            {
                // Queueing allocates the kernel (control side): keep it out of the count.
                let a = ALLOCATIONS.load(Ordering::SeqCst);
                let f = DEALLOCATIONS.load(Ordering::SeqCst);
                swapper.submit(d).expect("submit");
                let (da, df) = (
                    ALLOCATIONS.load(Ordering::SeqCst) - a,
                    DEALLOCATIONS.load(Ordering::SeqCst) - f,
                );
                ALLOCATIONS.fetch_sub(da, Ordering::SeqCst);
                DEALLOCATIONS.fetch_sub(df, Ordering::SeqCst);
            }
            for (k, &b) in blocks.iter().enumerate() {
                let yaw = (round * blocks.len() + k) as f64 * 3.0;
                if k % 2 == 0 {
                    engine.set_rotation(yaw, 5.0, -2.0);
                } else {
                    head.set_quaternion(1.0, 0.01 * k as f64, 0.02, 0.1 * round as f64);
                }
                let (l, r) = out.split_at_mut(1);
                let mut outs: [&mut [f32]; 2] = [&mut l[0][..b], &mut r[0][..b]];
                engine.process(&ins_all[k], &mut outs).expect("process");
            }
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        let after_free = DEALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{:?}: process allocated {} times",
            cfg.input,
            after - before
        );
        assert_eq!(
            after_free - before_free,
            0,
            "{:?}: process freed {} times",
            cfg.input,
            after_free - before_free
        );
        assert_eq!(
            engine.swaps_completed(),
            1,
            "the swap ran inside the counted calls"
        );
        assert_eq!(engine.design().order, 3);
        // The old design is freed here, on the control side.
        let f = DEALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(swapper.collect(), 1);
        assert!(
            DEALLOCATIONS.load(Ordering::SeqCst) > f,
            "collect freed the old design"
        );
        assert!(out[0].iter().chain(&out[1]).all(|v| v.is_finite()));
        assert!(out[0].iter().any(|&v| v != 0.0), "engine produced silence");
    }
}
