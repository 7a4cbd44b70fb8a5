#include "harness/check.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace lrb {
namespace {

// Poisons the output and writes the sentinel into both guard bands.
void prepare_view(const OutputView& v, ExecContext& ctx) {
  auto* data = static_cast<unsigned char*>(v.data);
  ctx.fill_bytes(data, kPoisonByte, v.bytes(), v.memory);
  if (v.guard_elements == 0) return;
  ctx.fill_bytes(data - v.guard_bytes(), kGuardByte, v.guard_bytes(), v.memory);
  ctx.fill_bytes(data + v.bytes(), kGuardByte, v.guard_bytes(), v.memory);
}

// Elements of the guard bands before and after the buffer that no longer hold the sentinel.
std::pair<std::size_t, std::size_t> changed_guards(const OutputView& v, ExecContext& ctx) {
  if (v.guard_elements == 0) return {0, 0};
  const std::size_t eb = dtype_bytes(v.dtype), gb = v.guard_bytes();
  std::vector<unsigned char> before(gb), after(gb);
  const auto* data = static_cast<const unsigned char*>(v.data);
  ctx.copy_to_host(before.data(), data - gb, gb, v.memory);
  ctx.copy_to_host(after.data(), data + v.bytes(), gb, v.memory);
  auto count = [&](const std::vector<unsigned char>& g) {
    std::size_t n = 0;
    for (std::size_t e = 0; e < v.guard_elements; ++e)
      for (std::size_t b = 0; b < eb; ++b)
        if (g[e * eb + b] != kGuardByte) {
          ++n;
          break;
        }
    return n;
  };
  return {count(before), count(after)};
}

HostOutput download(const OutputView& v, ExecContext& ctx) {
  HostOutput out{v.name, MatrixF(static_cast<Eigen::Index>(v.rows), static_cast<Eigen::Index>(v.cols))};
  if (v.elements() == 0) return out;
  if (v.dtype == DType::f32) {
    ctx.copy_to_host(out.values.data(), v.data, v.bytes(), v.memory);
  } else {
    std::vector<Half> buf(v.elements());
    ctx.copy_to_host(buf.data(), v.data, v.bytes(), v.memory);
    for (std::size_t i = 0; i < buf.size(); ++i) out.values.data()[i] = static_cast<float>(buf[i]);
  }
  return out;
}

void expect_shapes(const std::vector<OutputView>& views, const std::vector<OutputShape>& want) {
  if (views.size() != want.size())
    throw std::runtime_error(fmt::format("method exposes {} outputs, the family expects {}", views.size(), want.size()));
  for (std::size_t i = 0; i < views.size(); ++i)
    if (views[i].rows != want[i].rows || views[i].cols != want[i].cols)
      throw std::runtime_error(fmt::format("output {} '{}' is {}x{}, expected {}x{} ('{}')", i, views[i].name,
                                           views[i].rows, views[i].cols, want[i].rows, want[i].cols, want[i].name));
}

}  // namespace

std::vector<HostOutput> download_outputs(Method& method, ExecContext& ctx) {
  ctx.synchronize();
  std::vector<HostOutput> out;
  for (const auto& v : method.outputs()) out.push_back(download(v, ctx));
  return out;
}

CheckResult check_method(const TaskFamily& family, const MethodInfo& info, const Problem& problem, Method& method,
                         ExecContext& ctx, const CheckOptions& options) {
  const std::vector<OutputView> views = method.outputs();
  expect_shapes(views, family.output_shapes(problem));
  for (const auto& v : views) prepare_view(v, ctx);
  ctx.synchronize();
  method.run(ctx);
  ctx.synchronize();

  // Out of bounds first: a kernel that wrote past its buffer may also have corrupted another one.
  std::string out_of_bounds;
  for (const auto& v : views) {
    const auto [before, after] = changed_guards(v, ctx);
    if (before + after == 0) continue;
    std::vector<std::string> sides;
    if (before > 0) sides.push_back(fmt::format("{} of {} guard elements before it", before, v.guard_elements));
    if (after > 0) sides.push_back(fmt::format("{} of {} guard elements after it", after, v.guard_elements));
    out_of_bounds += fmt::format("{}output '{}': {} overwritten", out_of_bounds.empty() ? "" : "; ", v.name,
                                 fmt::join(sides, " and "));
  }

  CheckResult result;
  std::int64_t nonfinite = 0;
  std::string nonfinite_where;
  for (const auto& v : views) {
    result.outputs.push_back(download(v, ctx));
    const auto n = static_cast<std::int64_t>((!result.outputs.back().values.array().isFinite()).count());
    if (n > 0 && nonfinite_where.size() < 200)
      nonfinite_where += fmt::format("{}{}: {}", nonfinite_where.empty() ? "" : ", ", v.name, n);
    nonfinite += n;
  }

  Comparison cmp = family.compare(problem, info, method, result.outputs, options);
  const double tol = info.tolerance(family);
  result.fidelity = std::move(cmp.fidelity);
  result.fidelity["nonfinite_elements"] = nonfinite;
  result.fidelity["tolerance"] = std::isfinite(tol) ? Json(tol) : Json(nullptr);
  if (!out_of_bounds.empty())
    result.failure = "out of bounds: " + out_of_bounds;
  else if (nonfinite > 0)
    result.failure = fmt::format("{} output elements are NaN/Inf or were never written ({})", nonfinite, nonfinite_where);
  else if (cmp.failure)
    result.failure = cmp.failure;
  else if (cmp.error > tol)
    result.failure = fmt::format("incorrect: relative error {:.3e} above the method's tolerance {:.1e}", cmp.error, tol);
  return result;
}

}  // namespace lrb
