#include "harness/runner.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <ostream>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "analysis/report.hpp"
#include "harness/build_info.hpp"
#include "harness/ceilings.hpp"
#include "harness/env.hpp"
#include "harness/hash.hpp"
#include "harness/host_memory.hpp"
#include "harness/records.hpp"
#include "harness/registry.hpp"
#include "harness/sweep.hpp"
#include "harness/timing.hpp"
#include "harness/trace.hpp"

namespace lrb {

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_run_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return fmt::format("{}-{}", utc_timestamp(), hex64(fnv1a64(fmt::format("{}:{}", now, ::getpid()))).substr(0, 8));
}

std::unique_ptr<ExecContext> make_context(Backend backend) {
  if (backend == Backend::cpu) return std::make_unique<ExecContext>(Backend::cpu);
  return make_device_context();
}

// null where the value cannot be formed (no samples, no ceilings).
Json number_or_null(bool ok, double value) { return ok ? Json(value) : Json(nullptr); }

Json floor_json(const Floor& f, const Ceilings& c, double median_s) {
  const bool timed = median_s > 0;
  Json j = {{"bytes", f.bytes}, {"flops", f.flops}, {"write_bytes", number_or_null(f.write_bytes > 0, f.write_bytes)},
            {"note", f.note}};
  Json bw = {{"achieved", number_or_null(timed, f.bytes / median_s)},
             {"ceiling", number_or_null(c.available, c.copy_bytes_per_s)},
             {"fraction", number_or_null(timed && c.available, f.bytes / median_s / c.copy_bytes_per_s)},
             {"unit", "bytes/s"}};
  if (c.available) {
    const double t_bytes = f.bytes / c.copy_bytes_per_s, t_flops = f.flops / c.gemm_flops_per_s;
    const double t = std::max(t_bytes, t_flops);
    j["time_ms"] = t * 1e3;
    j["bound"] = t_bytes >= t_flops ? "memory" : "compute";
    j["fraction"] = number_or_null(timed, t / median_s);
  } else {
    j["time_ms"] = nullptr;
    j["bound"] = nullptr;
    j["fraction"] = nullptr;
  }
  return Json{{"floor", j}, {"bandwidth", bw}};
}

// What a record says about HBM before (or without) its counter pass: skipped and failed records keep it.
Json hbm_not_measured(Backend backend) {
  return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr}, {"write_drained_bytes", nullptr},
          {"note", backend == Backend::cpu ? "CPU backend: no HBM counters"
                                           : "not measured: the record ended before its counter pass"}};
}

// Drained HBM writes beyond the compulsory output writes: what a method wrote that was not its output
// (intermediates, workspaces, or write-back of anything it dirtied in L2).
void add_write_excess(Json& hbm, const Floor& floor) {
  // Net of the counter path's own writes where the backend measured them (CUDA: hbm.idle).
  const char* key = hbm.contains("write_drained_net_bytes") ? "write_drained_net_bytes" : "write_drained_bytes";
  if (!hbm.value("available", false) || floor.write_bytes <= 0 || !hbm[key].is_number()) return;
  const double excess = hbm[key].get<double>() - floor.write_bytes;
  hbm["write_excess_bytes"] = excess;
  hbm["write_excess_fraction"] = excess / floor.write_bytes;
}

bool has_nan(const Json& j) {
  if (j.is_number_float()) return std::isnan(j.get<double>());
  if (j.is_structured())
    for (const auto& e : j)
      if (has_nan(e)) return true;
  return false;
}

class ProgressLine {
 public:
  ProgressLine(std::ostream& log, bool enabled, std::size_t total) : log_(log), enabled_(enabled), total_(total) {}
  void done(std::size_t index, const Json& record) {
    if (!enabled_) return;
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start_).count();
    const double eta = index > 0 ? elapsed / static_cast<double>(index) * static_cast<double>(total_ - index) : 0;
    std::string detail;
    const std::string status = record["status"].get<std::string>();
    if (status == "ok") {
      detail = fmt::format("{:.4g} ms ±{:.1f}%", record["time"]["median"].get<double>(),
                           100 * record["time"]["stdrel"].get<double>());
      if (record["fidelity"].contains("rel_error") && record["fidelity"]["rel_error"].is_number())
        detail += fmt::format("  rel_err {:.2e}", record["fidelity"]["rel_error"].get<double>());
    } else {
      const Json& why = record[status == "skipped" ? "reason" : "error"];
      detail = why.is_string() ? why.get<std::string>() : std::string();
    }
    log_ << fmt::format("[{:>{}}/{}] {} {} @ {}: {} {}  ({:.0f}s, ~{:.0f}s left)\n", index, digits(), total_,
                        record["task"].get<std::string>(), record["method_label"].get<std::string>(),
                        record["point_id"].get<std::string>(), status, detail, elapsed, eta)
         << std::flush;
  }

 private:
  int digits() const { return static_cast<int>(fmt::format("{}", total_).size()); }
  std::ostream& log_;
  bool enabled_;
  std::size_t total_;
  clock_type::time_point start_ = clock_type::now();
};

}  // namespace

RunSummary run_config(const Config& config, const RunOptions& options, std::ostream& log) {
  std::string why;
  const auto backend = resolve_backend(options.backend.value_or(config.backend), &why);
  if (!backend) throw std::runtime_error("backend cuda requested: " + why);
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw std::runtime_error("--shard I/N needs 0 <= I < N");
  std::optional<std::regex> filter;
  if (!options.filter.empty()) {
    try {
      filter.emplace(options.filter);
    } catch (const std::regex_error& e) {
      throw std::runtime_error(fmt::format("--filter '{}' is not a valid regex: {}", options.filter, e.what()));
    }
  }

  RunSummary summary;
  const std::string stem = options.shard_count > 1
                               ? fmt::format("{}.shard{}of{}", config.name, options.shard_index, options.shard_count)
                               : config.name;
  summary.jsonl = options.out_dir / (stem + ".jsonl");
  summary.csv = options.out_dir / (stem + ".csv");
  summary.md = options.out_dir / (stem + ".md");

  std::set<std::string> done;
  if (std::filesystem::exists(summary.jsonl)) {
    if (!options.resume)
      throw std::runtime_error(fmt::format("'{}' exists: pass --resume to continue that run, or choose another --out",
                                           summary.jsonl.string()));
    std::vector<std::string> warnings;
    for (const auto& r : read_jsonl(summary.jsonl, &warnings)) {
      if (r.value("config_hash", std::string()) != config.hash)
        throw std::runtime_error(fmt::format("'{}' holds records of another config (hash {} != {}): choose another --out",
                                             summary.jsonl.string(), r.value("config_hash", std::string("?")),
                                             config.hash));
      done.insert(record_key(r));
    }
    for (const auto& w : warnings) log << "warning: " << w << "\n";
  }

  // Every (block, point, method) pair to run, so progress can count them.
  struct BlockPlan {
    const RunBlock* block;
    const TaskFamily* family;
    std::vector<Point> points;
    std::vector<MethodVariant> variants;
  };
  struct Job {
    std::size_t block, point, variant;
  };
  std::vector<BlockPlan> plans;
  std::vector<Job> jobs;
  std::size_t total_pairs = 0;
  for (const auto& block : config.blocks) {
    const TaskFamily* family = Registry::instance().family(block.task);
    if (!family) throw std::runtime_error("unknown task " + block.task);
    plans.push_back({&block, family, expand_points(block, *family), expand_methods(block)});
    const BlockPlan& plan = plans.back();
    const std::size_t b = plans.size() - 1;
    total_pairs += plan.points.size() * plan.variants.size();
    for (std::size_t p = 0; p < plan.points.size(); ++p) {
      if (static_cast<int>(p % static_cast<std::size_t>(options.shard_count)) != options.shard_index) continue;
      for (std::size_t v = 0; v < plan.variants.size(); ++v) {
        const std::string subject = (block.name.empty() ? "" : block.name + "/") + plan.variants[v].label + "/" +
                                    plan.points[p].id;
        if (filter && !std::regex_search(subject, *filter)) {
          ++summary.filtered;
          continue;
        }
        if (done.count(record_key(block.name, plan.points[p].id, plan.variants[v].label))) {
          ++summary.resumed;
          continue;
        }
        jobs.push_back({b, p, v});
      }
    }
  }

  if (options.progress)
    log << fmt::format("lrbench: '{}' on {}: {} blocks, {} (point, method) pairs; {} to run, {} already recorded -> {}\n",
                       config.name, to_string(*backend), plans.size(), total_pairs, jobs.size(), summary.resumed,
                       summary.jsonl.string());

  const std::string run_id = make_run_id();
  const Json env = capture_environment(*backend);
  const std::string dirty = build_info::git_dirty();
  std::optional<Ceilings> ceilings;
  std::unique_ptr<JsonlWriter> writer;
  ProgressLine progress(log, options.progress, jobs.size());

  std::pair<std::size_t, std::size_t> cached{static_cast<std::size_t>(-1), 0};
  std::shared_ptr<const Problem> problem;
  std::string problem_error;

  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const BlockPlan& plan = plans[jobs[j].block];
    const RunBlock& block = *plan.block;
    const TaskFamily* family = plan.family;
    const MeasureOptions& measure = block.measure;
    const Point& point = plan.points[jobs[j].point];
    const MethodVariant& variant = plan.variants[jobs[j].variant];
    const MethodInfo* info = Registry::instance().method(variant.id);

    Json record = {{"schema_version", kSchemaVersion},
                   {"run_id", run_id},
                   {"config_name", config.name},
                   {"config_hash", config.hash},
                   {"block", block.name},
                   {"git_sha", build_info::git_sha()},
                   {"git_dirty", dirty == "true" ? Json(true) : (dirty == "false" ? Json(false) : Json(nullptr))},
                   {"timestamp", utc_timestamp()},
                   {"env", env},
                   {"task", block.task},
                   {"method", variant.id},
                   {"method_label", variant.label},
                   {"backend", to_string(*backend)},
                   {"params", variant.params},
                   {"point_id", point.id},
                   {"point", point.values},
                   {"workload", {{"generator", point.values.value("generator", Json(nullptr))},
                                 {"seed", point.values.value("seed", Json(nullptr))},
                                 {"source", "synthetic"}}},
                   {"status", "ok"},
                   {"reason", nullptr},
                   {"error", nullptr},
                   // Every record carries every measurement field; null where the pass did not run.
                   {"fidelity", nullptr},
                   {"time", nullptr},
                   {"phases", nullptr},
                   {"hbm", hbm_not_measured(*backend)},
                   {"floor", nullptr},
                   {"bandwidth", nullptr},
                   {"ceilings", nullptr},
                   {"memory", nullptr},
                   {"compression", nullptr},
                   {"metrics", nullptr}};

    auto finish = [&](const std::string& status, const std::string& key, const std::string& text) {
      record["status"] = status;
      if (!key.empty()) record[key] = text;
    };

    const Support point_ok = family->check_point(point);
    const bool backend_ok = info->supports(*backend);
    if (!point_ok.ok) {
      finish("skipped", "reason", point_ok.reason);
    } else if (!backend_ok) {
      finish("skipped", "reason", fmt::format("method {} has no {} path", variant.id, to_string(*backend)));
    } else {
      const char* stage = "construct";
      try {
        auto method = info->make(Params(variant.params), *backend);
        const Support can = method->can_run(point, *backend);
        if (!can.ok) {
          finish("skipped", "reason", can.reason);
        } else {
          stage = "problem";
          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          if (cached != std::make_pair(jobs[j].block, jobs[j].point)) {
            cached = {jobs[j].block, jobs[j].point};
            problem.reset();
            problem_error.clear();
            try {
              problem = family->make_problem(point);
            } catch (const std::exception& e) {
              problem_error = e.what();
            }
          }
          if (!problem) throw std::runtime_error(problem_error);
          record["workload"] = family->workload_info(*problem);
          if (!ceilings) ceilings = measure_ceilings(*backend);
          auto ctx = make_context(*backend);

          stage = "prepare";

          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          const auto t0 = clock_type::now();
          method->prepare(*problem, *ctx);
          ctx->synchronize();
          const double prepare_s = std::chrono::duration<double>(clock_type::now() - t0).count();

          stage = "correctness";

          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          CheckOptions check_options;
          check_options.max_reference_flops = measure.max_reference_flops;
          CheckResult check;
          if (measure.fidelity) {
            check = family->check(*problem, *method, *ctx, check_options);
          } else {
            check.fidelity = {{"checked", false}, {"note", "measure.fidelity = false"}};
          }
          record["fidelity"] = check.fidelity;
          if (check.failure) throw std::runtime_error(*check.failure);

          stage = "timing";

          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          const PreparedCopyFactory make_copy = [&]() {
            auto copy = info->make(Params(variant.params), *backend);
            copy->prepare(*problem, *ctx);
            return copy;
          };
          const TimingResult timing = ctx->time_method(*method, measure, make_copy);
          record["time"] = timing_to_json(timing, measure.keep_samples);
          if (!timing.note.empty()) record["time"]["note"] = timing.note;
          Json phases = Json::object();
          for (auto& phase : method->phases()) {
            const TimingResult pt = ctx->time_phase(phase, measure);
            phases[phase.name] = timing_to_json(pt, measure.keep_samples);
          }
          if (!phases.empty()) record["phases"] = phases;

          // Counters: one execution inside the profiler range <family>/<method>/<point> (NVTX on the GPU,
          // so Nsight Compute can isolate the same work).
          stage = "counters";
          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          record["hbm"] = ctx->measure_hbm(*method, fmt::format("{}/{}/{}", block.task, variant.label, point.id),
                                           measure.hbm);

          const Floor floor = method->floor(*problem).value_or(family->floor(*problem, *method));
          const Json fl = floor_json(floor, *ceilings, timing.stats.median);
          record["floor"] = fl["floor"];
          record["bandwidth"] = fl["bandwidth"];
          record["ceilings"] = ceilings_to_json(*ceilings);
          add_write_excess(record["hbm"], floor);

          stage = "memory";

          trace("{} {} @ {}: {}", block.task, variant.label, point.id, stage);
          record["memory"] = ctx->measure_memory(*method);
          record["compression"] = family->compression(*problem, *method);
          Json metrics = method->metrics();
          metrics["prepare_s"] = prepare_s;
          record["metrics"] = metrics;
          if (has_nan(record["time"])) throw std::runtime_error("timing produced NaN");
        }
      } catch (const std::bad_alloc&) {
        finish("failed", "error", fmt::format("{}: out of memory", stage));
      } catch (const std::exception& e) {
        finish("failed", "error", fmt::format("{}: {}", stage, e.what()));
      }
    }

    if (!writer) writer = std::make_unique<JsonlWriter>(summary.jsonl);
    writer->write(record);
    const std::string status = record["status"].get<std::string>();
    if (status == "ok") ++summary.ok;
    else if (status == "skipped") ++summary.skipped;
    else ++summary.failed;
    progress.done(j + 1, record);
  }
  writer.reset();

  if (options.write_reports && std::filesystem::exists(summary.jsonl)) {
    write_csv_report(summary.jsonl, summary.csv);
    write_markdown_report(summary.jsonl, summary.md);
  }
  if (options.progress)
    log << fmt::format("lrbench: {} ok, {} skipped, {} failed ({} resumed, {} filtered out)\n", summary.ok,
                       summary.skipped, summary.failed, summary.resumed, summary.filtered);
  return summary;
}

}  // namespace lrb
