#pragma once
// The method interface shared by every task family. A family derives its own abstract base from
// `Method` (workloads/<family>/method_base.hpp) and its host and device bases say where the outputs live;
// the harness's correctness pass (harness/check.hpp) poisons, guards and reads them through `outputs()`.
// What a method is (id, description, parameters, traits) is declared once in the registry
// (harness/registry.hpp), not here. The split follows FlashInfer's plan/run: `prepare` does all untimed
// work (encode, merge, upload, plan), `run` is the timed part.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/backend.hpp"
#include "harness/json.hpp"
#include "harness/exec_context.hpp"
#include "harness/output_view.hpp"
#include "harness/params.hpp"

namespace lrb {

struct Support {
  bool ok = true;
  std::string reason;
  static Support yes() { return {}; }
  static Support no(std::string why) { return {false, std::move(why)}; }
};

// Bytes a method keeps resident, by component ("base_weights", "adapters", "blob", ...), counted
// from its real buffers.
struct Footprint {
  std::map<std::string, std::uint64_t> components;
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (const auto& [k, v] : components) t += v;
    return t;
  }
};

// Compulsory work of one execution: each input read once, each output written once.
struct Floor {
  double bytes = 0;
  double flops = 0;
  double write_bytes = 0;  // the part of `bytes` that is written (outputs); 0: not stated
  std::string note;        // what was counted
  // Per timed phase (Method::phases(), e.g. kv_compression's compress and decompress): its own bytes and
  // FLOPs, so each phase's median is judged against its own floor (record: phases.<name>.floor).
  struct Phase {
    double bytes = 0, flops = 0;
  };
  std::map<std::string, Phase> phases;
};

// A point: every family parameter resolved (workload values, axis values, defaults).
struct Point {
  Json values = Json::object();  // family parameters, in declaration order
  std::string id;                // "K=16,batch=1" from the swept axes only (stable, human-readable)
  Params params() const { return Params(values); }
};

class Problem {
 public:
  virtual ~Problem() = default;
};

class Method {
 public:
  Method() = default;
  virtual ~Method() = default;
  Method(const Method&) = delete;
  Method& operator=(const Method&) = delete;

  // Whether this implementation can solve this point here (device capability: sm_90, shared memory, an
  // optional library); the reason goes into a skipped record. Point-level applicability that holds on
  // every backend belongs in the declaration's `supports`.
  virtual Support can_run(const Point& point, Backend backend) const {
    (void)point;
    (void)backend;
    return Support::yes();
  }
  // Untimed: encode, merge, upload, plan, allocate outputs and workspaces.
  virtual void prepare(const Problem& problem, ExecContext& ctx) = 0;
  // Timed: computes the output from the prepared state. Launch-only on the CUDA backend.
  virtual void run(ExecContext& ctx) = 0;
  // The output buffers, as the correctness pass poisons, guards and downloads them (valid after prepare).
  virtual std::vector<OutputView> outputs() = 0;
  // Untimed, once after the correctness pass: facts that exist only after a run (an entropy coder's real
  // output size). Families read them through their method base.
  virtual void after_run(ExecContext& ctx) { (void)ctx; }
  // Optional sub-phases of `run`, timed apart. Running all of them in order equals `run`.
  virtual std::vector<TimedPhase> phases() { return {}; }
  // Stored bytes by component.
  virtual Footprint footprint() const = 0;
  // The intermediates one run allocates and frees, by name, as the method's own code sizes them (live at
  // once at its peak): the analytic count the memory pass records beside the measured transient bytes.
  virtual Footprint transient() const { return {}; }
  // Scratch allocated once in prepare and live through every run (a fused kernel's reduction workspace that
  // each launch leaves zero), by name: not stored data, and not seen by the run's allocation counter, so the
  // memory pass adds it to the run's measured peak and transient bytes (`memory.workspace_bytes`). Without
  // this a method could hide its intermediates by allocating them ahead of the run.
  virtual Footprint workspace() const { return {}; }
  // Compulsory bytes/FLOPs of this method's own representation; nothing: the family's default.
  virtual std::optional<Floor> floor(const Problem& problem) const {
    (void)problem;
    return std::nullopt;
  }
  // Method-specific measurements (merge time, encoder statistics, ...) copied into the record.
  virtual Json metrics() const { return Json::object(); }
};

}  // namespace lrb
