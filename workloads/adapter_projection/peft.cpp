#include "workloads/adapter_projection/peft.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/json.hpp"
#include "harness/strict_json.hpp"
#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

double PeftConfig::scale() const { return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r)) : lora_alpha / r; }

bool PeftConfig::targets(const std::string& full_name) const {
  if (target_regex == "all-linear") return true;
  if (!target_regex.empty()) return std::regex_match(full_name, std::regex(target_regex));
  for (const auto& m : target_modules)
    if (full_name == m || (full_name.size() > m.size() && full_name.compare(full_name.size() - m.size(), m.size(), m) == 0 &&
                           full_name[full_name.size() - m.size() - 1] == '.'))
      return true;
  return false;
}

PeftConfig parse_peft_config(const std::string& text, const std::string& file) {
  auto fail = [&](const std::string& what) { return std::runtime_error(fmt::format("'{}': {}", file, what)); };
  Json j;
  try {
    j = parse_json_strict(text);
  } catch (const JsonTextError& e) {
    throw fail(e.what());
  }
  if (!j.is_object()) throw fail("must be a JSON object (a PEFT adapter config)");
  if (j.contains("peft_type") && j["peft_type"] != "LORA")
    throw fail(fmt::format("peft_type {} is not LORA: only LoRA adapters are supported", j["peft_type"].dump()));
  // Typed by hand: nlohmann's value<bool>() would throw its own type_error on a null or a string.
  if (j.contains("use_dora")) {
    const Json& dora = j["use_dora"];
    if (!dora.is_null() && !dora.is_boolean())
      throw fail(fmt::format("\"use_dora\" must be true or false (got {})", dora.dump()));
    if (dora == true) throw fail("use_dora is true: DoRA adapters are not supported (LoRA only)");
  }
  for (const char* per_module : {"rank_pattern", "alpha_pattern"})
    if (j.contains(per_module) && !(j[per_module].is_null() || (j[per_module].is_object() && j[per_module].empty())))
      throw fail(fmt::format("per-module \"{}\" is not supported (one rank and alpha per adapter)", per_module));
  PeftConfig c;
  const Json r = j.value("r", Json());
  if (!r.is_number_integer() || r.get<double>() < 1 || r.get<double>() > 4096)
    throw fail(fmt::format("\"r\" must be an integer in [1, 4096] (got {})", r.dump()));
  c.r = static_cast<int>(r.get<long long>());
  const Json alpha = j.value("lora_alpha", Json());
  if (!alpha.is_number() || !std::isfinite(alpha.get<double>()))
    throw fail(fmt::format("\"lora_alpha\" must be a finite number (got {})", alpha.dump()));
  c.lora_alpha = alpha.get<double>();
  const Json rs = j.value("use_rslora", Json(false));
  if (!rs.is_boolean()) throw fail("\"use_rslora\" must be true or false");
  c.use_rslora = rs.get<bool>();
  const Json targets = j.value("target_modules", Json());
  if (targets.is_string()) {
    c.target_regex = targets.get<std::string>();
    if (c.target_regex.empty()) throw fail("\"target_modules\" is an empty string");
    // std::regex compiles recursively: a pathological pattern could exhaust the stack. PEFT's are short.
    if (c.target_regex.size() > 512)
      throw fail(fmt::format("\"target_modules\" is a {}-character regex; at most 512 are accepted", c.target_regex.size()));
    try {
      if (c.target_regex != "all-linear") std::regex check(c.target_regex);
    } catch (const std::regex_error& e) {
      throw fail(fmt::format("\"target_modules\" '{}' is not a valid regex: {}", c.target_regex, e.what()));
    }
  } else if (targets.is_array() && !targets.empty()) {
    for (const auto& m : targets) {
      if (!m.is_string() || m.get<std::string>().empty()) throw fail("\"target_modules\" must hold module names");
      c.target_modules.push_back(m.get<std::string>());
    }
  } else {
    throw fail("\"target_modules\" must be a list of module names, a regex string or \"all-linear\"");
  }
  return c;
}

PeftConfig read_peft_config(const std::filesystem::path& dir) {
  const auto file = dir / "adapter_config.json";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}' (PEFT adapter config)", file.string()));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_peft_config(text, file.string());
}

namespace {

bool hidden(const std::filesystem::path& p) { return p.filename().string().rfind('.', 0) == 0; }

void refuse_pickles(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (!hidden(e.path()) && e.path().extension() == ".bin")
      throw std::runtime_error(fmt::format("'{}' is a PyTorch pickle (.bin) checkpoint: lrbench reads safetensors only "
                                           "(convert it, e.g. with safetensors.torch.save_file)",
                                           e.path().string()));
}

}  // namespace

std::vector<PeftAdapter> peft_adapters(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw std::runtime_error(fmt::format("PEFT adapter folder '{}' not found", dir.string()));
  std::vector<std::filesystem::path> entries;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (!hidden(e.path())) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  std::vector<PeftAdapter> out;
  if (!std::filesystem::exists(dir / "adapter_config.json")) {
    // One folder per adapter, each with its own config.
    for (const auto& sub : entries) {
      if (!std::filesystem::is_directory(sub) || !std::filesystem::exists(sub / "adapter_config.json")) continue;
      refuse_pickles(sub);
      const auto weights = sub / "adapter_model.safetensors";
      if (!std::filesystem::exists(weights))
        throw std::runtime_error(fmt::format("'{}' has an adapter_config.json but no adapter_model.safetensors", sub.string()));
      out.push_back({weights, read_peft_config(sub)});
    }
    if (out.empty())
      throw std::runtime_error(fmt::format("'{}' holds neither adapter_config.json nor adapter folders", dir.string()));
    return out;
  }
  // A flat folder: checkpoints of one run sharing its config.
  refuse_pickles(dir);
  const PeftConfig config = read_peft_config(dir);
  for (const auto& f : entries)
    if (f.extension() == ".safetensors") out.push_back({f, config});
  if (out.empty()) throw std::runtime_error(fmt::format("no *.safetensors files in '{}'", dir.string()));
  return out;
}

std::vector<std::filesystem::path> peft_adapter_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& a : peft_adapters(dir)) files.push_back(a.weights);
  return files;
}

std::string peft_module_path(const std::string& architecture, const std::string& projection) {
  static const std::map<std::string, std::map<std::string, std::string>> paths = {
      {"llama",
       {{"q", "self_attn.q_proj"}, {"k", "self_attn.k_proj"}, {"v", "self_attn.v_proj"}, {"o", "self_attn.o_proj"},
        {"gate", "mlp.gate_proj"}, {"up", "mlp.up_proj"}, {"down", "mlp.down_proj"}}},
      {"gpt2", {{"qkv", "attn.c_attn"}, {"o", "attn.c_proj"}, {"up", "mlp.c_fc"}, {"down", "mlp.c_proj"}}}};
  auto a = paths.find(architecture);
  if (a == paths.end()) throw std::invalid_argument("no PEFT module names for architecture " + architecture);
  auto it = a->second.find(projection);
  if (it == a->second.end())
    throw std::invalid_argument(fmt::format("no PEFT module for projection '{}' of a {} model", projection, architecture));
  return it->second;
}

std::string peft_tensor_name(const std::string& architecture, int layer, const std::string& projection, char which) {
  const std::string path = peft_module_path(architecture, projection);
  if (architecture == "gpt2") return fmt::format("base_model.model.transformer.h.{}.{}.lora_{}.weight", layer, path, which);
  return fmt::format("base_model.model.model.layers.{}.{}.lora_{}.weight", layer, path, which);
}

std::string peft_module_of(const std::string& projection) {
  const std::string path = peft_module_path("llama", projection);
  return path.substr(path.find('.') + 1);
}

std::string peft_tensor_name(int layer, const std::string& module, char which) {
  const bool attention = module == "q_proj" || module == "k_proj" || module == "v_proj" || module == "o_proj";
  return fmt::format("base_model.model.model.layers.{}.{}.{}.lora_{}.weight", layer, attention ? "self_attn" : "mlp",
                     module, which);
}

MatrixH to_fp16_checked(const MatrixF& m, const std::string& file, const std::string& tensor) {
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    const float v = m.data()[i];
    if (!std::isfinite(v) || std::abs(v) > 65504.0f)
      throw std::runtime_error(fmt::format("'{}': tensor '{}' element {} is {}, which fp16 cannot hold", file, tensor, i, v));
  }
  return m.cast<Half>();
}

namespace {

// Files are read once per process (sweeps revisit them for every point).
std::shared_ptr<const SafetensorsFile> cached_file(const std::filesystem::path& p) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const SafetensorsFile>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[std::filesystem::absolute(p).string()];
  if (!slot) slot = std::make_shared<const SafetensorsFile>(p);
  return slot;
}

// The `peft` generator: adapter k is the k-th adapter folder or file; its own r, alpha and modules apply.
std::vector<AdapterFactors> load_peft(const AdapterGenRequest& q) {
  const std::filesystem::path dir = q.params.string("peft_dir");
  const auto adapters = peft_adapters(dir);
  if (static_cast<std::size_t>(q.K) > adapters.size())
    throw std::runtime_error(fmt::format("K={} but '{}' holds {} adapters", q.K, dir.string(), adapters.size()));
  const ModelShape* model = Registry::instance().model(q.model);
  const std::string architecture = model ? model->architecture : "llama";
  const std::string module = peft_module_path(architecture, q.projection);
  const std::string full_module = fmt::format("{}.{}.{}", architecture == "gpt2" ? "transformer.h" : "model.layers",
                                              q.layer, module);
  std::vector<AdapterFactors> out;
  for (int k = 0; k < q.K; ++k) {
    const PeftAdapter& adapter = adapters[static_cast<std::size_t>(k)];
    const PeftConfig& config = adapter.config;
    if (q.rank != config.r)
      throw std::runtime_error(fmt::format("rank {} requested but adapter '{}' has r={}", q.rank,
                                           adapter.weights.string(), config.r));
    if (!config.targets(full_module))
      throw std::runtime_error(fmt::format("adapter '{}' does not adapt {} (target_modules: {})",
                                           adapter.weights.string(), full_module,
                                           config.target_regex.empty() ? fmt::format("{}", fmt::join(config.target_modules, ", "))
                                                                       : config.target_regex));
    const auto file = cached_file(adapter.weights);
    const std::string name_a = peft_tensor_name(architecture, q.layer, q.projection, 'A');
    const std::string name_b = peft_tensor_name(architecture, q.layer, q.projection, 'B');
    const MatrixF a = file->matrix(name_a);
    const MatrixF b = file->matrix(name_b);
    if (a.rows() != config.r || a.cols() != q.d_in || b.rows() != q.d_out || b.cols() != config.r)
      throw std::runtime_error(fmt::format("'{}' layer {} {}: A is {}x{} and B {}x{}, the projection needs A {}x{}, B {}x{}",
                                           file->path().string(), q.layer, module, a.rows(), a.cols(), b.rows(),
                                           b.cols(), config.r, q.d_in, q.d_out, config.r));
    AdapterFactors f;
    f.A = to_fp16_checked(a, file->path().string(), name_a);
    f.B = to_fp16_checked(b, file->path().string(), name_b);
    f.scale = static_cast<float>(config.scale());
    out.push_back(std::move(f));
  }
  return out;
}

[[maybe_unused]] const bool registered = [] {
  Registry::instance().add_workload(
      {"adapter_projection", "peft",
       "real adapters from a PEFT folder: one folder per adapter (adapter_config.json + adapter_model.safetensors, "
       "each its own r and alpha) or a flat folder of checkpoints sharing one adapter_config.json; adapter k = the "
       "k-th by name; Llama and GPT-2 module names",
       {{"peft_dir", ParamType::string, "../shared/data/smollm135m-lora-medai",
         "folder of the PEFT adapters (relative to the working directory)", {}, {}, {}}},
       AdapterGenerator(load_peft)});
  return true;
}();

}  // namespace
}  // namespace lrb
