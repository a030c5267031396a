#pragma once
// Data-parallel training on one machine without torchrun: starts `nproc`
// copies of this very command (its command line from /proc/self/cmdline, less
// --nproc and --threads, plus --threads threads/nproc) as ranks 0..nproc-1 with
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1,
// MASTER_PORT = a free loopback port), forwards SIGINT/SIGTERM to them (each
// checkpoints and stops at the same step), and waits for all. A failure other
// than an interruption (exit 130) kills the others: they could only wait for
// the missing rank. Returns the first failure's exit status (0 if none); a rank
// killed by a signal (SIGKILL, a crash: no error line of its own) is an Error
// naming the rank and the signal.
#include <string>
#include <vector>

namespace rgbdseg::train {

// `threads`: the machine-wide thread budget (0 = all cores), split evenly.
int launch_local_workers(int nproc, int threads);

// The same for an explicit command line: `arguments` (without the program
// name) are given to nproc copies of this executable, each with `--threads`
// appended (e.g. the demo starting `train ... --out DIR`).
int launch_local_workers(int nproc, int threads, const std::vector<std::string>& arguments);

// Threads per process when `threads` (0 = all cores) are split over nproc.
int threads_per_process(int nproc, int threads);

}  // namespace rgbdseg::train
