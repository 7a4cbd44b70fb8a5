#pragma once
// The abstract method of kv_compression: calibrate (in prepare, untimed) -> compress (timed) -> an opaque
// blob whose exact size is counted after the run -> decompress (timed) -> K', V'.
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "harness/method.hpp"
#include "workloads/kv_compression/problem.hpp"

namespace lrb {

struct KvSizes {
  std::uint64_t blob_bytes = 0;            // bytes the blob uses after compress, headers included
  std::uint64_t capacity_bytes = 0;        // bytes allocated for it (an entropy coder's worst case)
  std::uint64_t raw_token_bytes = 0;       // part of the blob holding tokens kept raw
  std::uint64_t calibration_bytes = 0;     // artifact from calibration (bases, tables), stored once
  std::uint64_t before_entropy_bytes = 0;  // blob size before entropy coding (0: no entropy stage)
};

class KvCompressionMethod : public Method {
 public:
  // Token ranges [begin, end) kept raw; the check demands they come back bit-exact.
  virtual std::vector<std::pair<int, int>> raw_tokens() const { return {}; }

  virtual void compress(ExecContext& ctx) = 0;
  virtual void decompress(ExecContext& ctx) = 0;
  void run(ExecContext& ctx) override {
    compress(ctx);
    decompress(ctx);
  }
  std::vector<TimedPhase> phases() override {
    return {{"compress", [this](ExecContext& c) { compress(c); }},
            {"decompress", [this](ExecContext& c) { decompress(c); }}};
  }
  // Post-run, untimed: the blob's real size exists only once compress has run (an entropy coder's output
  // length), so it is measured here and read by the family's floor and ratios.
  void after_run(ExecContext& ctx) final {
    sizes_ = measure_sizes(ctx);
    measured_ = true;
  }
  const KvSizes& sizes() const {
    if (!measured_) throw std::logic_error("kv_compression: blob sizes read before the post-run hook");
    return sizes_;
  }
  // FLOPs one compress (and one decompress) must do beyond moving bytes: a transform coder's projections
  // (kvtc: 2 x coded tokens x p x r per stream). The family's floor counts them against the GEMM ceiling.
  virtual double transform_flops() const { return 0; }
  // The blob's bytes on the host (the CUDA/CPU test compares them where the blob is deterministic).
  virtual std::vector<std::uint8_t> blob_on_host(ExecContext& ctx) = 0;
  // The reverse, for the cross-path tests: replaces the blob with `blob` (made by another path of the same
  // method, on the same problem and settings), so that decompress() decodes it. Prepared methods only.
  virtual void blob_from_host(ExecContext& ctx, const std::vector<std::uint8_t>& blob) = 0;

 protected:
  virtual KvSizes measure_sizes(ExecContext& ctx) = 0;

 private:
  KvSizes sizes_;
  bool measured_ = false;
};

// CPU paths: the blob and the restored cache live on the host.
class CpuKvMethod : public KvCompressionMethod {
 public:
  std::vector<OutputView> outputs() override { return {view("keys", keys_out_), view("values", values_out_)}; }
  std::vector<std::uint8_t> blob_on_host(ExecContext&) override { return blob_; }
  void blob_from_host(ExecContext&, const std::vector<std::uint8_t>& blob) override { blob_ = blob; }

 protected:
  void allocate_outputs(const KvProblem& p) {
    keys_out_ = KvTensor(p.keys.layers, p.keys.tokens, p.keys.heads, p.keys.head_dim);
    values_out_ = keys_out_;
  }
  static OutputView view(const char* name, KvTensor& t) {
    return {name, Memory::host, DType::f16, t.data.data(),
            static_cast<std::size_t>(t.layers) * t.tokens * t.heads, static_cast<std::size_t>(t.head_dim), 0};
  }
  const KvProblem* p_ = nullptr;
  std::vector<std::uint8_t> blob_;
  KvTensor keys_out_, values_out_;
};

}  // namespace lrb
