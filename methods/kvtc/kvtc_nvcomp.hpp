#pragma once
// kvtc's entropy stage on the GPU: nvCOMP's batched C API (deflate, gdeflate, zstd, ans) over the packed
// payload cut into 64 KiB chunks, the chunks compacted into one frame in the blob
// (kernels/kv_compression/chunk_frame.cuh), all on the stream: nothing waits for the host, so a CUDA graph
// can hold the whole compress. nvCOMP is optional at build time (LRBENCH_WITH_NVCOMP): without it
// `nvcomp_missing()` says why and the CUDA path skips these stages.
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "harness/json.hpp"
#include "methods/kvtc/kvtc_entropy.hpp"

namespace lrb::cuda {

// Empty where this build has nvCOMP; else the reason its stages cannot run.
std::optional<std::string> nvcomp_missing();

class NvcompStage {
 public:
  // Plans the chunks of the device buffer `payload` and allocates the codec's scratch (untimed, in prepare).
  NvcompStage(kvtc::Entropy e, std::uint8_t* payload, std::size_t payload_bytes);
  ~NvcompStage();
  NvcompStage(const NvcompStage&) = delete;
  NvcompStage& operator=(const NvcompStage&) = delete;

  std::size_t max_frame_bytes() const;
  // payload -> frame at `frame` (device, max_frame_bytes()); *stored_bytes (device, u64, 8-aligned) := the
  // frame's size.
  void compress(std::uint8_t* frame, unsigned long long* stored_bytes, cudaStream_t st);
  // frame -> payload.
  void decompress(const std::uint8_t* frame, cudaStream_t st);
  // Post-run, untimed: throws if any chunk of the last compress or decompress failed or came back at
  // another size than it went in.
  void check(cudaStream_t st) const;
  Json describe() const;  // codec, chunk size, chunks, scratch bytes

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lrb::cuda
