#pragma once
// What the correctness pass sees of a method's outputs: named buffers on the host or the device, their
// element type and shape, and the guard bands around them (sentinel regions before and after the buffer,
// as ggml's test-backend-ops does), so a kernel that writes past its output is caught and named.
#include <cstddef>
#include <string>
#include <vector>

#include "harness/tensor.hpp"

namespace lrb {

enum class Memory { host, device };
enum class DType { f16, f32 };

inline std::size_t dtype_bytes(DType t) { return t == DType::f16 ? 2 : 4; }

struct OutputView {
  std::string name;  // "L0.q", "keys", "Y": names the buffer in every message
  Memory memory = Memory::host;
  DType dtype = DType::f32;
  void* data = nullptr;  // first element
  std::size_t rows = 0, cols = 0;
  // Elements of sentinel before `data` and after its last element (allocated by the method's buffer;
  // 0: no guard bands, e.g. host matrices that own their storage).
  std::size_t guard_elements = 0;

  std::size_t elements() const { return rows * cols; }
  std::size_t bytes() const { return elements() * dtype_bytes(dtype); }
  std::size_t guard_bytes() const { return guard_elements * dtype_bytes(dtype); }
};

// One output copied to the host as fp32 (fp16 converts exactly), row-major rows x cols.
struct HostOutput {
  std::string name;
  MatrixF values;
};

// The bytes of a guard band; the correctness pass fills guards with it and checks them after the run.
constexpr unsigned char kGuardByte = 0xA5;
// Every output byte is set to this before the run: 0xFFFF / 0xFFFFFFFF are NaN in fp16 and fp32, so an
// element the run does not write is counted as non-finite.
constexpr unsigned char kPoisonByte = 0xFF;
// Guard band size used by the device buffers of the family bases (keeps the data 256-byte aligned).
constexpr std::size_t kGuardBandBytes = 256;

}  // namespace lrb
