#include "methods/kvtc/kvtc_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <fmt/format.h>

#include "workloads/common/parallel.hpp"

namespace lrb::kvtc {

Mode parse_mode(const std::string& name) {
  if (name == "paper") return Mode::paper;
  if (name == "per_head") return Mode::per_head;
  throw std::invalid_argument(fmt::format("kvtc mode '{}': paper or per_head", name));
}

namespace {

// The (layer, head) pairs a stream covers, in the order its vector concatenates them.
void for_each_head(const KvTensor& t, const Stream& s, const std::function<void(int, int, int)>& f) {
  int at = 0;
  for (int l = 0; l < t.layers; ++l)
    for (int h = 0; h < t.heads; ++h)
      if (s.layer < 0 || (l == s.layer && h == s.head)) {
        f(l, h, at);
        at += t.head_dim;
      }
}

}  // namespace

void gather(const KvTensor& t, int token, const Stream& s, bool with_rope, const RopeSpec& rope, float* out) {
  std::vector<double> head(t.head_dim);
  for_each_head(t, s, [&](int l, int h, int at) {
    for (int d = 0; d < t.head_dim; ++d) head[d] = static_cast<double>(t.data[t.index(l, token, h, d)]);
    if (with_rope) apply_rope(head.data(), t.head_dim, token, rope, true);
    for (int d = 0; d < t.head_dim; ++d) out[at + d] = static_cast<float>(head[d]);
  });
}

void scatter(const float* v, int token, const Stream& s, bool with_rope, const RopeSpec& rope, KvTensor& t) {
  std::vector<double> head(t.head_dim);
  for_each_head(t, s, [&](int l, int h, int at) {
    for (int d = 0; d < t.head_dim; ++d) head[d] = v[at + d];
    if (with_rope) apply_rope(head.data(), t.head_dim, token, rope, false);
    for (int d = 0; d < t.head_dim; ++d) t.data[t.index(l, token, h, d)] = to_half(head[d]);
  });
}

namespace {

// Row blocks of a p-row matrix for the parallel loops below: fixed boundaries, so every sum is formed in the
// same order whatever the number of threads.
std::vector<std::pair<Eigen::Index, Eigen::Index>> row_blocks(Eigen::Index p) {
  constexpr Eigen::Index kBlock = 8192;
  std::vector<std::pair<Eigen::Index, Eigen::Index>> b;
  for (Eigen::Index at = 0; at < p; at += kBlock) b.emplace_back(at, std::min(kBlock, p - at));
  return b;
}

// sum over blocks b of A_b A_b^T (lower triangle, m x m), the blocks in parallel: the Gram matrices of paper
// mode (p = 131072) on every core. `block(first, count)` gives A_b for the p-range [first, first + count).
// parallel_for runs inline inside another, so per-head mode's per-stream loop keeps the cores.
template <class Block>
Eigen::MatrixXd blocked_gram(Eigen::Index m, Eigen::Index p, Block&& block) {
  const auto blocks = row_blocks(p);
  std::vector<Eigen::MatrixXd> part(blocks.size());
  parallel_for(blocks.size(), [&](std::size_t i) {
    part[i] = Eigen::MatrixXd::Zero(m, m);
    part[i].selfadjointView<Eigen::Lower>().rankUpdate(block(blocks[i].first, blocks[i].second));
  });
  Eigen::MatrixXd G = Eigen::MatrixXd::Zero(m, m);
  for (const auto& g : part) G += g;
  return G;
}

// Re-orthonormalization by CholeskyQR2 (R from the Cholesky factor of V^T V, V := V R^-1, twice): V is already
// near orthonormal, so two passes reach working precision, and each is a rank update and a triangular solve
// at GEMM speed. Householder QR plus forming Q did the same at p = 131072, r = 384 (Llama-2-7B paper mode) in
// minutes, not seconds. R's diagonal is positive, so each column keeps its sign (its component). Where V^T V
// is not positive definite (dependent columns) Householder QR takes over.
void orthonormalize(Eigen::MatrixXd& V) {
  const Eigen::Index p = V.rows(), r = V.cols();
  for (int pass = 0; pass < 2; ++pass) {
    const Eigen::LLT<Eigen::MatrixXd> llt(
        blocked_gram(r, p, [&](Eigen::Index at, Eigen::Index len) { return V.middleRows(at, len).transpose(); }));
    if (llt.info() != Eigen::Success) {
      const Eigen::HouseholderQR<Eigen::MatrixXd> qr(V);
      Eigen::MatrixXd Q = qr.householderQ() * Eigen::MatrixXd::Identity(p, r);
      for (Eigen::Index k = 0; k < r; ++k)
        if (Q.col(k).dot(V.col(k)) < 0) Q.col(k) *= -1;
      V = std::move(Q);
      return;
    }
    // V R^-1 = (R^-T V^T)^T, with R = L^T, block of rows by block.
    const auto blocks = row_blocks(p);
    parallel_for(blocks.size(), [&](std::size_t i) {
      auto Vb = V.middleRows(blocks[i].first, blocks[i].second);
      Vb = llt.matrixL().solve(Vb.transpose()).transpose();
    });
  }
}

// Mean and PCA basis of `fit` (rows: tokens), from the p x p covariance or, where p exceeds the tokens, the
// n x n Gram matrix (V = X_c^T U Lambda^-1/2): the two give the same nonzero components. In double, and the
// Gram route's V re-orthonormalized (thin QR), because V divides by sqrt(lambda): float rounding of X_c there
// left small components far from orthogonal (found by KvtcCalibration.PcaKeepsTheVarianceItShould).
// Components below 1e-9 of the largest eigenvalue are numerically null and left out.
void fit_pca(const Eigen::MatrixXf& fit, Stream& s) {
  const Eigen::Index n = fit.rows(), p = fit.cols();
  s.mean = fit.colwise().mean().transpose();
  const Eigen::MatrixXd Xc = (fit.rowwise() - s.mean.transpose()).cast<double>();
  const bool gram = p > n;
  // The smaller Gram matrix, lower triangle by a rank update (half a GEMM's FLOPs).
  const Eigen::Index m = gram ? n : p;
  Eigen::MatrixXd G = Eigen::MatrixXd::Zero(m, m);
  if (gram)  // Xc Xc^T, over blocks of Xc's p columns
    G = blocked_gram(n, p, [&](Eigen::Index at, Eigen::Index len) { return Xc.middleCols(at, len); });
  else G.selfadjointView<Eigen::Lower>().rankUpdate(Xc.transpose());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(G);
  if (eig.info() != Eigen::Success) throw std::runtime_error("kvtc calibration: eigendecomposition failed");
  const Eigen::VectorXd& lambda = eig.eigenvalues();  // ascending
  const double top = lambda.size() ? std::max(lambda.maxCoeff(), 0.0) : 0.0;
  std::vector<Eigen::Index> keep;  // descending
  for (Eigen::Index i = lambda.size() - 1; i >= 0; --i)
    if (lambda[i] > 1e-9 * top && lambda[i] > 0) keep.push_back(i);
  const auto r = static_cast<Eigen::Index>(keep.size());
  Eigen::MatrixXd V(p, r);
  Eigen::MatrixXd W(m, r);  // the kept eigenvectors (Gram route: scaled by lambda^-1/2)
  s.variance.resize(r);
  for (Eigen::Index k = 0; k < r; ++k) {
    const Eigen::Index i = keep[k];
    s.variance[k] = lambda[i] / std::max<Eigen::Index>(n, 1);
    W.col(k) = gram ? Eigen::VectorXd(eig.eigenvectors().col(i) / std::sqrt(lambda[i])) : Eigen::VectorXd(eig.eigenvectors().col(i));
  }
  if (gram) {  // V = Xc^T W, block of rows by block
    const auto blocks = row_blocks(p);
    parallel_for(blocks.size(), [&](std::size_t b) {
      V.middleRows(blocks[b].first, blocks[b].second).noalias() =
          Xc.middleCols(blocks[b].first, blocks[b].second).transpose() * W;
    });
  } else {
    V = W;
  }
  if (gram && r > 0) orthonormalize(V);
  // Rounded to fp16: the artifact is stored (and counted, artifact_bytes) and used on the GPU in fp16, so the
  // CPU path codes with exactly the values the artifact holds.
  s.basis = V.cast<Eigen::half>().cast<float>();
  s.mean = s.mean.cast<Eigen::half>().cast<float>();
}

}  // namespace

namespace {
void check_settings(const CalibrationSettings& set) {
  if (!(set.ratio >= 1)) throw std::invalid_argument(fmt::format("kvtc: ratio {} must be >= 1", set.ratio));
  if (set.allocation != "dp" && set.allocation != "greedy_seed")
    throw std::invalid_argument(fmt::format("kvtc allocation '{}': dp or greedy_seed", set.allocation));
}
}  // namespace

Fitted fit_streams(const KvTensor& calib, bool with_rope, const RopeSpec& rope, Mode mode) {
  if (calib.tokens < 2) throw std::invalid_argument("kvtc calibration: needs 2 calibration tokens or more");
  Fitted f;
  if (mode == Mode::paper) {
    f.streams.emplace_back();
  } else {
    for (int l = 0; l < calib.layers; ++l)
      for (int h = 0; h < calib.heads; ++h) {
        f.streams.emplace_back();
        f.streams.back().layer = l, f.streams.back().head = h;
      }
  }
  f.held.resize(f.streams.size());
  const int p = mode == Mode::paper ? calib.layers * calib.heads * calib.head_dim : calib.head_dim;
  const int n = calib.tokens, n_fit = std::max(1, n * 3 / 4);
  // Per-head mode: streams in parallel (each fit small). Paper mode's two streams one after the other, each
  // fit parallel inside (blocked_gram, the row-block loops): two threads on two 131072-wide fits left the
  // other cores idle for a minute.
  const auto each_stream = [&](auto&& fit_one) {
    if (mode == Mode::paper)
      for (std::size_t i = 0; i < f.streams.size(); ++i) fit_one(i);
    else
      parallel_for(f.streams.size(), fit_one);
  };
  each_stream([&](std::size_t i) {
    Stream& s = f.streams[i];
    Eigen::MatrixXf X(n, p);
    Eigen::VectorXf row(p);
    for (int t = 0; t < n; ++t) {
      gather(calib, t, s, with_rope, rope, row.data());
      X.row(t) = row.transpose();
    }
    fit_pca(X.topRows(n_fit), s);
    const Eigen::MatrixXf held = n > n_fit ? Eigen::MatrixXf(X.bottomRows(n - n_fit)) : Eigen::MatrixXf(X);
    f.held[i] = (held.rowwise() - s.mean.transpose()) * s.basis;
  });
  return f;
}

std::vector<Stream> plan_streams(const Fitted& f, const CalibrationSettings& set) {
  check_settings(set);
  std::vector<Stream> streams = f.streams;
  parallel_for(streams.size(), [&](std::size_t i) {
    Stream& s = streams[i];
    const double budget = 16.0 * s.p() / set.ratio;
    s.plan = set.allocation == "dp" ? plan_dp(f.held[i], budget) : plan_greedy_seed(s.variance, budget);
  });
  return streams;
}

std::vector<Stream> calibrate(const KvTensor& calib, bool with_rope, const RopeSpec& rope,
                              const CalibrationSettings& set) {
  check_settings(set);  // before the costly fit
  return plan_streams(fit_streams(calib, with_rope, rope, set.mode), set);
}

std::uint64_t artifact_bytes(const std::vector<Stream>& streams) {
  std::uint64_t b = 0;
  for (const auto& s : streams)
    b += 2ull * s.p() + 2ull * s.p() * s.r() + 8ull * s.plan.groups.size();  // fp16 mean, basis; 8-byte groups
  return b;
}

std::uint64_t artifact_hash(const std::vector<Stream>& streams) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001b3ull;
  };
  mix(streams.size());
  for (const auto& s : streams) {
    mix(static_cast<std::uint64_t>(s.layer + 1)), mix(static_cast<std::uint64_t>(s.head + 1));
    mix(static_cast<std::uint64_t>(s.p())), mix(static_cast<std::uint64_t>(s.r()));
    for (const auto& g : s.plan.groups)
      mix(static_cast<std::uint64_t>(g.begin) | static_cast<std::uint64_t>(g.size) << 32),
          mix(static_cast<std::uint64_t>(g.type));
  }
  return h;
}

}  // namespace lrb::kvtc
