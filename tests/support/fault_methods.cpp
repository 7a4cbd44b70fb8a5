#include "tests/support/fault_methods.hpp"

#include <limits>
#include <stdexcept>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::test {

void link_fault_methods() {}

namespace {

class FaultMethod final : public CpuAdapterMethod {
 public:
  explicit FaultMethod(const Params& p) : mode_(p.string("mode")), fail_on_batch_(p.integer("fail_on_batch")) {}
  static std::string description() { return "test only: right answers, faults on one batch size"; }
  static ParamSpecs params() {
    return {{"mode", ParamType::string, "throw", "fault to inject", {}, {}, {"none", "throw", "nan", "unwritten", "wrong"}},
            {"fail_on_batch", ParamType::integer, 0, "batch size whose points fail (0: none)", 0.0, {}, {}}};
  }

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    allocate_outputs(p);
    answer_.clear();
    for (std::size_t i = 0; i < p.projections.size(); ++i) {
      const AdapterReference ref = adapter_reference(p, i);
      MatrixD y = ref.adapter;
      if (p.with_base) y += ref.base;
      answer_.push_back(y.cast<float>());
    }
    failing_ = fail_on_batch_ == p.batch && mode_ != "none";
  }
  void run(ExecContext&) override {
    if (failing_ && mode_ == "throw") throw std::runtime_error("injected fault");
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
  long long fail_on_batch_;
  bool failing_ = false;
  std::vector<MatrixF> answer_;
};

}  // namespace
LRBENCH_REGISTER_HIDDEN_METHOD(adapter_projection, "test_fault", FaultMethod);
}  // namespace lrb::test
