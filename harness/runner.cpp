#include "harness/runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/build_info.hpp"
#include "harness/ceilings.hpp"
#include "harness/env.hpp"
#include "harness/hash.hpp"
#include "harness/passes.hpp"
#include "harness/records.hpp"
#include "harness/registry.hpp"
#include "harness/sweep.hpp"
#include "harness/trace.hpp"

namespace lrb {

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_run_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return fmt::format("{}-{}", utc_timestamp(), hex64(fnv1a64(fmt::format("{}:{}", now, ::getpid()))).substr(0, 8));
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

// Every (block, point, method) pair of the config, and the ones this invocation runs.
struct BlockPlan {
  const RunBlock* block;
  const TaskFamily* family;
  std::vector<Point> points;
  std::vector<MethodVariant> variants;
};
struct Job {
  std::size_t block, point, variant;
};
struct RunPlan {
  std::vector<BlockPlan> blocks;
  std::vector<Job> jobs;
  std::size_t total_pairs = 0;
};

// Record keys already in an existing results file (--resume); refuses files of another config. Called with
// the file's lock held, so no other run appends to it meanwhile.
std::set<std::string> recorded_keys(const Config& config, const RunSummary& summary, std::ostream& log) {
  std::set<std::string> done;
  std::vector<std::string> warnings;
  for (const auto& r : read_jsonl(summary.jsonl, &warnings)) {
    if (record_string(r, "config_hash") != config.hash)
      throw std::runtime_error(fmt::format("'{}' holds records of another config (hash {} != {}): choose another --out",
                                           summary.jsonl.string(), record_string(r, "config_hash", "?"),
                                           config.hash));
    done.insert(record_key(r));
  }
  for (const auto& w : warnings) log << "warning: " << w << "\n";
  return done;
}

RunPlan plan_run(const Config& config, const RunOptions& options, const std::set<std::string>& done,
                 RunSummary& summary) {
  const auto filter = compile_filter(options.filter);
  const auto kept = [&](const std::string& block, const std::string& label, const std::string& point) {
    return !filter || std::regex_search(filter_subject(block, label, point), *filter);
  };
  const auto shards = static_cast<std::size_t>(options.shard_count);
  const auto mine = [&](std::size_t n) { return static_cast<int>(n % shards) == options.shard_index; };
  // Shards split the points, each with all its methods (one process, one device, the same data for every method
  // of a point): the k-th point with a pair the filter keeps, over all blocks, goes to shard k mod N, so a filtered
  // sweep is balanced too. Points the filter empties are counted as filtered by shard (index mod N) alone.
  std::size_t live_points = 0;
  RunPlan plan;
  for (const auto& block : config.blocks) {
    const TaskFamily* family = Registry::instance().family(block.task);
    if (!family) throw std::runtime_error("unknown task " + block.task);
    plan.blocks.push_back({&block, family, expand_points(block, *family), expand_methods(block)});
    const BlockPlan& bp = plan.blocks.back();
    const std::size_t b = plan.blocks.size() - 1;
    plan.total_pairs += bp.points.size() * bp.variants.size();
    std::vector<char> keep(bp.variants.size());  // per method variant of the point: whether the filter keeps it
    for (std::size_t p = 0; p < bp.points.size(); ++p) {
      for (std::size_t v = 0; v < bp.variants.size(); ++v)
        keep[v] = kept(block.name, bp.variants[v].label, bp.points[p].id);
      const bool live = std::find(keep.begin(), keep.end(), 1) != keep.end();
      if (!(live ? mine(live_points++) : mine(p))) continue;
      for (std::size_t v = 0; v < bp.variants.size(); ++v) {
        if (!keep[v]) {
          ++summary.filtered;
          continue;
        }
        if (done.count(record_key(block.name, bp.points[p].id, bp.variants[v].label))) {
          ++summary.resumed;
          continue;
        }
        plan.jobs.push_back({b, p, v});
      }
    }
  }
  return plan;
}

// What every record of this run shares: provenance and environment.
struct RunIdentity {
  std::string run_id;
  Json env;
  Json git_dirty;
  Backend backend;
};

// A record with every field present; measurements null until their pass fills them.
Json record_skeleton(const Config& config, const RunIdentity& id, const RunBlock& block, const Point& point,
                     const MethodVariant& variant) {
  return {{"schema_version", kSchemaVersion},
          {"run_id", id.run_id},
          {"config_name", config.name},
          {"config_hash", config.hash},
          {"block", block.name},
          {"git_sha", build_info::git_sha()},
          {"git_dirty", id.git_dirty},
          {"timestamp", utc_timestamp()},
          {"env", id.env},
          {"task", block.task},
          {"method", variant.id},
          {"method_label", variant.label},
          {"backend", to_string(id.backend)},
          {"params", variant.params},
          {"point_id", point.id},
          {"point", point.values},
          {"workload",
           {{"generator", point.values.value("generator", Json(nullptr))},
            {"seed", point.values.value("seed", Json(nullptr))},
            {"source", "synthetic"}}},
          {"status", "ok"},
          {"reason", nullptr},
          {"error", nullptr},
          {"fidelity", nullptr},
          {"time", nullptr},
          {"phases", nullptr},
          {"hbm", hbm_not_measured(id.backend)},
          {"floor", nullptr},
          {"bandwidth", nullptr},
          {"ceilings", nullptr},
          {"memory", nullptr},
          {"compression", nullptr},
          {"metrics", nullptr}};
}

// The problem of the current point, built once and shared by its methods.
class ProblemCache {
 public:
  const Problem& get(std::size_t block, std::size_t point, const TaskFamily& family, const Point& p) {
    if (key_ != std::make_pair(block, point)) {
      key_ = {block, point};
      problem_.reset();
      error_.clear();
      try {
        problem_ = family.make_problem(p);
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    }
    if (!problem_) throw std::runtime_error(error_);
    return *problem_;
  }

 private:
  std::pair<std::size_t, std::size_t> key_{static_cast<std::size_t>(-1), 0};
  std::shared_ptr<const Problem> problem_;
  std::string error_;
};

void set_status(Json& record, const char* status, const char* key, const std::string& text) {
  record["status"] = status;
  record[key] = text;
}

// phases.<name>.floor: the phase's own floor (bytes, FLOPs, time at the ceilings) and its median's fraction.
void add_phase_floors(Json& record, const Json& post) {
  if (!post.contains("phase_floors") || !record["phases"].is_object()) return;
  for (const auto& [name, f] : post["phase_floors"].items()) {
    if (!record["phases"].contains(name)) continue;
    Json& phase = record["phases"][name];
    Json floor = f;
    const double median_ms = phase.value("median", 0.0);
    floor["fraction"] =
        f["time_ms"].is_number() && median_ms > 0 ? Json(f["time_ms"].get<double>() / median_ms) : Json(nullptr);
    phase["floor"] = floor;
  }
}

// Measures one (point, method) pair into `record`: skipped and failed outcomes are recorded, never thrown.
class PairMeasurer {
 public:
  PairMeasurer(Backend backend, ProblemCache& problems) : backend_(backend), problems_(problems) {}

  void measure(const BlockPlan& plan, const Job& job, Json& record) {
    const Point& point = plan.points[job.point];
    const MethodVariant& variant = plan.variants[job.variant];
    const MethodInfo& info = *Registry::instance().method(variant.id);
    const Params params(variant.params);
    const Support point_ok = plan.family->check_point(point);
    const Support method_ok = point_ok.ok ? info.point_support(point, params) : point_ok;
    if (!method_ok.ok) return set_status(record, "skipped", "reason", method_ok.reason);
    if (!info.supports_backend(backend_))
      return set_status(record, "skipped", "reason",
                        fmt::format("method {} has no {} path", variant.id, to_string(backend_)));
    const char* stage = "construct";
    try {
      auto method = info.make(params, backend_);
      const Support can = method->can_run(point, backend_);
      if (!can.ok) return set_status(record, "skipped", "reason", can.reason);
      if (auto refusal = memory_refusal(plan.family->estimate_memory(point), backend_))
        return set_status(record, "skipped", "reason", *refusal);
      // Each stage's wall seconds (metrics.stages_s): where a record's time goes, to plan a run on a lent
      // machine's minutes (a kvtc record spends far more in its passes than in its timed phases).
      Json stages = Json::object();
      auto stage_start = clock_type::now();
      auto begin_stage = [&](const char* next) {
        const auto now = clock_type::now();
        stages[stage] = std::chrono::duration<double>(now - stage_start).count();
        stage_start = now;
        stage = next;
      };
      stage = "problem";
      const std::string subject = fmt::format("{}/{}/{}", plan.block->task, variant.label, point.id);
      trace("{}: {}", subject, stage);
      const Problem& problem = problems_.get(job.block, job.point, *plan.family, point);
      record["workload"] = plan.family->workload_info(problem);
      if (!ceilings_) ceilings_ = measure_ceilings(backend_);
      auto ctx = make_context(backend_);
      auto measurement = make_measurement(*ctx);

      begin_stage("prepare");
      trace("{}: {}", subject, stage);
      const auto t0 = clock_type::now();
      method->prepare(problem, *ctx);
      ctx->synchronize();
      const double prepare_s = std::chrono::duration<double>(clock_type::now() - t0).count();

      const PassContext pc{*plan.family, info, problem, *method, *ctx, *measurement, plan.block->measure,
                           [&]() {
                             auto copy = info.make(params, backend_);
                             copy->prepare(problem, *ctx);
                             return copy;
                           },
                           [&]() { return info.make(params, backend_); }};
      begin_stage("correctness");
      trace("{}: {}", subject, stage);
      const CheckResult check = correctness_pass(pc);
      record["fidelity"] = check.fidelity;
      if (check.failure) throw std::runtime_error(*check.failure);

      begin_stage("timing");
      trace("{}: {}", subject, stage);
      double median_s = 0;
      const Json timing = timing_pass(pc, &median_s);
      record["time"] = timing["time"];
      record["phases"] = timing["phases"];

      begin_stage("counters");
      trace("{}: {}", subject, stage);
      record["hbm"] = counter_pass(pc, subject);

      begin_stage("memory");
      trace("{}: {}", subject, stage);
      record["memory"] = memory_pass(pc);

      begin_stage("post-run");
      trace("{}: {}", subject, stage);
      const Json post = post_run_pass(pc, *ceilings_, median_s, prepare_s, record["hbm"]);
      for (const char* key : {"floor", "bandwidth", "ceilings", "compression", "metrics"}) record[key] = post[key];
      add_phase_floors(record, post);
      begin_stage("done");
      record["metrics"]["stages_s"] = stages;
    } catch (const std::bad_alloc&) {
      set_status(record, "failed", "error", fmt::format("{}: out of memory", stage));
    } catch (const std::exception& e) {
      set_status(record, "failed", "error", fmt::format("{}: {}", stage, e.what()));
    }
  }

 private:
  Backend backend_;
  ProblemCache& problems_;
  std::optional<Ceilings> ceilings_;
};

}  // namespace

RunSummary summary_paths(const Config& config, const RunOptions& options) {
  RunSummary summary;
  const std::string stem = options.shard_count > 1
                               ? fmt::format("{}.shard{}of{}", config.name, options.shard_index, options.shard_count)
                               : config.name;
  summary.jsonl = options.out_dir / (stem + ".jsonl");
  summary.csv = options.out_dir / (stem + ".csv");
  summary.md = options.out_dir / (stem + ".md");
  return summary;
}

RunSummary run_config(const Config& config, const RunOptions& options, std::ostream& log) {
  std::string why;
  const auto backend = resolve_backend(options.backend.value_or(config.backend), &why);
  if (!backend) throw std::runtime_error("backend cuda requested: " + why);
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count)
    throw std::runtime_error("--shard I/N needs 0 <= I < N");

  RunSummary summary = summary_paths(config, options);
  const bool existed = std::filesystem::exists(summary.jsonl);
  if (existed && !options.resume)
    throw std::runtime_error(fmt::format("'{}' exists: pass --resume to continue that run, or choose another --out",
                                         summary.jsonl.string()));
  // Opened (and locked) before anything is measured: an unwritable --out or a second writer stops the run
  // here, not after the first record's minute of measurement.
  auto writer = std::make_unique<JsonlWriter>(summary.jsonl);
  const RunPlan plan = plan_run(config, options, existed ? recorded_keys(config, summary, log) : std::set<std::string>{},
                                summary);
  if (plan.jobs.empty() && !existed) {  // nothing to run: leave no empty results file behind
    writer.reset();
    std::filesystem::remove(summary.jsonl);
  }
  if (options.progress)
    log << fmt::format("lrbench: '{}' on {}: {} blocks, {} (point, method) pairs; {} to run, {} already recorded -> {}\n",
                       config.name, to_string(*backend), plan.blocks.size(), plan.total_pairs, plan.jobs.size(),
                       summary.resumed, summary.jsonl.string());

  const std::string dirty = build_info::git_dirty();
  Json env = capture_environment(*backend);
  // Which shard of the sweep this run is (a Slurm array task, a --devices worker): null for a whole run.
  env["shard"] = options.shard_count > 1 ? Json(fmt::format("{}/{}", options.shard_index, options.shard_count))
                                         : Json(nullptr);
  const RunIdentity identity{make_run_id(), std::move(env),
                             dirty == "true" ? Json(true) : (dirty == "false" ? Json(false) : Json(nullptr)), *backend};
  ProgressLine progress(log, options.progress, plan.jobs.size());
  ProblemCache problems;
  PairMeasurer measurer(*backend, problems);

  for (std::size_t j = 0; j < plan.jobs.size(); ++j) {
    const Job& job = plan.jobs[j];
    const BlockPlan& bp = plan.blocks[job.block];
    Json record = record_skeleton(config, identity, *bp.block, bp.points[job.point], bp.variants[job.variant]);
    measurer.measure(bp, job, record);
    writer->write(record);
    const std::string status = record["status"].get<std::string>();
    if (status == "ok") ++summary.ok;
    else if (status == "skipped") ++summary.skipped;
    else ++summary.failed;
    progress.done(j + 1, record);
  }
  writer.reset();
  if (options.progress)
    log << fmt::format("lrbench: {} ok, {} skipped, {} failed ({} resumed, {} filtered out)\n", summary.ok,
                       summary.skipped, summary.failed, summary.resumed, summary.filtered);
  return summary;
}

}  // namespace lrb
