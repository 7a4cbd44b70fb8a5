#include "tests/support/fault_methods.hpp"

#include <chrono>
#include <limits>
#include <thread>
#include <stdexcept>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::test {

void link_fault_methods() {}

namespace {

// The FP64 reference, rounded to fp32: the right answer every fault method starts from.
std::vector<MatrixF> right_answer(const AdapterProblem& p) {
  std::vector<MatrixF> answer;
  for (std::size_t i = 0; i < p.projections.size(); ++i) {
    const AdapterReference ref = adapter_reference(p, i);
    MatrixD y = ref.adapter;
    if (p.with_base) y += ref.base;
    answer.push_back(y.cast<float>());
  }
  return answer;
}

class FaultMethod final : public CpuAdapterMethod {
 public:
  explicit FaultMethod(const Params& p)
      : mode_(p.string("mode")), fail_on_batch_(p.integer("fail_on_batch")), sleep_us_(p.integer("sleep_us")) {}

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    allocate_outputs(p);
    answer_ = right_answer(p);
    failing_ = fail_on_batch_ == p.batch && mode_ != "none";
  }
  void run(ExecContext&) override {
    if (failing_ && mode_ == "throw") throw std::runtime_error("injected fault");
    // A fixed cost a run (test_compare's "same build" runs): a shared 2-core machine moves real kernels'
    // medians by 10-35% between runs, far more than the build does.
    if (sleep_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    for (std::size_t i = 0; i < out_.size(); ++i) {
      if (failing_ && mode_ == "unwritten" && i == 0) {
        out_[i].bottomRows(out_[i].rows() - 1) = answer_[i].bottomRows(answer_[i].rows() - 1);
        out_[i].topRows(1).rightCols(out_[i].cols() - 1) = answer_[i].topRows(1).rightCols(answer_[i].cols() - 1);
        continue;  // element (0, 0) keeps the poison
      }
      out_[i] = answer_[i];
    }
    if (failing_ && mode_ == "nan") out_.back()(0, 0) = std::numeric_limits<float>::quiet_NaN();
    if (failing_ && mode_ == "wrong") out_.back() *= 1.5f;  // finite but far from the reference
  }
  Footprint footprint() const override { return {}; }

 private:
  std::string mode_;
  long long fail_on_batch_, sleep_us_;
  bool failing_ = false;
  std::vector<MatrixF> answer_;
};

// Host outputs with guard bands (what the CUDA bases allocate on the device): writes the right answer,
// and in mode past_end / before_start also one element outside the last / first output.
class OutOfBoundsMethod final : public AdapterProjectionMethod {
 public:
  explicit OutOfBoundsMethod(const Params& p) : mode_(p.string("mode")) {}
  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const AdapterProblem&>(problem);
    answer_ = right_answer(*p_);
    storage_.clear();
    for (const auto& a : answer_) storage_.emplace_back(static_cast<std::size_t>(a.size()) + 2 * kGuard);
  }
  std::vector<OutputView> outputs() override {
    std::vector<OutputView> v;
    for (std::size_t i = 0; i < storage_.size(); ++i)
      v.push_back({p_->projections[i].name, Memory::host, DType::f32, storage_[i].data() + kGuard,
                   static_cast<std::size_t>(answer_[i].rows()), static_cast<std::size_t>(answer_[i].cols()), kGuard});
    return v;
  }
  void run(ExecContext&) override {
    for (std::size_t i = 0; i < answer_.size(); ++i)
      std::copy(answer_[i].data(), answer_[i].data() + answer_[i].size(), storage_[i].data() + kGuard);
    if (mode_ == "past_end") storage_.back()[kGuard + answer_.back().size()] = 1.0f;
    if (mode_ == "before_start") storage_.front()[kGuard - 1] = 1.0f;
  }
  Footprint footprint() const override { return {}; }

 private:
  static constexpr std::size_t kGuard = 64;
  std::string mode_;
  const AdapterProblem* p_ = nullptr;
  std::vector<MatrixF> answer_;
  std::vector<std::vector<float>> storage_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(
    adapter_projection, "test_fault",
    {.description = "test only: right answers, faults on one batch size",
     .params = {{"mode", ParamType::string, "throw", "fault to inject", {}, {}, {"none", "throw", "nan", "unwritten", "wrong"}},
                {"fail_on_batch", ParamType::integer, 0, "batch size whose points fail (0: none)", 0.0, {}, {}},
                {"sleep_us", ParamType::integer, 0, "microseconds each run sleeps (a fixed cost)", 0.0, 1e6, {}}},
     .hidden = true});
LRBENCH_REGISTER_BACKEND("test_fault", cpu, FaultMethod);

LRBENCH_DECLARE_METHOD(adapter_projection, "test_out_of_bounds",
                       {.description = "test only: right answers, plus one write outside an output buffer",
                        .params = {{"mode", ParamType::string, "past_end", "where to write", {}, {},
                                    {"none", "past_end", "before_start"}}},
                        .hidden = true});
LRBENCH_REGISTER_BACKEND("test_out_of_bounds", cpu, OutOfBoundsMethod);

}  // namespace lrb::test
