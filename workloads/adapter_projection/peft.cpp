#include "workloads/adapter_projection/peft.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/json.hpp"
#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

double PeftConfig::scale() const { return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r)) : lora_alpha / r; }

PeftConfig read_peft_config(const std::filesystem::path& dir) {
  const auto file = dir / "adapter_config.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}' (PEFT adapter config)", file.string()));
  Json j;
  try {
    j = Json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("'{}' is not valid JSON: {}", file.string(), e.what()));
  }
  PeftConfig c;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int>() < 1)
    throw std::runtime_error(fmt::format("'{}': \"r\" must be a positive integer", file.string()));
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number())
    throw std::runtime_error(fmt::format("'{}': \"lora_alpha\" must be a number", file.string()));
  c.r = j["r"].get<int>();
  c.lora_alpha = j["lora_alpha"].get<double>();
  c.use_rslora = j.value("use_rslora", false);
  for (const char* per_module : {"rank_pattern", "alpha_pattern"})
    if (j.contains(per_module) && j[per_module].is_object() && !j[per_module].empty())
      throw std::runtime_error(fmt::format("'{}': per-module \"{}\" is not supported", file.string(), per_module));
  if (j.contains("target_modules") && j["target_modules"].is_array())
    for (const auto& m : j["target_modules"]) c.target_modules.push_back(m.get<std::string>());
  return c;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& file) : path_(file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", file.string()));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw std::runtime_error(fmt::format("'{}': too short for a safetensors file", file.string()));
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[static_cast<std::size_t>(i)];
  if (header_len > bytes.size() - 8)
    throw std::runtime_error(fmt::format("'{}': header length {} exceeds the file ({} bytes)", file.string(), header_len,
                                         bytes.size()));
  Json header;
  try {
    header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("'{}': header is not valid JSON: {}", file.string(), e.what()));
  }
  data_.assign(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len), bytes.end());
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const Json& t = it.value();
    Tensor tensor;
    tensor.dtype = t.at("dtype").get<std::string>();
    tensor.shape = t.at("shape").get<std::vector<std::int64_t>>();
    tensor.begin = t.at("data_offsets").at(0).get<std::size_t>();
    tensor.end = t.at("data_offsets").at(1).get<std::size_t>();
    if (tensor.end < tensor.begin || tensor.end > data_.size())
      throw std::runtime_error(fmt::format("'{}': tensor '{}' lies outside the file", file.string(), it.key()));
    tensors_[it.key()] = tensor;
  }
}

MatrixF SafetensorsFile::matrix(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error(fmt::format("'{}' has no tensor '{}'", path_.string(), name));
  const Tensor& t = it->second;
  if (t.shape.size() != 2) throw std::runtime_error(fmt::format("'{}': tensor '{}' is not 2-D", path_.string(), name));
  const std::int64_t rows = t.shape[0], cols = t.shape[1];
  const std::size_t n = static_cast<std::size_t>(rows * cols);
  const std::size_t width = t.dtype == "F32" ? 4 : (t.dtype == "F16" || t.dtype == "BF16" ? 2 : 0);
  if (width == 0) throw std::runtime_error(fmt::format("'{}': tensor '{}' has unsupported dtype {}", path_.string(), name, t.dtype));
  if (t.end - t.begin != n * width)
    throw std::runtime_error(fmt::format("'{}': tensor '{}' has {} bytes for shape {}x{}", path_.string(), name,
                                         t.end - t.begin, rows, cols));
  MatrixF m(rows, cols);
  const std::uint8_t* src = data_.data() + t.begin;
  for (std::size_t i = 0; i < n; ++i) {  // safetensors is little-endian, as this machine
    if (t.dtype == "F32") {
      std::memcpy(m.data() + i, src + 4 * i, 4);
    } else if (t.dtype == "F16") {
      std::uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      m.data()[i] = static_cast<float>(Eigen::numext::bit_cast<Half>(h));
    } else {
      std::uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
      std::memcpy(m.data() + i, &bits, 4);
    }
  }
  return m;
}

std::vector<std::filesystem::path> peft_adapter_files(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw std::runtime_error(fmt::format("PEFT adapter folder '{}' not found", dir.string()));
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error(fmt::format("no *.safetensors files in '{}'", dir.string()));
  return files;
}

std::string peft_module_of(const std::string& projection) {
  static const std::map<std::string, std::string> m = {{"q", "q_proj"},   {"k", "k_proj"},   {"v", "v_proj"},
                                                       {"o", "o_proj"},   {"gate", "gate_proj"}, {"up", "up_proj"},
                                                       {"down", "down_proj"}};
  auto it = m.find(projection);
  if (it == m.end()) throw std::invalid_argument("no PEFT module for projection " + projection);
  return it->second;
}

std::string peft_tensor_name(int layer, const std::string& module, char which) {
  const bool attention = module == "q_proj" || module == "k_proj" || module == "v_proj" || module == "o_proj";
  return fmt::format("base_model.model.model.layers.{}.{}.{}.lora_{}.weight", layer, attention ? "self_attn" : "mlp",
                     module, which);
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

// The `peft` generator: adapter k is the k-th file of the folder; its own r, alpha and modules apply.
std::vector<AdapterFactors> load_peft(const AdapterGenRequest& q) {
  const std::filesystem::path dir = q.params.string("peft_dir");
  const PeftConfig config = read_peft_config(dir);
  const auto files = peft_adapter_files(dir);
  if (static_cast<std::size_t>(q.K) > files.size())
    throw std::runtime_error(fmt::format("K={} but '{}' holds {} adapters", q.K, dir.string(), files.size()));
  if (q.rank != config.r)
    throw std::runtime_error(fmt::format("rank {} requested but the adapters in '{}' have r={}", q.rank, dir.string(), config.r));
  const std::string module = peft_module_of(q.projection);
  if (std::find(config.target_modules.begin(), config.target_modules.end(), module) == config.target_modules.end())
    throw std::runtime_error(fmt::format("the adapters in '{}' do not adapt {} (target_modules: {})", dir.string(), module,
                                         fmt::join(config.target_modules, ", ")));
  std::vector<AdapterFactors> out;
  for (int k = 0; k < q.K; ++k) {
    const auto file = cached_file(files[static_cast<std::size_t>(k)]);
    const MatrixF a = file->matrix(peft_tensor_name(q.layer, module, 'A'));
    const MatrixF b = file->matrix(peft_tensor_name(q.layer, module, 'B'));
    if (a.rows() != config.r || a.cols() != q.d_in || b.rows() != q.d_out || b.cols() != config.r)
      throw std::runtime_error(fmt::format("'{}' layer {} {}: A is {}x{} and B {}x{}, the projection needs A {}x{}, B {}x{}",
                                           file->path().string(), q.layer, module, a.rows(), a.cols(), b.rows(),
                                           b.cols(), config.r, q.d_in, q.d_out, config.r));
    AdapterFactors f;
    f.A = a.cast<Half>();
    f.B = b.cast<Half>();
    f.scale = static_cast<float>(config.scale());
    out.push_back(std::move(f));
  }
  return out;
}

[[maybe_unused]] const bool registered = [] {
  Registry::instance().add_workload(
      {"adapter_projection", "peft",
       "real adapters from a PEFT folder (adapter_config.json + *.safetensors, sorted by name: adapter k = file k); "
       "their own r and alpha apply",
       {{"peft_dir", ParamType::string, "../shared/data/smollm135m-lora-medai",
         "folder of the PEFT adapters (relative to the working directory)", {}, {}, {}}},
       AdapterGenerator(load_peft)});
  return true;
}();

}  // namespace
}  // namespace lrb
