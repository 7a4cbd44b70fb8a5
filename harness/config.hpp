#pragma once
// Config files (DESIGN.md section 6): parsed and validated in full before anything runs. Every error
// names the JSON pointer of the offending value ("/axes/rank/1: must be an integer >= 1").
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/backend.hpp"
#include "harness/json.hpp"

namespace lrb {

struct MeasureOptions {
  std::string mode = "graph";  // cold | graph | hot (GPU); the CPU backend always times hot
  int warmup = 10;
  int min_samples = 20;
  int max_samples = 10000;
  double max_noise = 0.02;     // stop when stdrel <= max_noise after min_samples
  double timeout_s = 5.0;      // per method and point
  bool hbm = true;
  bool fidelity = true;
  bool keep_samples = false;   // raw samples in the record
  double max_reference_flops = 4e9;  // above: the FP64 check uses a seeded sample
};

struct MethodEntry {
  std::string id;
  Json params = Json::object();  // fixed values given in the config
  Json axes = Json::object();    // param -> list of values (method params as axes)
  std::string path;              // JSON pointer of the entry, for messages
};

// One task family swept over its axes with its methods. A config is one block (task at the top level)
// or several (a "runs" array), e.g. the quickstart covers all three families in one JSONL.
struct RunBlock {
  std::string name;  // the block's name ("" for a single-block config); part of every record's key
  std::string task;
  Json workload = Json::object();
  Json axes = Json::object();
  std::vector<MethodEntry> methods;
  MeasureOptions measure;
  Json claims = Json::array();
  std::string path;  // JSON pointer prefix of the block ("" or "/runs/1")
};

struct Config {
  std::string name;
  std::string description;
  BackendChoice backend = BackendChoice::automatic;
  std::vector<RunBlock> blocks;
  Json raw;          // the document as read
  std::string hash;  // of the canonical (key-sorted) document
  std::string source;
};

struct ConfigError {
  std::string path;  // JSON pointer ("" for the document)
  std::string message;
  std::string text() const { return (path.empty() ? std::string("/") : path) + ": " + message; }
};

struct ConfigLoad {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
};

ConfigLoad parse_config(const std::string& text, const std::string& source);
ConfigLoad load_config(const std::filesystem::path& file);

}  // namespace lrb
