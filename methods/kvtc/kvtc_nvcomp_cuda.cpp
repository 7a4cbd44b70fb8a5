// nvCOMP's batched codecs as kvtc's GPU entropy stage (methods/kvtc/kvtc_nvcomp.hpp). The four codecs' C
// APIs have one shape; a small table of the five calls per codec keeps one code path. Options: nvCOMP's
// defaults (deflate and gdeflate algorithm 1, zstd default, ANS rANS over bytes), chunks of 64 KiB.
#include "methods/kvtc/kvtc_nvcomp.hpp"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "harness/cuda/check.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "kernels/kv_compression/chunk_frame.cuh"

#if LRBENCH_WITH_NVCOMP
#include <nvcomp.h>
#endif

namespace lrb::cuda {

#if LRBENCH_WITH_NVCOMP

std::optional<std::string> nvcomp_missing() { return std::nullopt; }

namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

struct Codec {
  const char* name;
  nvcompStatus_t (*compress_temp)(std::size_t n, std::size_t chunk, std::size_t* temp, std::size_t total);
  nvcompStatus_t (*max_out)(std::size_t chunk, std::size_t* out);
  nvcompStatus_t (*compress)(const void* const* in, const std::size_t* in_bytes, std::size_t chunk, std::size_t n,
                             void* temp, std::size_t temp_bytes, void* const* out, std::size_t* out_bytes,
                             nvcompStatus_t* statuses, cudaStream_t st);
  nvcompStatus_t (*decompress_temp)(std::size_t n, std::size_t chunk, std::size_t* temp, std::size_t total);
  nvcompStatus_t (*decompress)(const void* const* in, const std::size_t* in_bytes, const std::size_t* out_capacity,
                               std::size_t* out_bytes, std::size_t n, void* temp, std::size_t temp_bytes,
                               void* const* out, nvcompStatus_t* statuses, cudaStream_t st);
};

#define LRB_NVCOMP_CODEC(Name, label)                                                                              \
  Codec{label,                                                                                                     \
        [](std::size_t n, std::size_t chunk, std::size_t* temp, std::size_t total) {                               \
          return nvcompBatched##Name##CompressGetTempSize(n, chunk, nvcompBatched##Name##CompressDefaultOpts, temp, \
                                                          total, nullptr);                                         \
        },                                                                                                         \
        [](std::size_t chunk, std::size_t* out) {                                                                  \
          return nvcompBatched##Name##CompressGetMaxOutputChunkSize(chunk, nvcompBatched##Name##CompressDefaultOpts, \
                                                                   out);                                           \
        },                                                                                                         \
        [](const void* const* in, const std::size_t* in_bytes, std::size_t chunk, std::size_t n, void* temp,       \
           std::size_t temp_bytes, void* const* out, std::size_t* out_bytes, nvcompStatus_t* statuses,             \
           cudaStream_t st) {                                                                                      \
          return nvcompBatched##Name##CompressAsync(in, in_bytes, chunk, n, temp, temp_bytes, out, out_bytes,      \
                                                    nvcompBatched##Name##CompressDefaultOpts, statuses, st);       \
        },                                                                                                         \
        [](std::size_t n, std::size_t chunk, std::size_t* temp, std::size_t total) {                               \
          return nvcompBatched##Name##DecompressGetTempSize(n, chunk, nvcompBatched##Name##DecompressDefaultOpts,   \
                                                            temp, total, nullptr);                                 \
        },                                                                                                         \
        [](const void* const* in, const std::size_t* in_bytes, const std::size_t* out_capacity,                    \
           std::size_t* out_bytes, std::size_t n, void* temp, std::size_t temp_bytes, void* const* out,            \
           nvcompStatus_t* statuses, cudaStream_t st) {                                                            \
          return nvcompBatched##Name##DecompressAsync(in, in_bytes, out_capacity, out_bytes, n, temp, temp_bytes,  \
                                                      out, nvcompBatched##Name##DecompressDefaultOpts, statuses,   \
                                                      st);                                                         \
        }}

const Codec& codec_of(kvtc::Entropy e) {
  static const Codec deflate = LRB_NVCOMP_CODEC(Deflate, "deflate");
  static const Codec gdeflate = LRB_NVCOMP_CODEC(Gdeflate, "gdeflate");
  static const Codec zstd = LRB_NVCOMP_CODEC(Zstd, "zstd");
  static const Codec ans = LRB_NVCOMP_CODEC(ANS, "ans");
  switch (e) {
    case kvtc::Entropy::deflate: return deflate;
    case kvtc::Entropy::gdeflate: return gdeflate;
    case kvtc::Entropy::zstd: return zstd;
    case kvtc::Entropy::ans: return ans;
    case kvtc::Entropy::none: break;
  }
  throw std::invalid_argument("nvCOMP stage: no codec for entropy 'none'");
}

void check_status(nvcompStatus_t s, const char* codec, const char* what) {
  if (s != nvcompSuccess)
    throw std::runtime_error(fmt::format("nvCOMP {} {}: {}", codec, what, nvcompGetStatusString(s)));
}

}  // namespace

struct NvcompStage::Impl {
  const Codec* codec = nullptr;
  std::size_t payload = 0, n = 0, max_out = 0, compress_temp = 0, decompress_temp = 0;
  DeviceBuffer<std::uint8_t> slots, temp;
  DeviceBuffer<const void*> in_ptrs, comp_ptrs;
  DeviceBuffer<void*> slot_ptrs, out_ptrs;
  DeviceBuffer<std::size_t> in_bytes, comp_bytes, out_bytes;
  DeviceBuffer<nvcompStatus_t> compress_status, decompress_status;
  DeviceBuffer<unsigned long long> offsets;
};

NvcompStage::NvcompStage(kvtc::Entropy e, std::uint8_t* payload, std::size_t payload_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.codec = &codec_of(e);
  m.payload = payload_bytes;
  m.n = (payload_bytes + kChunkBytes - 1) / kChunkBytes;
  const std::size_t n = std::max<std::size_t>(m.n, 1);
  check_status(m.codec->max_out(kChunkBytes, &m.max_out), m.codec->name, "max output size");
  check_status(m.codec->compress_temp(n, kChunkBytes, &m.compress_temp, payload_bytes), m.codec->name, "compress temp");
  check_status(m.codec->decompress_temp(n, kChunkBytes, &m.decompress_temp, payload_bytes), m.codec->name,
               "decompress temp");
  const std::size_t slot = (m.max_out + 255) / 256 * 256;
  m.slots.allocate(n * slot);
  m.temp.allocate(std::max<std::size_t>({m.compress_temp, m.decompress_temp, 1}));
  m.offsets.allocate(n);
  m.compress_status.allocate(n), m.decompress_status.allocate(n);
  m.comp_ptrs.allocate(n), m.comp_bytes.allocate(n), m.out_bytes.allocate(n);
  // Fixed tables: the payload's chunks (input of compress, output of decompress) and the slots.
  std::vector<const void*> in(n);
  std::vector<void*> slots(n);
  std::vector<std::size_t> sizes(n);
  for (std::size_t i = 0; i < n; ++i) {
    in[i] = payload + i * kChunkBytes;
    slots[i] = m.slots.data() + i * slot;
    sizes[i] = i + 1 < m.n ? kChunkBytes : payload_bytes - i * kChunkBytes;
  }
  m.in_bytes.upload(sizes.data(), n, nullptr);
  m.slot_ptrs.upload(slots.data(), n, nullptr);
  m.in_ptrs.upload(in.data(), n, nullptr);
  std::vector<void*> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = payload + i * kChunkBytes;
  m.out_ptrs.upload(out.data(), n, nullptr);
  LRB_CUDA_CHECK(cudaDeviceSynchronize());
}

NvcompStage::~NvcompStage() = default;

std::size_t NvcompStage::max_frame_bytes() const {
  return kernels::chunk_frame::max_frame_bytes(impl_->n, impl_->max_out);
}

void NvcompStage::compress(std::uint8_t* frame, unsigned long long* stored_bytes,
                           cudaStream_t st) {
  Impl& m = *impl_;
  if (m.n == 0) {
    kernels::chunk_frame::launch_compact(nullptr, nullptr, 0, kChunkBytes, frame, nullptr, stored_bytes, st);
    LRB_CUDA_CHECK_LAUNCH();
    return;
  }
  check_status(m.codec->compress(m.in_ptrs.data(), m.in_bytes.data(), kChunkBytes, m.n, m.temp.data(),
                                 m.compress_temp, m.slot_ptrs.data(), m.comp_bytes.data(), m.compress_status.data(), st),
               m.codec->name, "compress");
  kernels::chunk_frame::launch_compact(reinterpret_cast<const void* const*>(m.slot_ptrs.data()), m.comp_bytes.data(),
                                       static_cast<int>(m.n), kChunkBytes, frame, m.offsets.data(), stored_bytes, st);
  LRB_CUDA_CHECK_LAUNCH();
}

void NvcompStage::decompress(const std::uint8_t* frame, cudaStream_t st) {
  Impl& m = *impl_;
  if (m.n == 0) return;
  kernels::chunk_frame::launch_locate(frame, static_cast<int>(m.n), m.comp_ptrs.data(), m.comp_bytes.data(), st);
  LRB_CUDA_CHECK_LAUNCH();
  check_status(m.codec->decompress(m.comp_ptrs.data(), m.comp_bytes.data(), m.in_bytes.data(), m.out_bytes.data(), m.n,
                                   m.temp.data(), m.decompress_temp, m.out_ptrs.data(), m.decompress_status.data(), st),
               m.codec->name, "decompress");
}

void NvcompStage::check(cudaStream_t st) const {
  const Impl& m = *impl_;
  if (m.n == 0) return;
  std::vector<nvcompStatus_t> cs(m.n), ds(m.n);
  std::vector<std::size_t> want(m.n), got(m.n);
  LRB_CUDA_CHECK(cudaMemcpyAsync(cs.data(), m.compress_status.data(), m.n * sizeof(nvcompStatus_t), cudaMemcpyDeviceToHost, st));
  LRB_CUDA_CHECK(cudaMemcpyAsync(ds.data(), m.decompress_status.data(), m.n * sizeof(nvcompStatus_t), cudaMemcpyDeviceToHost, st));
  LRB_CUDA_CHECK(cudaMemcpyAsync(want.data(), m.in_bytes.data(), m.n * sizeof(std::size_t), cudaMemcpyDeviceToHost, st));
  LRB_CUDA_CHECK(cudaMemcpyAsync(got.data(), m.out_bytes.data(), m.n * sizeof(std::size_t), cudaMemcpyDeviceToHost, st));
  LRB_CUDA_CHECK(cudaStreamSynchronize(st));
  for (std::size_t i = 0; i < m.n; ++i) {
    if (cs[i] != nvcompSuccess)
      throw std::runtime_error(fmt::format("nvCOMP {}: chunk {} of {} failed to compress: {}", m.codec->name, i, m.n,
                                           nvcompGetStatusString(cs[i])));
    if (ds[i] != nvcompSuccess || got[i] != want[i])
      throw std::runtime_error(fmt::format("nvCOMP {}: chunk {} of {} decompressed to {} of {} bytes ({})",
                                           m.codec->name, i, m.n, got[i], want[i], nvcompGetStatusString(ds[i])));
  }
}

Json NvcompStage::describe() const {
  const Impl& m = *impl_;
  return {{"library", fmt::format("nvCOMP {}.{}.{}", NVCOMP_VER_MAJOR, NVCOMP_VER_MINOR, NVCOMP_VER_PATCH)},
          {"codec", m.codec->name},
          {"options", "library defaults"},
          {"chunk_bytes", kChunkBytes},
          {"chunks", m.n},
          {"max_chunk_out_bytes", m.max_out},
          {"temp_bytes", std::max(m.compress_temp, m.decompress_temp)}};
}

#else  // no nvCOMP in this build

std::optional<std::string> nvcomp_missing() {
  return "this build has no nvCOMP (scripts/setup installs nvidia-libnvcomp-cu13 into deps/nvcomp; CMake finds it "
         "there)";
}
struct NvcompStage::Impl {};
NvcompStage::NvcompStage(kvtc::Entropy, std::uint8_t*, std::size_t) { throw std::runtime_error(*nvcomp_missing()); }
NvcompStage::~NvcompStage() = default;
std::size_t NvcompStage::max_frame_bytes() const { return 0; }
void NvcompStage::compress(std::uint8_t*, unsigned long long*, cudaStream_t) {}
void NvcompStage::decompress(const std::uint8_t*, cudaStream_t) {}
void NvcompStage::check(cudaStream_t) const {}
Json NvcompStage::describe() const { return Json::object(); }

#endif

}  // namespace lrb::cuda
