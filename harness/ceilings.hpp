#pragma once
// Ceilings measured once per run (MEASUREMENT.md section 5): copy bandwidth (bytes read + written)
// and dense GEMM throughput. Floors are normalized by them and records carry them.
#include <string>

#include "harness/backend.hpp"
#include "harness/json.hpp"

namespace lrb {

struct Ceilings {
  bool available = false;
  double copy_bytes_per_s = 0;  // read + write bytes per second
  double gemm_flops_per_s = 0;
  std::string how;              // what was measured
};

Ceilings measure_cpu_ceilings();
Ceilings measure_device_ceilings();  // implemented by the CUDA backend
Ceilings measure_ceilings(Backend backend);  // the CUDA build adds the device measurement
Json ceilings_to_json(const Ceilings& c);

}  // namespace lrb
