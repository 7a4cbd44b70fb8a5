// kvtc, CUDA path. Calibration is the CPU path's (the same artifact, untimed, in prepare), uploaded in fp16;
// compress and decompress run on the device: RoPE undone and the mean subtracted (one kernel), the projection
// onto the basis as a cuBLASLt GEMM (fp16 operands, fp32 accumulation and output; per_head mode one strided
// batch over every (layer, head) stream), then one fused quantize+pack kernel writing each row of the payload;
// decompress is its inverse (unpack+dequantize, the GEMM with the basis transposed, mean and RoPE restored).
// The blob has the CPU path's layout byte for byte in every section but the codes, which follow from the
// coefficients: this path's blob decodes on the CPU and the CPU's here (tests/test_gpu.cpp checks both).
// The decoder trusts the blob its own compress made (its structure is fixed by the artifact); blobs from
// outside are read by the CPU decoder, which checks every size (the fuzz target's).
#include <cmath>

#include <fmt/format.h>

#include "harness/cuda/lt_gemm.hpp"
#include "harness/cuda/raii.hpp"
#include "harness/registry.hpp"
#include "kernels/common/device_limits.cuh"
#include "kernels/kv_compression/kvtc.cuh"
#include "kernels/kv_compression/kvtc_per_head.cuh"
#include "methods/kvtc/kvtc_method.hpp"
#include "methods/kvtc/kvtc_nvcomp.hpp"
#include "workloads/kv_compression/device_data.hpp"

namespace lrb::cuda {
namespace {

namespace kk = kernels::kvtc;

// One tensor's streams on the device.
struct DeviceTensorPlan {
  int streams = 0, p = 0, rmax = 0, max_row_bytes = 0, max_kept = 0;
  bool fused = false;  // per_head fused kernels (kvtc_per_head.cuh, kPerHeadKernelLabel) instead of v1's three stages
  DeviceBuffer<kk::DeviceStream> stream_table;
  DeviceBuffer<kk::DeviceGroup> groups;
  DeviceBuffer<kk::DeviceGroup> kept_groups;  // the fused kernels': dropped groups left out
  DeviceBuffer<float> mean;    // [S][p]
  DeviceBuffer<__half> basis;  // [S][rmax][p]: component c of stream s is the p-vector at (s, c)
  // The fused kernels' basis: only the components up to each stream's last kept one ([S][r_used][p]): the
  // rest are dropped by the plan, so projecting onto them is wasted work (at CR 16 per_head keeps 16 of 128).
  DeviceBuffer<__half> used_basis;
  int r_used = 0;
  GemmShape encode, decode;
  std::uint64_t payload_bytes = 0;

  // `payload_at`: where this tensor's first stream starts in the payload; `rows`: coded tokens.
  void build(const std::vector<kvtc::Stream>& ss, int rows, std::uint64_t payload_at, cudaStream_t stream) {
    streams = static_cast<int>(ss.size());
    p = ss.empty() ? 0 : ss.front().p();
    rmax = 0;
    for (const auto& s : ss) rmax = std::max(rmax, s.r());
    std::vector<kk::DeviceStream> table;
    std::vector<kk::DeviceGroup> gs, kept;
    std::vector<float> m(static_cast<std::size_t>(streams) * p);
    std::vector<__half> b(static_cast<std::size_t>(streams) * rmax * p, __float2half(0.0f));
    std::uint64_t at = payload_at;
    for (int si = 0; si < streams; ++si) {
      const kvtc::Stream& s = ss[si];
      kk::DeviceStream d;
      d.group_begin = static_cast<int>(gs.size());
      d.group_count = static_cast<int>(s.plan.groups.size());
      d.kept_begin = static_cast<int>(kept.size());
      d.components = s.r();
      int code_bit = 0;
      for (const auto& g : s.plan.groups) {
        kk::DeviceGroup dg;
        dg.begin = g.begin, dg.size = g.size, dg.type = static_cast<int>(g.type);
        if (g.type != kvtc::CodeType::dropped) {
          dg.param = d.kept++;
          dg.code_bit = code_bit;
          code_bit += g.size * kvtc::bits_of(g.type);
          kept.push_back(dg);
        }
        gs.push_back(dg);
      }
      max_kept = std::max(max_kept, d.kept);
      d.row_bytes = static_cast<int>(kvtc::row_bytes(s));
      d.payload_offset = static_cast<long long>(at);
      at += static_cast<std::uint64_t>(d.row_bytes) * rows;
      max_row_bytes = std::max(max_row_bytes, d.row_bytes);
      table.push_back(d);
      for (int j = 0; j < p; ++j) m[static_cast<std::size_t>(si) * p + j] = s.mean[j];
      for (int c = 0; c < s.r(); ++c)
        for (int j = 0; j < p; ++j)
          b[(static_cast<std::size_t>(si) * rmax + c) * p + j] = __float2half(s.basis(j, c));
    }
    payload_bytes = at - payload_at;
    r_used = 0;
    for (const auto& s : ss) r_used = std::max(r_used, kvtc::used_components(s));
    std::vector<__half> u(static_cast<std::size_t>(streams) * r_used * p, __float2half(0.0f));
    for (int si = 0; si < streams; ++si)
      for (int c = 0; c < std::min(r_used, ss[si].r()); ++c)
        for (int j = 0; j < p; ++j)
          u[(static_cast<std::size_t>(si) * r_used + c) * p + j] = b[(static_cast<std::size_t>(si) * rmax + c) * p + j];
    if (!u.empty()) used_basis.upload(u.data(), u.size(), stream);
    stream_table.upload(table.data(), table.size(), stream);
    groups.upload(gs.data(), gs.size(), stream);
    if (!kept.empty()) kept_groups.upload(kept.data(), kept.size(), stream);
    mean.upload(m.data(), m.size(), stream);
    basis.upload(b.data(), b.size(), stream);
    LRB_CUDA_CHECK(cudaStreamSynchronize(stream));  // the host vectors go out of scope

    // Encode: C^T [rmax x rows] = Bt^T X^T (column-major), i.e. C[row][c] = sum_j X[row][j] B[j][c].
    encode.ta = CUBLAS_OP_T, encode.tb = CUBLAS_OP_N;
    encode.m = rmax, encode.n = rows, encode.k = p, encode.lda = p, encode.ldb = p, encode.ldc = std::max(rmax, 1);
    encode.c_type = CUDA_R_32F, encode.batch = streams;
    encode.stride_a = static_cast<long long>(rmax) * p, encode.stride_b = static_cast<long long>(rows) * p;
    encode.stride_c = static_cast<long long>(rows) * encode.ldc;
    // Decode: Xhat^T [p x rows] = Bt C^T, i.e. Xhat[row][j] = sum_c C[row][c] B[j][c].
    decode.ta = CUBLAS_OP_N, decode.tb = CUBLAS_OP_N;
    decode.m = p, decode.n = rows, decode.k = rmax, decode.lda = p, decode.ldb = std::max(rmax, 1), decode.ldc = p;
    decode.c_type = CUDA_R_32F, decode.batch = streams;
    decode.stride_a = static_cast<long long>(rmax) * p, decode.stride_b = static_cast<long long>(rows) * decode.ldb;
    decode.stride_c = static_cast<long long>(rows) * p;
  }

  kk::PerHeadTensor per_head() const {
    kk::PerHeadTensor t;
    t.streams = stream_table.data(), t.kept_groups = kept_groups.data(), t.mean = mean.data();
    t.basis = used_basis.data();
    t.rmax = r_used, t.max_kept = max_kept, t.max_row_bytes = max_row_bytes;
    return t;
  }
};

class KvtcCuda final : public CudaKvMethod {
 public:
  explicit KvtcCuda(const Params& params) : s_(params) {}

  Support can_run(const Point&, Backend) const override {
    if (s_.codec.entropy != kvtc::Entropy::none)
      if (const auto why = nvcomp_missing())
        return Support::no(fmt::format("kvtc entropy '{}' on the GPU is nvCOMP's: {}", kvtc::name_of(s_.codec.entropy), *why));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    cal_ = kvtc::calibrate_artifact(*p_, s_);
    const KvTensor& k = p_->keys;
    const auto [first, end] = kvtc::coded_range(k.tokens, s_.codec);
    rows_ = end - first;
    const std::vector<int> raw = kvtc::raw_token_list(k.tokens, s_.codec);
    raw_count_ = static_cast<int>(raw.size());
    if (raw_count_ > 0) positions_.upload(raw.data(), raw.size(), ctx_->stream());
    if (!side_) side_ = Stream::create(), fork_ = Event::create(), join_ = Event::create();
    const std::uint64_t raw_per_tensor = static_cast<std::uint64_t>(k.layers) * raw.size() * k.token_width() * sizeof(Half);

    const cudaStream_t st = ctx_->stream();
    keys_.build(cal_.art.keys, rows_, 0, st);
    values_.build(cal_.art.values, rows_, keys_.payload_bytes, st);
    const std::uint64_t payload = keys_.payload_bytes + values_.payload_bytes;
    stats_.header_bytes = kvtc::kBlobHeaderBytes;
    stats_.raw_bytes = 2 * raw_per_tensor;
    stats_.payload_bytes = stats_.stored_payload_bytes = payload;
    std::vector<std::uint8_t> header = kvtc::blob_header(k, cal_.art, s_.codec, payload, payload);
    // With an entropy stage the packed payload goes to a scratch buffer and nvCOMP's frame into the blob; the
    // header says so (the CPU decoder refuses the frame by name) and its stored size is the device's to write.
    if (s_.codec.entropy != kvtc::Entropy::none) {
      plain_.allocate(std::max<std::uint64_t>(payload, 1));
      stage_ = std::make_unique<NvcompStage>(s_.codec.entropy, plain_.data(), payload);
      header[kvtc::kHeaderEntropyAt] = kvtc::kNvcompFramed | static_cast<std::uint8_t>(s_.codec.entropy);
    }
    const std::size_t head_and_raw = header.size() + stats_.raw_bytes;
    blob_size_ = head_and_raw + (stage_ ? stage_->max_frame_bytes() : payload);
    blob_capacity_ = blob_size_;
    blob_.allocate(blob_size_);
    LRB_CUDA_CHECK(cudaMemcpy(blob_.data(), header.data(), header.size(), cudaMemcpyHostToDevice));
    raw_keys_ = reinterpret_cast<__half*>(blob_.data() + header.size());
    raw_values_ = reinterpret_cast<__half*>(blob_.data() + header.size() + raw_per_tensor);
    payload_ = stage_ ? plain_.data() : blob_.data() + head_and_raw;
    frame_ = blob_.data() + head_and_raw;

    const int shared_limit = kernels::device_shared_limit();
    for (const DeviceTensorPlan* t : {&keys_, &values_})
      if (4 * (t->max_row_bytes / 4 + 3) > shared_limit)
        throw std::runtime_error(fmt::format("kvtc CUDA: a coded row of {} bytes does not fit in shared memory ({} "
                                             "bytes); use fewer calibration tokens or a higher ratio",
                                             t->max_row_bytes, shared_limit));
    kk::configure_row_kernels(std::max(keys_.max_row_bytes, values_.max_row_bytes));

    // Geometry and RoPE tables (cos, sin of every position and frequency, in double as the CPU path, as float).
    geo_.layers = k.layers, geo_.tokens = k.tokens, geo_.heads = k.heads, geo_.head_dim = k.head_dim;
    geo_.first = first, geo_.coded = rows_;
    geo_.per_head = cal_.art.mode == kvtc::Mode::per_head;
    const int rot = p_->rope.rotary_dims > 0 ? p_->rope.rotary_dims : k.head_dim;
    std::vector<float> cs(static_cast<std::size_t>(k.tokens) * (rot / 2)), sn(cs.size());
    for (int pos = 0; pos < k.tokens; ++pos)
      for (int i = 0; i < rot / 2; ++i) {
        const double angle = pos * std::pow(p_->rope.theta, -2.0 * i / rot);
        cs[static_cast<std::size_t>(pos) * (rot / 2) + i] = static_cast<float>(std::cos(angle));
        sn[static_cast<std::size_t>(pos) * (rot / 2) + i] = static_cast<float>(std::sin(angle));
      }
    if (!cs.empty()) cos_.upload(cs.data(), cs.size(), st), sin_.upload(sn.data(), sn.size(), st);
    key_geo_ = geo_;
    key_geo_.rope = true, key_geo_.interleaved = p_->rope.style == "interleaved", key_geo_.rotary_dims = rot;
    key_geo_.cos = cos_.data(), key_geo_.sin = sin_.data();

    // Per tensor: the fused per_head kernels where they take the shape, else v1's three stages, whose
    // intermediates (X, C, Xhat) are allocated only when some tensor needs them.
    keys_.fused = s_.cuda_fused && kk::per_head_supported(key_geo_, keys_.per_head(), shared_limit);
    values_.fused = s_.cuda_fused && kk::per_head_supported(geo_, values_.per_head(), shared_limit);
    // One dynamic shared-memory limit per kernel, raised to what each tensor's plan needs (never lowered).
    if (keys_.fused) kk::configure_per_head(key_geo_, keys_.per_head());
    if (values_.fused) kk::configure_per_head(geo_, values_.per_head());
    if (!keys_.fused || !values_.fused) {
      const std::size_t vectors = static_cast<std::size_t>(rows_) * k.layers * k.token_width();
      const std::size_t coeffs = static_cast<std::size_t>(rows_) * std::max(keys_.streams * std::max(keys_.rmax, 1),
                                                                            values_.streams * std::max(values_.rmax, 1));
      x16_.allocate(std::max<std::size_t>(vectors, 1));
      xhat_.allocate(std::max<std::size_t>(vectors, 1));
      c32_.allocate(std::max<std::size_t>(coeffs, 1));
      c16_.allocate(std::max<std::size_t>(coeffs, 1));
    }
    LRB_CUDA_CHECK(cudaStreamSynchronize(st));
    if (rows_ > 0)
      for (DeviceTensorPlan* t : {&keys_, &values_})
        if (!t->fused) {
          plan_gemm(*ctx_, t->encode, t->basis.data(), x16_.data(), c32_.data());
          plan_gemm(*ctx_, t->decode, t->basis.data(), c16_.data(), xhat_.data());
        }
  }

  void compress(ExecContext&) override {
    const cudaStream_t st = ctx_->stream();
    fork_raw_copies(true, st);
    encode(const_cast<__half*>(k_.data()), keys_, key_geo_, st);
    encode(const_cast<__half*>(v_.data()), values_, geo_, st);
    join_raw_copies(st);
    if (stage_)
      stage_->compress(frame_, reinterpret_cast<unsigned long long*>(blob_.data() + kvtc::kHeaderStoredBytesAt), st);
  }
  void decompress(ExecContext&) override {
    const cudaStream_t st = ctx_->stream();
    if (stage_) stage_->decompress(frame_, st);
    fork_raw_copies(false, st);
    decode(k_out_.data(), keys_, key_geo_, st);
    decode(v_out_.data(), values_, geo_, st);
    join_raw_copies(st);
  }

  // With an entropy stage, nvCOMP's part of each direction is timed apart too (phases entropy_compress and
  // entropy_decompress): the stage's own throughput over the payload, which the whole phases hide.
  std::vector<TimedPhase> phases() override {
    std::vector<TimedPhase> p = CudaKvMethod::phases();
    if (stage_) {
      p.push_back({"entropy_compress", [this](ExecContext&) {
                     stage_->compress(frame_, reinterpret_cast<unsigned long long*>(blob_.data() + kvtc::kHeaderStoredBytesAt),
                                      ctx_->stream());
                   }});
      p.push_back({"entropy_decompress", [this](ExecContext&) { stage_->decompress(frame_, ctx_->stream()); }});
    }
    return p;
  }

  std::vector<std::pair<int, int>> raw_tokens() const override { return kvtc::raw_ranges(p_->keys.tokens, s_.codec); }
  double transform_flops() const override {
    const auto [first, end] = kvtc::coded_range(p_->keys.tokens, s_.codec);
    return kvtc::transform_flops(cal_, end - first);
  }
  KvSizes measure_sizes(ExecContext&) override {
    KvSizes k;
    if (stage_) {
      // The frame's real size, as the device wrote it into the header; every chunk's status checked.
      stage_->check(ctx_->stream());
      std::uint64_t stored = 0;
      LRB_CUDA_CHECK(cudaMemcpy(&stored, blob_.data() + kvtc::kHeaderStoredBytesAt, sizeof(stored), cudaMemcpyDeviceToHost));
      stats_.stored_payload_bytes = stored;
      blob_size_ = stats_.header_bytes + stats_.raw_bytes + stored;
      k.before_entropy_bytes = stats_.header_bytes + stats_.raw_bytes + stats_.payload_bytes;
    }
    k.blob_bytes = blob_size_;
    k.capacity_bytes = blob_capacity_;
    k.raw_token_bytes = stats_.raw_bytes;
    k.calibration_bytes = cal_.artifact_bytes;
    return k;
  }
  Footprint footprint() const override {
    Footprint f{{{"blob", blob_capacity_}, {"calibration", cal_.artifact_bytes}}};
    if (stage_) f.components["entropy_scratch"] = plain_.bytes();
    return f;
  }
  Json metrics() const override {
    Json m = kvtc::metrics_json(cal_, stats_, s_.codec.entropy);
    if (stage_) m["entropy_stage"] = stage_->describe();
    m["gemm_plans"] = gemm_plans_json();
    m["cuda_kernels"] = {{"keys", keys_.fused ? kk::kPerHeadKernelLabel : "unfused_v1"},
                         {"values", values_.fused ? kk::kPerHeadKernelLabel : "unfused_v1"}};
    return m;
  }

 private:
  // The raw sinks and window of both tensors (rows the coded kernels never touch) on a side stream, beside the
  // coded tokens' kernels: in sequence they added ~2 x 25 us a direction on an H100 (v4), at 64% of DRAM
  // bandwidth while the per_head kernels leave a third to half of it unused. Joined before the phase ends (and
  // before an entropy stage), in stream capture as in eager runs.
  void fork_raw_copies(bool to_raw, cudaStream_t st) {
    fork_.record(st);
    LRB_CUDA_CHECK(cudaStreamWaitEvent(side_.get(), fork_.get()));
    __half* k = to_raw ? const_cast<__half*>(k_.data()) : k_out_.data();
    __half* v = to_raw ? const_cast<__half*>(v_.data()) : v_out_.data();
    kk::launch_copy_raw(k, raw_keys_, positions_.data(), raw_count_, key_geo_, to_raw, side_.get());
    LRB_CUDA_CHECK_LAUNCH();
    kk::launch_copy_raw(v, raw_values_, positions_.data(), raw_count_, geo_, to_raw, side_.get());
    LRB_CUDA_CHECK_LAUNCH();
    join_.record(side_.get());
  }
  void join_raw_copies(cudaStream_t st) { LRB_CUDA_CHECK(cudaStreamWaitEvent(st, join_.get())); }

  void encode(__half* cache, DeviceTensorPlan& t, const kk::CacheGeometry& g, cudaStream_t st) {
    if (rows_ == 0) return;
    if (t.fused) {
      kk::launch_per_head_encode(cache, g, t.per_head(), payload_, st);
      LRB_CUDA_CHECK_LAUNCH();
      return;
    }
    kk::launch_prepare_vectors(cache, g, t.mean.data(), x16_.data(), st);
    LRB_CUDA_CHECK_LAUNCH();
    if (t.rmax == 0) return;  // nothing kept anywhere (an all-constant calibration set): rows of 0 bytes
    run_gemm(*ctx_, t.encode, 1.0f, t.basis.data(), x16_.data(), 0.0f, c32_.data());
    kk::launch_quantize_pack(c32_.data(), t.encode.ldc, t.encode.stride_c, t.stream_table.data(), t.streams,
                             t.groups.data(), rows_, t.max_row_bytes, payload_, st);
    LRB_CUDA_CHECK_LAUNCH();
  }
  void decode(__half* cache, DeviceTensorPlan& t, const kk::CacheGeometry& g, cudaStream_t st) {
    if (rows_ == 0) return;
    if (t.fused) {
      kk::launch_per_head_decode(payload_, g, t.per_head(), cache, st);
      LRB_CUDA_CHECK_LAUNCH();
      return;
    }
    if (t.rmax == 0) {
      LRB_CUDA_CHECK(cudaMemsetAsync(xhat_.data(), 0, xhat_.size() * sizeof(float), st));
    } else {
      kk::launch_unpack_dequantize(payload_, t.stream_table.data(), t.streams, t.groups.data(), rows_,
                                   t.max_row_bytes, c16_.data(), t.decode.ldb, t.decode.stride_b, st);
      LRB_CUDA_CHECK_LAUNCH();
      run_gemm(*ctx_, t.decode, 1.0f, t.basis.data(), c16_.data(), 0.0f, xhat_.data());
    }
    kk::launch_restore_vectors(xhat_.data(), g, t.mean.data(), cache, st);
    LRB_CUDA_CHECK_LAUNCH();
  }

  kvtc::Settings s_;
  kvtc::Calibrated cal_;
  kvtc::EncodeStats stats_;
  DeviceTensorPlan keys_, values_;
  kk::CacheGeometry geo_, key_geo_;
  DeviceBuffer<int> positions_;
  Stream side_;
  Event fork_, join_;
  DeviceBuffer<float> cos_, sin_, c32_, xhat_;
  DeviceBuffer<__half> x16_, c16_;
  int rows_ = 0, raw_count_ = 0;
  __half *raw_keys_ = nullptr, *raw_values_ = nullptr;
  std::uint8_t* payload_ = nullptr;  // the packed rows: in the blob, or in plain_ before an entropy stage
  std::uint8_t* frame_ = nullptr;    // the blob after header and raw tokens
  DeviceBuffer<std::uint8_t> plain_;
  std::unique_ptr<NvcompStage> stage_;
  std::size_t blob_capacity_ = 0;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("kvtc", cuda, KvtcCuda);
}  // namespace lrb::cuda
