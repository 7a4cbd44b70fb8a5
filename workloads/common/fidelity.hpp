#pragma once
// Error metrics against an FP64 reference: relative Frobenius error first (cosine is weak:
// cosine 0.95 is ~31% relative error), max abs error, cosine, and a count of NaN / unwritten elements.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "harness/json.hpp"

namespace lrb {

class ErrorAccumulator {
 public:
  void add(double out, double ref) {
    if (std::isnan(out) || std::isinf(out)) {
      ++nonfinite_;
      return;
    }
    const double d = out - ref;
    err2_ += d * d;
    ref2_ += ref * ref;
    out2_ += out * out;
    dot_ += out * ref;
    max_abs_ = std::max(max_abs_, std::abs(d));
    ++n_;
  }
  void merge(const ErrorAccumulator& o) {
    err2_ += o.err2_;
    ref2_ += o.ref2_;
    out2_ += o.out2_;
    dot_ += o.dot_;
    max_abs_ = std::max(max_abs_, o.max_abs_);
    n_ += o.n_;
    nonfinite_ += o.nonfinite_;
  }
  double rel_error() const { return ref2_ > 0 ? std::sqrt(err2_ / ref2_) : std::sqrt(err2_); }
  double max_abs_error() const { return max_abs_; }
  double cosine() const { return (out2_ > 0 && ref2_ > 0) ? dot_ / std::sqrt(out2_ * ref2_) : 0.0; }
  double ref_norm() const { return std::sqrt(ref2_); }
  double err_norm() const { return std::sqrt(err2_); }
  std::int64_t nonfinite() const { return nonfinite_; }
  std::int64_t count() const { return n_; }

  Json to_json() const {
    return {{"rel_error", rel_error()}, {"max_abs_error", max_abs_error()}, {"cosine", cosine()},
            {"elements", n_ + nonfinite_}};
  }

 private:
  double err2_ = 0, ref2_ = 0, out2_ = 0, dot_ = 0, max_abs_ = 0;
  std::int64_t n_ = 0, nonfinite_ = 0;
};

}  // namespace lrb
