#include "workloads/model/llama.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/model/gguf.hpp"

#ifndef LRBENCH_SOURCE_DIR
#define LRBENCH_SOURCE_DIR "."
#endif

namespace lrb::model {

namespace {
MatrixF matrix_of(const GgufFile& g, const std::string& name, int rows, int cols) {
  const GgufTensor& t = g.tensor(name);
  if (t.dims.size() != 2 || t.dims[0] != static_cast<std::uint64_t>(cols) || t.dims[1] != static_cast<std::uint64_t>(rows))
    throw std::runtime_error(fmt::format("'{}': tensor '{}' is not {} x {} (ggml dims [{}, {}])", g.name(), name, rows,
                                         cols, cols, rows));
  const std::vector<float> v = g.dequantize(name);
  return Eigen::Map<const MatrixF>(v.data(), rows, cols);
}
std::vector<float> vector_of(const GgufFile& g, const std::string& name, int n) {
  const GgufTensor& t = g.tensor(name);
  if (t.elements != static_cast<std::uint64_t>(n))
    throw std::runtime_error(fmt::format("'{}': tensor '{}' has {} elements, not {}", g.name(), name, t.elements, n));
  return g.dequantize(name);
}
int positive(const GgufFile& g, const std::string& key, int max) {
  const std::int64_t v = g.integer_of(key);
  if (v <= 0 || v > max) throw std::runtime_error(fmt::format("'{}': {} = {} (1 to {} allowed)", g.name(), key, v, max));
  return static_cast<int>(v);
}
}  // namespace

MatrixF& LlamaWeights::linear(int layer, const std::string& p) {
  return const_cast<MatrixF&>(static_cast<const LlamaWeights&>(*this).linear(layer, p));
}

const MatrixF& LlamaWeights::linear(int layer, const std::string& p) const {
  if (layer < 0 || layer >= config.layers)
    throw std::runtime_error(fmt::format("layer {} outside the model's {} layers", layer, config.layers));
  const LlamaLayer& l = layers[static_cast<std::size_t>(layer)];
  if (p == "q") return l.wq;
  if (p == "k") return l.wk;
  if (p == "v") return l.wv;
  if (p == "o") return l.wo;
  if (p == "gate") return l.w_gate;
  if (p == "up") return l.w_up;
  if (p == "down") return l.w_down;
  throw std::runtime_error(fmt::format("'{}' is not a linear of the model (q, k, v, o, gate, up, down)", p));
}

LlamaWeights load_llama_gguf(const GgufFile& g, const std::string& name) {
  const std::string arch = g.string_of("general.architecture");
  if (arch != "llama")
    throw std::runtime_error(fmt::format("'{}': architecture '{}' (lrbench runs llama models)", g.name(), arch));
  LlamaWeights w;
  LlamaConfig& c = w.config;
  c.name = name;
  c.source = g.name();
  c.dim = positive(g, "llama.embedding_length", 1 << 16);
  c.hidden = positive(g, "llama.feed_forward_length", 1 << 18);
  c.layers = positive(g, "llama.block_count", 1024);
  c.heads = positive(g, "llama.attention.head_count", 1024);
  c.kv_heads = g.metadata().contains("llama.attention.head_count_kv")
                   ? positive(g, "llama.attention.head_count_kv", 1024)
                   : c.heads;
  c.context = positive(g, "llama.context_length", 1 << 24);
  if (c.dim % c.heads != 0 || c.heads % c.kv_heads != 0)
    throw std::runtime_error(fmt::format("'{}': {} heads do not divide dim {} or are not a multiple of {} KV heads",
                                         g.name(), c.heads, c.dim, c.kv_heads));
  c.head_dim = c.dim / c.heads;
  c.rotary_dims = g.metadata().contains("llama.rope.dimension_count")
                      ? positive(g, "llama.rope.dimension_count", c.head_dim)
                      : c.head_dim;
  if (c.rotary_dims % 2 != 0)
    throw std::runtime_error(fmt::format("'{}': RoPE over {} dimensions (pairs needed)", g.name(), c.rotary_dims));
  if (g.metadata().contains("llama.rope.freq_base")) c.rope_theta = g.number_of("llama.rope.freq_base");
  c.rms_eps = g.number_of("llama.attention.layer_norm_rms_epsilon");
  c.rope_style = RopeStyle::interleaved;
  const GgufTensor& emb = g.tensor("token_embd.weight");
  if (emb.dims.size() != 2 || emb.dims[0] != static_cast<std::uint64_t>(c.dim) || emb.dims[1] > (1u << 24))
    throw std::runtime_error(fmt::format("'{}': token_embd.weight is not [dim {} x vocab]", g.name(), c.dim));
  c.vocab = static_cast<int>(emb.dims[1]);
  c.tied_head = !g.has("output.weight");
  w.token_embedding = matrix_of(g, "token_embd.weight", c.vocab, c.dim);
  if (!c.tied_head) w.output = matrix_of(g, "output.weight", c.vocab, c.dim);
  w.output_norm = vector_of(g, "output_norm.weight", c.dim);
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    LlamaLayer L;
    L.attn_norm = vector_of(g, p + "attn_norm.weight", c.dim);
    L.ffn_norm = vector_of(g, p + "ffn_norm.weight", c.dim);
    L.wq = matrix_of(g, p + "attn_q.weight", c.dim, c.dim);
    L.wk = matrix_of(g, p + "attn_k.weight", c.kv_dim(), c.dim);
    L.wv = matrix_of(g, p + "attn_v.weight", c.kv_dim(), c.dim);
    L.wo = matrix_of(g, p + "attn_output.weight", c.dim, c.dim);
    L.w_gate = matrix_of(g, p + "ffn_gate.weight", c.hidden, c.dim);
    L.w_up = matrix_of(g, p + "ffn_up.weight", c.hidden, c.dim);
    L.w_down = matrix_of(g, p + "ffn_down.weight", c.dim, c.hidden);
    w.layers.push_back(std::move(L));
  }
  return w;
}

LlamaWeights load_llama2c(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("'{}': cannot open: {}", file.string(), std::strerror(errno)));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LlamaWeights w = load_llama2c(file.string(), bytes);
  w.config.name = file.stem().string();
  return w;
}

LlamaWeights load_llama2c(const std::string& name, const std::vector<char>& bytes) {
  auto fail = [&](const std::string& what) { throw std::runtime_error(fmt::format("'{}': {}", name, what)); };
  if (bytes.size() < 28) fail("shorter than a llama2.c header (28 bytes)");
  std::int32_t h[7];
  std::memcpy(h, bytes.data(), 28);
  for (int i = 0; i < 7; ++i)
    // Every size bounded so that the byte count below cannot overflow (Llama-2-7B's largest is 32000).
    if ((i == 5 ? std::abs(static_cast<long long>(h[i])) : h[i]) <= 0 || std::abs(static_cast<long long>(h[i])) > (1 << 16))
      fail(fmt::format("header field {} = {} (1 to 2^16 allowed)", i, h[i]));
  LlamaWeights w;
  LlamaConfig& c = w.config;
  c.name = name;
  c.source = name;
  c.dim = h[0], c.hidden = h[1], c.layers = h[2], c.heads = h[3], c.kv_heads = h[4];
  c.vocab = std::abs(h[5]), c.context = h[6];
  c.tied_head = h[5] > 0;
  if (c.dim % c.heads != 0 || c.heads % c.kv_heads != 0 || (c.dim / c.heads) % 2 != 0)
    fail(fmt::format("{} heads / {} KV heads do not fit dim {}", c.heads, c.kv_heads, c.dim));
  c.head_dim = c.dim / c.heads;
  c.rotary_dims = c.head_dim;
  c.rope_theta = 10000.0;
  c.rms_eps = 1e-5;
  c.rope_style = RopeStyle::interleaved;
  // Every size in floats, summed in 64 bits before anything is read.
  const std::uint64_t D = c.dim, H = c.hidden, L = c.layers, V = c.vocab, KV = c.kv_dim(), T = c.context,
                      hd = c.head_dim;
  const std::uint64_t floats = V * D + L * (D + D * D + 2 * D * KV + D * D + D + 3 * D * H) + D + T * hd +
                               (c.tied_head ? 0 : V * D);
  if (28 + 4 * floats != bytes.size())
    fail(fmt::format("{} bytes, but its header needs {} (28 + 4 x {} floats)", bytes.size(), 28 + 4 * floats, floats));
  const float* p = reinterpret_cast<const float*>(bytes.data() + 28);
  auto take = [&](std::uint64_t rows, std::uint64_t cols) {
    MatrixF m = Eigen::Map<const MatrixF>(p, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    p += rows * cols;
    return m;
  };
  auto take_vec = [&](std::uint64_t n) {
    std::vector<float> v(p, p + n);
    p += n;
    return v;
  };
  w.token_embedding = take(V, D);
  w.layers.resize(c.layers);
  // llama2.c stores each kind for all layers together.
  for (auto& l : w.layers) l.attn_norm = take_vec(D);
  for (auto& l : w.layers) l.wq = take(D, D);
  for (auto& l : w.layers) l.wk = take(KV, D);
  for (auto& l : w.layers) l.wv = take(KV, D);
  for (auto& l : w.layers) l.wo = take(D, D);
  for (auto& l : w.layers) l.ffn_norm = take_vec(D);
  for (auto& l : w.layers) l.w_gate = take(H, D);  // w1
  for (auto& l : w.layers) l.w_down = take(D, H);  // w2
  for (auto& l : w.layers) l.w_up = take(H, D);    // w3
  w.output_norm = take_vec(D);
  p += T * hd;  // the unused RoPE tables (freq_cis_real, freq_cis_imag: T x head_dim/2 each)
  if (!c.tied_head) w.output = take(V, D);
  return w;
}

std::optional<std::filesystem::path> find_model_file(const std::string& id) {
  std::string rel;
  if (id == "smollm2-135m") rel = "SmolLM2-135M-Instruct.Q4_1.gguf";
  else if (id == "stories260k") rel = "stories260k/stories260K.bin";
  else return std::nullopt;
  std::vector<std::filesystem::path> dirs;
  if (const char* d = std::getenv("LRBENCH_MODEL_DIR")) dirs.emplace_back(d);
  dirs.emplace_back(std::filesystem::path(LRBENCH_SOURCE_DIR) / "deps/models");
  dirs.emplace_back(std::filesystem::path(LRBENCH_SOURCE_DIR) / "../shared/data");
  for (const auto& d : dirs) {
    const auto path = d / rel;
    if (std::filesystem::is_regular_file(path)) return path;
    if (std::filesystem::is_regular_file(d / std::filesystem::path(rel).filename()))
      return d / std::filesystem::path(rel).filename();
  }
  return std::nullopt;
}

std::shared_ptr<const LlamaWeights> load_model(const std::string& id_or_path) {
  // Loaded once per process: every real workload of a run shares one copy (540 MB for SmolLM2 in fp32).
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const LlamaWeights>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = loaded[id_or_path];
  if (!slot) slot = load_model_uncached(id_or_path);
  return slot;
}

std::shared_ptr<const LlamaWeights> load_model_uncached(const std::string& id_or_path) {
  std::filesystem::path path = id_or_path;
  std::string name = path.stem().string();
  if (const auto found = find_model_file(id_or_path)) {
    path = *found;
    name = id_or_path;
  } else if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error(fmt::format(
        "model '{}': no such file, and no model id found under $LRBENCH_MODEL_DIR, {}/deps/models or "
        "{}/../shared/data (smollm2-135m is installed by scripts/setup)",
        id_or_path, LRBENCH_SOURCE_DIR, LRBENCH_SOURCE_DIR));
  }
  if (path.extension() == ".gguf") return std::make_shared<const LlamaWeights>(load_llama_gguf(GgufFile(path), name));
  auto w = std::make_shared<LlamaWeights>(load_llama2c(path));
  w->config.name = name;
  return w;
}

double model_host_bytes(const std::string& id) {
  const ModelShape* m = Registry::instance().model(id);
  return m ? 4.0 * m->weight_count() : 0.0;
}

}  // namespace lrb::model
