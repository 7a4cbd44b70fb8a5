#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/model/forward.hpp"

namespace lrb::model {

void apply_rope(float* x, int pos, const LlamaConfig& c, int sign) {
  const int half = c.rotary_dims / 2;
  for (int i = 0; i < half; ++i) {
    // theta_i = base^(-2i / rotary_dims), the angle formed in double (positions up to 2^24).
    const double angle = pos * std::pow(c.rope_theta, -2.0 * i / c.rotary_dims);
    const float cs = static_cast<float>(std::cos(angle)), sn = static_cast<float>(sign * std::sin(angle));
    const int a = c.rope_style == RopeStyle::interleaved ? 2 * i : i;
    const int b = c.rope_style == RopeStyle::interleaved ? 2 * i + 1 : i + half;
    const float xa = x[a], xb = x[b];
    x[a] = xa * cs - xb * sn;
    x[b] = xa * sn + xb * cs;
  }
}

namespace {
void rms_norm(const MatrixF& x, const std::vector<float>& g, double eps, MatrixF& out) {
  out.resize(x.rows(), x.cols());
  const Eigen::Map<const Eigen::RowVectorXf> gain(g.data(), static_cast<Eigen::Index>(g.size()));
  for (Eigen::Index t = 0; t < x.rows(); ++t) {
    const double ms = x.row(t).cast<double>().squaredNorm() / static_cast<double>(x.cols());
    out.row(t) = x.row(t).cwiseProduct(gain) * static_cast<float>(1.0 / std::sqrt(ms + eps));
  }
}
}  // namespace

KvCache LlamaCpu::new_cache(int capacity) const {
  const LlamaConfig& c = w_->config;
  KvCache kv;
  for (int l = 0; l < c.layers; ++l) {
    kv.k.push_back(MatrixF::Zero(capacity, c.kv_dim()));
    kv.v.push_back(MatrixF::Zero(capacity, c.kv_dim()));
  }
  return kv;
}

MatrixF LlamaCpu::forward(const std::vector<int>& tokens, KvCache& cache, ForwardTrace* trace) const {
  const LlamaWeights& w = *w_;
  const LlamaConfig& c = w.config;
  const int n = static_cast<int>(tokens.size()), p0 = cache.length, hd = c.head_dim, rep = c.heads / c.kv_heads;
  if (p0 + n > cache.capacity())
    throw std::runtime_error(fmt::format("KV cache of {} positions cannot take {} more after {}", cache.capacity(), n, p0));
  MatrixF x(n, c.dim);
  for (int t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab)
      throw std::runtime_error(fmt::format("token {} outside the vocabulary of {}", tokens[t], c.vocab));
    x.row(t) = w.token_embedding.row(tokens[t]);
  }
  MatrixF h, h_attn, q, o(n, c.dim), scores;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int l = 0; l < c.layers; ++l) {
    const LlamaLayer& L = w.layers[l];
    rms_norm(x, L.attn_norm, c.rms_eps, h);
    const bool traced = trace && trace->traces(l);
    if (traced) h_attn = h;
    q = h * L.wq.transpose();
    if (trace && trace->count > 0) trace->queries.push_back(q.middleRows(trace->first, trace->count));
    cache.k[l].middleRows(p0, n) = h * L.wk.transpose();
    cache.v[l].middleRows(p0, n) = h * L.wv.transpose();
    for (int t = 0; t < n; ++t) {
      for (int hh = 0; hh < c.heads; ++hh) apply_rope(q.row(t).data() + hh * hd, p0 + t, c);
      for (int g = 0; g < c.kv_heads; ++g) apply_rope(cache.k[l].row(p0 + t).data() + g * hd, p0 + t, c);
    }
    const int total = p0 + n;
    for (int hh = 0; hh < c.heads; ++hh) {
      const int g = hh / rep;
      scores = (q.middleCols(hh * hd, hd) * cache.k[l].block(0, g * hd, total, hd).transpose()) * scale;
      for (int t = 0; t < n; ++t) {  // causal: position p0 + t sees positions 0 .. p0 + t
        auto row = scores.row(t);
        const int seen = p0 + t + 1;
        const float m = row.head(seen).maxCoeff();
        double sum = 0;
        for (int j = 0; j < seen; ++j) sum += (row[j] = std::exp(row[j] - m));
        row.head(seen) *= static_cast<float>(1.0 / sum);
        row.tail(total - seen).setZero();
      }
      o.middleCols(hh * hd, hd) = scores * cache.v[l].block(0, g * hd, total, hd);
    }
    LinearInputs* in = nullptr;
    if (traced) {
      trace->linear_inputs.resize(c.layers);
      in = &trace->linear_inputs[l];
      in->attn_in = h_attn, in->o_in = o;
    }
    x += o * L.wo.transpose();
    rms_norm(x, L.ffn_norm, c.rms_eps, h);
    MatrixF gate = h * L.w_gate.transpose();
    const MatrixF up = h * L.w_up.transpose();
    gate = gate.array() / (1.0f + (-gate.array()).exp());  // silu
    const MatrixF act = gate.cwiseProduct(up);
    if (in) in->ffn_in = h, in->down_in = act;
    x += act * L.w_down.transpose();
  }
  cache.length = p0 + n;
  rms_norm(x, w.output_norm, c.rms_eps, h);
  return h * w.head().transpose();
}

const MatrixF& ForwardTrace::input_of(int layer, const std::string& p) const {
  if (layer < 0 || layer >= static_cast<int>(linear_inputs.size()) || !traces(layer))
    throw std::logic_error(fmt::format("the forward pass did not trace layer {}'s linear inputs", layer));
  return linear_inputs[layer].of(p);
}

const MatrixF& LinearInputs::of(const std::string& p) const {
  if (p == "q" || p == "k" || p == "v") return attn_in;
  if (p == "o") return o_in;
  if (p == "gate" || p == "up") return ffn_in;
  if (p == "down") return down_in;
  throw std::runtime_error(fmt::format("'{}' is not a linear of the model (q, k, v, o, gate, up, down)", p));
}

// Replaced by the CUDA build's definition (workloads/model/forward_cuda.cpp).
__attribute__((weak)) std::unique_ptr<ModelRunner> make_cuda_runner(std::shared_ptr<const LlamaWeights>, int) {
  return nullptr;
}

NextTokenStats next_token_stats(const MatrixF& logits, const std::vector<int>& next) {
  NextTokenStats s;
  for (Eigen::Index t = 0; t < logits.rows(); ++t) {
    Eigen::Index arg;
    const double m = logits.row(t).maxCoeff(&arg);
    double sum = 0;
    for (Eigen::Index j = 0; j < logits.cols(); ++j) sum += std::exp(static_cast<double>(logits(t, j)) - m);
    const double lse = m + std::log(sum);
    s.top1.push_back(static_cast<int>(arg));
    if (static_cast<std::size_t>(t) < next.size()) s.logprob.push_back(static_cast<double>(logits(t, next[t])) - lse);
  }
  return s;
}

}  // namespace lrb::model
