#include "harness/cuda/cuda_context.hpp"

#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/cuda/device_info.hpp"
#include "harness/cuda/hbm_counters.hpp"
#include "harness/method.hpp"
#include "harness/stats.hpp"

namespace lrb::cuda {

namespace {
// Samples taken while the SM clock sits below 90% of its maximum are discarded (the record counts them).
ThrottleGuard throttle_guard() {
  const unsigned max_mhz = max_sm_clock_mhz();
  ThrottleGuard g;
  g.rule = max_mhz ? fmt::format("discard samples taken with the SM clock below 90% of its maximum ({} MHz)", max_mhz)
                   : "no throttle detection: NVML unavailable";
  g.throttled = [max_mhz] { return max_mhz > 0 && sm_clock_mhz() < 0.9 * max_mhz; };
  return g;
}

nvtxDomainHandle_t nvtx_domain() {
  static nvtxDomainHandle_t d = nvtxDomainCreateA("lrbench");
  return d;
}
constexpr std::size_t kCublasWorkspace = 32u << 20;
}  // namespace

CudaContext::CudaContext() : ExecContext(Backend::cuda), stream_(Stream::create()) {
  cublasHandle_t h;
  LRB_CUBLAS_CHECK(cublasCreate(&h));
  cublas_ = CublasHandle(h);
  LRB_CUBLAS_CHECK(cublasSetStream(h, stream()));
  workspace_.allocate(kCublasWorkspace);
  LRB_CUBLAS_CHECK(cublasSetWorkspace(h, workspace_.data(), workspace_.bytes()));
  cublasLtHandle_t lt;
  LRB_CUBLAS_CHECK(cublasLtCreate(&lt));
  cublaslt_ = CublasLtHandle(lt);
  lt_workspace_.allocate(kCublasWorkspace);
}

void CudaContext::synchronize() { LRB_CUDA_CHECK(cudaStreamSynchronize(stream())); }

CudaContext& cuda_context(ExecContext& ctx) {
  auto* c = dynamic_cast<CudaContext*>(&ctx);
  if (!c) throw std::logic_error("a CUDA path was given a non-CUDA context");
  return *c;
}

TimingResult CudaContext::time_events(const std::function<void()>& run, const MeasureOptions& options, bool cold) {
  auto& res = MeasurementResources::instance();
  Event start = Event::create(), stop = Event::create();
  int timeouts = 0;
  auto once = [&] {
    run();
    synchronize();
  };
  auto sample = [&] {
    // Both modes hold the stream with the blocking kernel until the run is enqueued, so launch submission
    // does not show in the sample; only cold flushes L2 first.
    if (cold) res.flush_l2(stream());
    res.block(stream());
    start.record(stream());
    run();
    stop.record(stream());
    res.release();
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    if (res.last_block_timed_out()) ++timeouts;
    return static_cast<double>(stop.since(start)) * 1e-3;
  };
  const Json clocks_before = read_clocks();
  const ThrottleGuard guard = throttle_guard();
  TimingResult r = sample_until_stable(sample, once, options, &guard);
  r.mode = cold ? "cold" : "hot";
  r.clock = "cuda_event";
  r.extra["clocks"] = {{"start", clocks_before}, {"end", read_clocks()}};
  if (cold) {
    r.note = fmt::format("L2 read-sweep of {} MiB and a blocking kernel before each sample",
                         res.flush_bytes() >> 20);
  } else {
    r.note = "blocking kernel before each sample, repeated runs on the same buffers: data may come from L2 "
             "(reference only)";
  }
  if (timeouts > 0)
    r.note += fmt::format("; the blocking kernel timed out in {} samples (launch queue full): those include launch "
                          "time",
                          timeouts);
  return r;
}

TimingResult CudaContext::time_graph(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy) {
  // Rotate among copies so that between two replays of the same copy the others read >= 2x L2. At least two
  // independently prepared copies even for large footprints: their buffers sit at different addresses, and
  // the spread between placements (seen up to 1.7% on an H200) belongs in the reported noise.
  const double l2 = static_cast<double>(device_info().l2_bytes);
  const double footprint = std::max<double>(static_cast<double>(method.footprint().total()), 1.0);
  const bool large = footprint >= 2 * l2;
  int wanted = large ? 2 : static_cast<int>(std::ceil(2 * l2 / footprint)) + 1;
  std::size_t free_bytes = 0, total_bytes = 0;
  LRB_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const int affordable = 1 + static_cast<int>(0.5 * static_cast<double>(free_bytes) / footprint);
  const int copies = std::max(1, std::min({wanted, affordable, 256}));

  std::vector<std::unique_ptr<Method>> extra;
  std::vector<Method*> methods = {&method};
  for (int i = 1; i < copies; ++i) {
    extra.push_back(make_copy());
    methods.push_back(extra.back().get());
  }
  synchronize();
  std::vector<GraphExec> execs;
  for (Method* m : methods) {
    LRB_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
    try {
      m->run(*this);
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(stream(), &broken);
      if (broken) cudaGraphDestroy(broken);
      throw;
    }
    cudaGraph_t g = nullptr;
    LRB_CUDA_CHECK(cudaStreamEndCapture(stream(), &g));
    Graph graph(g);
    cudaGraphExec_t exec = nullptr;
    LRB_CUDA_CHECK(cudaGraphInstantiate(&exec, graph.get(), 0));
    execs.emplace_back(exec);
  }
  Event start = Event::create(), stop = Event::create();
  auto replay_round = [&] {
    for (auto& e : execs) LRB_CUDA_CHECK(cudaGraphLaunch(e.get(), stream()));
  };
  // Replays per sample: enough rounds for >= 0.5 ms, so event resolution does not matter.
  replay_round();
  start.record(stream());
  replay_round();
  stop.record(stream());
  LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  const double round_ms = std::max(1e-4, static_cast<double>(stop.since(start)));
  const int rounds = std::max(1, static_cast<int>(std::ceil(0.5 / round_ms)));
  // Large footprints: each sample replays one copy (its data cannot stay in L2 across its own replays), and
  // consecutive samples alternate copies, so stdrel sees the copies' differences. Small footprints: each
  // sample replays whole rounds of all copies (a copy must not follow itself).
  const int per_copy = std::max(1, static_cast<int>(std::ceil(0.5 / (round_ms / static_cast<double>(execs.size())))));
  std::size_t next_copy = 0;
  auto sample = [&] {
    start.record(stream());
    int replays = 0;
    if (large) {
      const auto& e = execs[next_copy++ % execs.size()];
      for (int i = 0; i < per_copy; ++i) LRB_CUDA_CHECK(cudaGraphLaunch(e.get(), stream()));
      replays = per_copy;
    } else {
      for (int i = 0; i < rounds; ++i) replay_round();
      replays = rounds * static_cast<int>(execs.size());
    }
    stop.record(stream());
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    return static_cast<double>(stop.since(start)) * 1e-3 / replays;
  };
  auto once = [&] {
    replay_round();
    synchronize();
  };
  const Json clocks_before = read_clocks();
  const ThrottleGuard guard = throttle_guard();
  TimingResult r = sample_until_stable(sample, once, options, &guard);
  r.mode = "graph";
  r.clock = "cuda_event";
  r.extra["clocks"] = {{"start", clocks_before}, {"end", read_clocks()}};
  r.extra["graph"] = {{"copies", copies},
                      {"copies_wanted", wanted},
                      {"footprint_bytes", footprint},
                      {"l2_bytes", l2},
                      {"samples_alternate_copies", large && copies > 1},
                      {"replays_per_sample", large ? per_copy : rounds * static_cast<int>(execs.size())}};
  r.note = fmt::format("one run captured in a CUDA graph; {} prepared copies of {:.1f} MiB (L2 {:.0f} MiB), {}{}",
                       copies, footprint / (1 << 20), l2 / (1 << 20),
                       large ? "samples alternating between copies" : "each sample replaying every copy in turn",
                       copies < wanted ? (large ? "; one copy only (memory): placement variation not sampled"
                                                : "; fewer copies than wanted (memory): some data may come from L2")
                                       : "");
  return r;
}

TimingResult CudaContext::time_method(Method& method, const MeasureOptions& options,
                                      const PreparedCopyFactory& make_copy) {
  if (options.mode == "graph") return time_graph(method, options, make_copy);
  return time_events([&] { method.run(*this); }, options, options.mode == "cold");
}

TimingResult CudaContext::time_phase(TimedPhase& phase, const MeasureOptions& options) {
  // Phases are timed with events (cold when the config asks for cold, else hot).
  return time_events([&] { phase.run(*this); }, options, options.mode == "cold");
}

Json CudaContext::measure_memory(Method& method) {
  const Footprint fp = method.footprint();
  Json components = Json::object();
  for (const auto& [name, bytes] : fp.components) components[name] = bytes;
  synchronize();
  DeviceMemoryCounter::reset_peak();
  const auto before = DeviceMemoryCounter::current();
  method.run(*this);
  synchronize();
  const auto peak = std::max<std::int64_t>(DeviceMemoryCounter::peak() - before, 0);
  const auto retained = std::max<std::int64_t>(DeviceMemoryCounter::current() - before, 0);
  return {{"stored_bytes", fp.total()},
          {"components", components},
          {"peak_bytes", peak},
          {"transient_bytes", std::max<std::int64_t>(peak - retained, 0)},
          {"how", "device bytes held by DeviceBuffers during one run, above the level before it (cuBLAS "
                  "workspaces are the context's, allocated before)"}};
}

Json CudaContext::measure_hbm(Method& method, const std::string& range, bool enabled) {
  synchronize();
  auto& res = MeasurementResources::instance();
  auto flush = [&] { res.flush_l2(stream()); };
  auto work = [&] {
    range_push(range);
    method.run(*this);
    range_pop();
  };
  if (!enabled) {
    return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr},
            {"write_drained_bytes", nullptr}, {"note", "disabled by measure.hbm = false"}};
  }
  Json out = HbmProfiler::instance().measure(flush, work, flush, [&] { synchronize(); });
  if (!out.value("available", false)) return out;
  const Json& idle = idle_counter_traffic();
  out["idle"] = idle;
  if (idle.value("available", false))
    out["write_drained_net_bytes"] = out["write_drained_bytes"].get<double>() - idle["write_drained_bytes"].get<double>();
  return out;
}

// What the counter path itself moves: the same flush / measured range / drain around no work, once per
// process (median of three). On the H200 this is a constant ~4.8 MB of drained writes and ~0 reads, which
// matters for methods whose output is a few MB; write_drained_net_bytes subtracts it.
const Json& CudaContext::idle_counter_traffic() {
  static Json idle;
  if (!idle.is_null()) return idle;
  auto& res = MeasurementResources::instance();
  std::vector<Json> runs;
  for (int i = 0; i < 3; ++i)
    runs.push_back(HbmProfiler::instance().measure([&] { res.flush_l2(stream()); }, [] {},
                                                   [&] { res.flush_l2(stream()); }, [&] { synchronize(); }));
  idle = {{"available", true}};
  for (const char* key : {"read_bytes", "write_bytes", "write_drained_bytes"}) {
    std::vector<double> v;
    for (const auto& r : runs)
      if (r.value("available", false) && r[key].is_number()) v.push_back(r[key].get<double>());
    if (v.size() != runs.size()) {
      idle = {{"available", false}, {"note", "the idle counter measurement failed"}};
      return idle;
    }
    idle[key] = summarize(v).median;
  }
  idle["note"] = "median of 3 measurements of the counter path around no work";
  return idle;
}

void CudaContext::range_push(const std::string& name) {
  // One nested push/pop range per '/'-separated part, so Nsight Compute's filter
  // --nvtx-include "lrbench@<family>/<method>/<point>/" matches it.
  int depth = 0;
  std::size_t begin = 0;
  while (begin <= name.size()) {
    const std::size_t end = std::min(name.find('/', begin), name.size());
    const std::string part = name.substr(begin, end - begin);
    nvtxEventAttributes_t a{};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = part.c_str();
    nvtxDomainRangePushEx(nvtx_domain(), &a);
    ++depth;
    begin = end + 1;
  }
  range_depths_.push_back(depth);
}

void CudaContext::range_pop() {
  if (range_depths_.empty()) return;
  for (int i = 0; i < range_depths_.back(); ++i) nvtxDomainRangePop(nvtx_domain());
  range_depths_.pop_back();
}

}  // namespace lrb::cuda
