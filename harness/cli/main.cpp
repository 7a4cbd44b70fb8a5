// lrbench: run, validate, list, report, merge, compare, plot. Exit codes (scripts rely on them; merge's own in
// harness/cli/merge_command.hpp; compare: 0 no regression, 1 a pair slower beyond the threshold, 2 usage):
//   0  success (a run whose records are all ok or skipped)
//   1  a run stopped by an error outside any method (unwritable output, results of another config, ...)
//   2  bad usage or an invalid config (nothing is written)
//   3  the run completed but some records failed
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/claims.hpp"
#include "analysis/compare.hpp"
#include "analysis/gbench.hpp"
#include "analysis/report.hpp"
#include "harness/cli/devices_run.hpp"
#include "harness/cli/list_command.hpp"
#include "harness/cli/merge_command.hpp"
#include "harness/cli/plot_command.hpp"
#include "harness/cli/model_command.hpp"
#include "harness/config.hpp"
#include "harness/records.hpp"
#include "harness/runner.hpp"

namespace {

constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitFailedRecords = 3;

bool has_claims(const lrb::Config& cfg) {
  for (const auto& b : cfg.blocks)
    if (!b.claims.empty()) return true;
  return false;
}

// Claimed vs measured: printed, and appended to the run's markdown table.
void print_claims(const lrb::Config& cfg, const std::vector<lrb::Json>& records, const std::filesystem::path& md) {
  const std::string text = lrb::claims_markdown(lrb::evaluate_claims(cfg, records));
  std::cout << "\n" << text;
  std::ofstream out(md, std::ios::app);
  out << "\n" << text;
}

std::optional<lrb::Config> load_or_report(const std::string& path) {
  const auto load = lrb::load_config(path);
  for (const auto& e : load.errors) std::cerr << fmt::format("{}: {}\n", path, e.text());
  return load.config;
}

// "I/N" exactly: two decimal integers, 0 <= I < N <= 100000, nothing else.
int parse_shard(const std::string& text, int& index, int& count) {
  if (text.empty()) return 0;
  std::smatch m;
  static const std::regex shard_re("([0-9]{1,6})/([0-9]{1,6})");
  if (std::regex_match(text, m, shard_re)) {
    index = std::stoi(m[1]);
    count = std::stoi(m[2]);
    if (count >= 1 && count <= 100000 && index < count) return 0;
  }
  std::cerr << fmt::format("--shard '{}': expected I/N with 0 <= I < N <= 100000\n", text);
  return -1;
}

// An invalid --filter is a usage error (exit 2), found before the run starts.
int check_filter(const std::string& text) {
  try {
    std::regex check(text);
  } catch (const std::regex_error& e) {
    std::cerr << fmt::format("--filter '{}' is not a valid regex: {}\n", text, e.what());
    return -1;
  }
  return 0;
}

struct RunArgs {
  std::string config_path, backend_text, out_dir, filter, shard, devices;
  bool resume = false, quiet = false;
};
struct ReportArgs {
  std::string in, csv, md, config, gbench;
};

int run_command(const RunArgs& a) {
  const auto cfg = load_or_report(a.config_path);
  if (!cfg) return kExitUsage;
  lrb::RunOptions options;
  if (!a.backend_text.empty()) options.backend = lrb::parse_backend_choice(a.backend_text);
  options.out_dir = a.out_dir.empty() ? std::filesystem::path("out") / cfg->name : std::filesystem::path(a.out_dir);
  options.filter = a.filter;
  options.resume = a.resume;
  options.progress = !a.quiet;
  if (parse_shard(a.shard, options.shard_index, options.shard_count) != 0) return kExitUsage;
  if (check_filter(a.filter) != 0) return kExitUsage;
  std::vector<std::string> devices;
  if (!a.devices.empty()) {
    std::string why;
    const auto parsed = lrb::parse_devices(a.devices, &why);
    if (!parsed) {
      std::cerr << fmt::format("--devices '{}': {}\n", a.devices, why);
      return kExitUsage;
    }
    if (!a.shard.empty()) {
      std::cerr << "--devices shards the run itself (one shard per device): it cannot be combined with --shard\n";
      return kExitUsage;
    }
    devices = *parsed;
    // One device: no workers, this process sees only that GPU (CUDA is not initialized yet).
    if (devices.size() == 1) ::setenv("CUDA_VISIBLE_DEVICES", devices[0].c_str(), 1);
  }
  std::filesystem::path jsonl, csv, md;
  int rc = kExitOk;
  if (devices.size() > 1) {
    const lrb::DevicesRunArgs da{a.config_path, options.out_dir, a.backend_text, a.filter, a.resume, a.quiet, devices};
    const auto summary = lrb::run_on_devices(*cfg, da, std::cerr);
    jsonl = summary.jsonl, csv = summary.csv, md = summary.md;
    rc = summary.exit_code;
  } else {
    const auto summary = lrb::run_config(*cfg, options, std::cerr);
    jsonl = summary.jsonl, csv = summary.csv, md = summary.md;
    rc = summary.failed > 0 ? kExitFailedRecords : kExitOk;
  }
  lrb::write_run_reports(jsonl, csv, md);
  if (std::filesystem::exists(jsonl) && has_claims(*cfg)) print_claims(*cfg, lrb::read_jsonl(jsonl), md);
  if (std::filesystem::exists(jsonl))
    std::cerr << fmt::format("lrbench: records {}\n         table   {}\n         csv     {}\n", jsonl.string(),
                             md.string(), csv.string());
  return rc;
}

int validate_command(const std::string& path) {
  const auto cfg = load_or_report(path);
  if (!cfg) return kExitUsage;
  std::vector<std::string> tasks;
  for (const auto& b : cfg->blocks) tasks.push_back(b.name.empty() ? b.task : b.name + ":" + b.task);
  std::cout << fmt::format("{}: valid ({}; config hash {})\n", path, fmt::join(tasks, ", "), cfg->hash);
  return kExitOk;
}

int report_command(const ReportArgs& a) {
  const std::filesystem::path in(a.in);
  const auto csv = a.csv.empty() ? std::filesystem::path(in).replace_extension(".csv") : std::filesystem::path(a.csv);
  const auto md = a.md.empty() ? std::filesystem::path(in).replace_extension(".md") : std::filesystem::path(a.md);
  // The config first: a bad --config writes nothing.
  std::optional<lrb::Config> cfg;
  if (!a.config.empty()) {
    cfg = load_or_report(a.config);
    if (!cfg) return kExitUsage;
  }
  std::vector<std::string> warnings;
  const auto records = lrb::read_jsonl(in, &warnings);
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  if (cfg)
    for (const auto& r : records)
      if (lrb::record_string(r, "config_hash") != cfg->hash) {
        std::cerr << fmt::format("warning: {} holds records of config hash {}, --config {} has hash {}: its claims are "
                                 "judged against records another config produced\n",
                                 in.string(), lrb::record_string(r, "config_hash", "?"), a.config, cfg->hash);
        break;
      }
  lrb::write_reports(records, in.filename().string(), csv, md);
  if (!a.gbench.empty()) {
    std::ofstream g(a.gbench, std::ios::trunc);
    g << lrb::gbench_from_records(records).dump(2) << "\n";
    if (!g) {
      std::cerr << fmt::format("cannot write {}\n", a.gbench);
      return kExitError;
    }
  }
  std::cout << lrb::markdown_from_records(records);
  if (cfg) print_claims(*cfg, records, md);
  std::cerr << fmt::format("lrbench: {} records -> {} and {}\n", records.size(), csv.string(), md.string());
  return kExitOk;
}

struct CompareArgs {
  std::string a, b;
  lrb::CompareOptions options;
};

int compare_command(const CompareArgs& c) {
  std::vector<std::string> warnings;
  const auto a = lrb::read_jsonl(c.a, &warnings);
  const auto b = lrb::read_jsonl(c.b, &warnings);
  for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
  const auto r = lrb::compare_runs(a, b, c.options);
  std::cout << lrb::compare_markdown(r, c.options);
  for (const auto& k : r.not_ok) std::cerr << "not compared (status): " << k << "\n";
  if (r.rows.empty()) std::cerr << fmt::format("no (point, method) pair is ok in both {} and {}\n", c.a, c.b);
  return r.slower > 0 ? kExitError : kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lrbench: measures low-rank inference methods for LLMs (LoRA serving, KV-cache compression, "
               "SVD-compressed layers) on the same workloads, and records latency, HBM traffic and fidelity as JSONL."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lrbench 0.1.0");

  RunArgs ra;
  auto* run = app.add_subcommand("run", "run a config: points x methods, one JSONL record per pair");
  run->add_option("CONFIG", ra.config_path, "JSON config (see configs/)")->required();
  run->add_option("--backend", ra.backend_text, "override the config's backend: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  run->add_option("--out", ra.out_dir, "output folder (default: out/<config name>)");
  run->add_option("--filter", ra.filter, "regex on '[<block>/]<method label>/<point id>' (the block's name first where it has one); only matching pairs run");
  run->add_flag("--resume", ra.resume, "continue a run: skip (point, method) pairs already in the JSONL");
  run->add_option("--shard", ra.shard, "run shard I of N (points with index % N == I), e.g. 0/4");
  run->add_option("--devices", ra.devices,
                  "GPUs of this host, e.g. 0,1,2,3: one worker process per GPU (CUDA_VISIBLE_DEVICES) on shard I of N, "
                  "then one merged <config>.jsonl; workers' logs beside their shards");
  run->add_flag("-q,--quiet", ra.quiet, "no progress lines");

  auto* validate = app.add_subcommand("validate", "check a config without running anything");
  std::string validate_path;
  validate->add_option("CONFIG", validate_path, "JSON config")->required();

  auto* list = app.add_subcommand("list", "show registered task families, methods, workload generators, models");
  std::string what = "all";
  list->add_option("WHAT", what, "tasks | methods | workloads | models | all")
      ->check(CLI::IsMember({"tasks", "methods", "workloads", "models", "all"}));

  ReportArgs rp;
  auto* report = app.add_subcommand("report", "turn a results JSONL into CSV and a markdown table");
  report->add_option("RESULTS", rp.in, "results .jsonl")->required()->check(CLI::ExistingFile);
  report->add_option("--csv", rp.csv, "CSV output (default: RESULTS with .csv)");
  report->add_option("--md", rp.md, "markdown output (default: RESULTS with .md)");
  report->add_option("--gbench", rp.gbench,
                     "also write the records in Google Benchmark's JSON schema (what --benchmark_out writes)");
  report->add_option("--config", rp.config,
                     "the config that produced RESULTS: adds its claims, claimed vs measured with a verdict each")
      ->check(CLI::ExistingFile);

  lrb::MergeArgs mg;
  auto* merge = app.add_subcommand(
      "merge", "merge the record files of one config's shards into one, listing duplicates, conflicts and every "
               "(point, method) missing; exit 1 when incomplete");
  merge->add_option("SHARDS", mg.inputs, "record files (.jsonl) of one config")->required()->check(CLI::ExistingFile);
  merge->add_option("--out", mg.out, "the merged .jsonl (written whole through a temporary file)")->required();
  merge->add_option("--config", mg.config, "the config the shards ran: what a complete set holds")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_option("--filter", mg.filter, "the runs' --filter, if they had one: only matching pairs are expected");
  merge->add_flag("--force", mg.force, "replace an existing --out");

  CompareArgs cp;
  auto* compare = app.add_subcommand(
      "compare", "compare two runs pair by pair: median time change, a Mann-Whitney U test on the samples, the "
                 "relative error; exit 1 when a pair is slower beyond the threshold");
  compare->add_option("A", cp.a, "baseline results .jsonl")->required()->check(CLI::ExistingFile);
  compare->add_option("B", cp.b, "new results .jsonl")->required()->check(CLI::ExistingFile);
  compare->add_option("--threshold", cp.options.threshold, "relative change in median time that counts")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  compare->add_option("--alpha", cp.options.alpha, "significance level of the U test")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));

  lrb::PlotArgs pl;
  auto* plot = app.add_subcommand("plot", "plots from results (analysis/plot.py, matplotlib): rooflines, latency "
                                          "against batch, compression against error, time and memory against T, "
                                          "floor fractions; PNG and PDF");
  plot->add_option("RESULTS", pl.inputs, "results .jsonl files")->required()->check(CLI::ExistingFile);
  plot->add_option("--out", pl.out, "folder for the plots")->required();
  plot->add_option("--point", pl.point, "regex on the point id: the point of the floor-fraction bars");

  lrb::ModelArgs ma;
  auto* model = app.add_subcommand("model", "run the real model (SmolLM2-135M) on real text: CPU vs CUDA, perplexity");
  model->add_option("MODEL", ma.model, "model id (smollm2-135m) or a .gguf path")->capture_default_str();
  model->add_option("--text", ma.text, "UTF-8 text file")->capture_default_str();
  model->add_option("--tokens", ma.tokens, "tokens from the text's start")->capture_default_str()->check(
      CLI::Range(2, 1 << 16));
  model->add_option("--backend", ma.backend, "cpu, cuda, or auto (both where a GPU is present)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  model->add_option("--out", ma.out, "write the JSON record here too");
  model->add_option("--svd-linears", ma.svd_linears,
                    "also run with these linears (of q,k,v,o,gate,up,down; every layer) replaced by truncated SVDs")
      ->delimiter(',')
      ->check(CLI::IsMember({"q", "k", "v", "o", "gate", "up", "down"}));
  model->add_option("--svd-param-ratio", ma.svd_param_ratio,
                    "each replaced linear keeps this share of its parameters: r (d_out + d_in) = ratio d_out d_in "
                    "(a comma-separated list: one compressed model each)")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0));
  model->add_option("--svd-energy", ma.svd_energy, "or: the smallest rank keeping this share of sum s^2 (a list too)")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0));
  model->add_option("--svd", ma.svd, "plain and/or whitened (activation-aware, SVD-LLM), comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"plain", "whitened"}));
  model->add_option("--calibration-tokens", ma.calibration_tokens,
                    "whitened: calibration tokens, from the text after the evaluated ones")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (*validate) return validate_command(validate_path);
    if (*list) {
      lrb::print_registry(std::cout, what);
      return kExitOk;
    }
    if (*report) return report_command(rp);
    if (*merge) return lrb::merge_command(mg);
    if (*compare) return compare_command(cp);
    if (*plot) return lrb::plot_command(pl);
    if (*model) return lrb::model_command(ma);
    return run_command(ra);
  } catch (const std::exception& e) {
    std::cerr << "lrbench: error: " << e.what() << "\n";
    return kExitError;
  }
}
