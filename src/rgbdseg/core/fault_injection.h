#pragma once
// Crash points for the fault-injection tests. When the environment variable
// RGBDSEG_FAULT_POINT names a point ("checkpoint:old_moved"), the process kills
// itself with SIGKILL the first time it passes there, as the OOM killer or a
// power cut would: no destructors, no flushing. "NAME:K" kills on the K-th pass
// (1-based). Unset (always, outside tests) it costs one getenv per process.
namespace rgbdseg {

void fault_point(const char* name);

}  // namespace rgbdseg
