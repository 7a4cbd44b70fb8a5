#pragma once
// Environment and provenance of a run (MEASUREMENT.md section 7), captured once per run.
#include "harness/backend.hpp"
#include "harness/json.hpp"

namespace lrb {

// {gpu, sm_count, l2_bytes, mem_bytes, driver, cuda_runtime, clocks{sm_mhz, mem_mhz}, (CUDA only:
//  compute_capability, pci_bus_id, uuid), host, host_cpu, host_threads, cuda_visible_devices, compiler, cxx_flags,
//  build_type, with_cuda}; GPU fields are null on the CPU backend. host and cuda_visible_devices say which machine
//  and which GPU of it a record came from where one sweep ran on many (lrbench run --devices, Slurm arrays).
Json capture_environment(Backend backend);

// The device part of the environment (the CUDA backend overrides the CPU build's default).
Json capture_device_environment();
Json no_device_environment();

// ISO 8601 UTC, seconds.
std::string utc_timestamp();

}  // namespace lrb
