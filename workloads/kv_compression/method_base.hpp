#pragma once
// The abstract method of kv_compression: calibrate (in prepare, untimed) -> compress (timed) -> an opaque
// blob whose exact size is counted -> decompress (timed) -> K', V'.
#include <limits>
#include <utility>
#include <vector>

#include "harness/method.hpp"
#include "workloads/kv_compression/problem.hpp"

namespace lrb {

struct KvSizes {
  std::uint64_t blob_bytes = 0;            // everything stored, headers included
  std::uint64_t raw_token_bytes = 0;       // part of the blob holding tokens kept raw
  std::uint64_t calibration_bytes = 0;     // artifact from calibration (bases, tables), stored once
  std::uint64_t before_entropy_bytes = 0;  // blob size before entropy coding (0: no entropy stage)
};

class KvCompressionMethod : public Method {
 public:
  // Relative error above which the output is wrong. Lossless methods: 0 (bit-exact); lossy: infinity.
  virtual double tolerance() const { return std::numeric_limits<double>::infinity(); }
  virtual void poison_output() = 0;
  virtual const KvTensor& restored_keys() = 0;  // host copies after run()
  virtual const KvTensor& restored_values() = 0;
  virtual KvSizes sizes() const = 0;
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
};

// CPU paths: the blob and the restored cache live on the host.
class CpuKvMethod : public KvCompressionMethod {
 public:
  void poison_output() override {
    const Half nan = Half(std::numeric_limits<float>::quiet_NaN());
    std::fill(keys_out_.data.begin(), keys_out_.data.end(), nan);
    std::fill(values_out_.data.begin(), values_out_.data.end(), nan);
  }
  const KvTensor& restored_keys() override { return keys_out_; }
  const KvTensor& restored_values() override { return values_out_; }

 protected:
  void allocate_outputs(const KvProblem& p) {
    keys_out_ = KvTensor(p.keys.layers, p.keys.tokens, p.keys.heads, p.keys.head_dim);
    values_out_ = keys_out_;
  }
  const KvProblem* p_ = nullptr;
  std::vector<std::uint8_t> blob_;
  KvTensor keys_out_, values_out_;
};

}  // namespace lrb
