#pragma once
// Data-parallel training on one machine without torchrun: starts `nproc`
// copies of this very command (its command line from /proc/self/cmdline, less
// --nproc and --threads, plus --threads threads/nproc) as ranks 0..nproc-1 with
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1,
// MASTER_PORT = a free loopback port), forwards SIGINT/SIGTERM to them (each
// checkpoints and stops at the same step), and waits for all. A failure other
// than an interruption (exit 130) kills the others: they could only wait for
// the missing rank. Returns the first failure's exit status (0 if none).
namespace rgbdseg::train {

int launch_local_workers(int nproc, int threads);

}  // namespace rgbdseg::train
