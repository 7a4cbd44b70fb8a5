#include "harness/cuda/timing_strategies.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/cuda/device_info.hpp"
#include "harness/cuda/hbm_counters.hpp"
#include "harness/cuda/raii.hpp"

namespace lrb::cuda {

namespace {
// Launches (graph nodes) queued behind the blocking kernel at most: CUDA's per-stream launch queue holds on the
// order of a thousand pending entries; past it cudaGraphLaunch itself blocks until the held stream moves, which
// it never does before the blocking kernel's timeout.
constexpr std::size_t kMaxHeldLaunches = 512;

// Samples taken while the SM clock sits below 90% of its maximum are discarded (the record counts them).
ThrottleGuard throttle_guard() {
  const unsigned max_mhz = max_sm_clock_mhz();
  ThrottleGuard g;
  g.rule = max_mhz ? fmt::format("discard samples taken with the SM clock below 90% of its maximum ({} MHz)", max_mhz)
                   : "no throttle detection: NVML unavailable";
  g.throttled = [max_mhz] { return max_mhz > 0 && sm_clock_mhz() < 0.9 * max_mhz; };
  return g;
}

}  // namespace

TimingResult EventTiming::time(const std::function<void()>& run, const MeasureOptions& options) {
  CudaContext& ctx = ctx_;
  auto& res = MeasurementResources::instance();
  Event start = Event::create(), stop = Event::create();
  int timeouts = 0;
  auto once = [&] {
    run();
    ctx.synchronize();
  };
  auto sample = [&] {
    // Both modes hold the stream with the blocking kernel until the run is enqueued, so launch submission
    // does not show in the sample; only cold flushes L2 first.
    if (cold_) res.flush_l2(ctx.stream());
    res.block(ctx.stream());
    start.record(ctx.stream());
    run();
    stop.record(ctx.stream());
    res.release();
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    if (res.last_block_timed_out()) ++timeouts;
    return static_cast<double>(stop.since(start)) * 1e-3;
  };
  const Json clocks_before = read_clocks();
  const ThrottleGuard guard = throttle_guard();
  TimingResult r = sample_until_stable(sample, once, options, &guard);
  r.mode = cold_ ? "cold" : "hot";
  r.clock = "cuda_event";
  r.extra["clocks"] = {{"start", clocks_before}, {"end", read_clocks()}};
  if (cold_) {
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

GraphTiming::Plan GraphTiming::plan(double footprint_bytes) const {
  // Rotate among copies so that between two replays of the same copy the others read >= 2x L2. At least two
  // independently prepared copies even for large footprints: their buffers sit at different addresses, and
  // the spread between placements (seen up to 1.7% on an H200) belongs in the reported noise.
  Plan p;
  p.l2 = static_cast<double>(device_info().l2_bytes);
  p.footprint = std::max(footprint_bytes, 1.0);
  p.large = p.footprint >= 2 * p.l2;
  p.wanted = p.large ? 2 : static_cast<int>(std::ceil(2 * p.l2 / p.footprint)) + 1;
  std::size_t free_bytes = 0, total_bytes = 0;
  LRB_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const int affordable = 1 + static_cast<int>(0.5 * static_cast<double>(free_bytes) / p.footprint);
  p.copies = std::max(1, std::min({p.wanted, affordable, 256}));
  return p;
}

namespace {
// `body` captured from the stream into an instantiated graph; `nodes` gets its node count.
GraphExec capture_graph(CudaContext& ctx, const std::function<void()>& body, std::size_t& nodes) {
  LRB_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
  try {
    body();
  } catch (...) {
    cudaGraph_t broken = nullptr;
    cudaStreamEndCapture(ctx.stream(), &broken);
    if (broken) cudaGraphDestroy(broken);
    throw;
  }
  cudaGraph_t g = nullptr;
  LRB_CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &g));
  Graph graph(g);
  LRB_CUDA_CHECK(cudaGraphGetNodes(graph.get(), nullptr, &nodes));
  cudaGraphExec_t exec = nullptr;
  LRB_CUDA_CHECK(cudaGraphInstantiate(&exec, graph.get(), 0));
  return GraphExec(exec);
}
}  // namespace

TimingResult GraphTiming::time(const Plan& plan, const std::vector<std::function<void()>>& runs,
                               const MeasureOptions& options) {
  CudaContext& ctx = ctx_;
  const bool large = plan.large;
  const int copies = static_cast<int>(runs.size()), wanted = plan.wanted;
  const double l2 = plan.l2, footprint = plan.footprint;
  ctx.synchronize();
  // Small footprints: ONE graph holding a run of every copy in turn, as a decode step's graph holds its layers
  // back to back: consecutive runs are separated by a node-to-node gap inside the graph, not by a graph launch
  // (the first held run, 2026-12-08 on an H100, timed one graph per run: a ~1 MiB decode kernel then took 8-10 us
  // whether the replays were held or not, the graph launch's own cost on the GPU included). Large footprints:
  // one graph per copy (each run is long next to a launch).
  std::vector<GraphExec> execs;
  std::size_t nodes = 0;  // kernel and memset nodes of one run of every copy
  if (large) {
    for (const auto& run : runs) {
      std::size_t n = 0;
      execs.push_back(capture_graph(ctx, run, n));
      nodes += n;
    }
  } else {
    execs.push_back(capture_graph(ctx, [&] { for (const auto& run : runs) run(); }, nodes));
  }
  Event start = Event::create(), stop = Event::create();
  auto replay_round = [&] {  // one run of every copy
    for (auto& e : execs) LRB_CUDA_CHECK(cudaGraphLaunch(e.get(), ctx.stream()));
  };
  // Runs per sample: enough rounds for >= 0.5 ms, so event resolution does not matter.
  replay_round();
  start.record(ctx.stream());
  replay_round();
  stop.record(ctx.stream());
  LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  const double round_ms = std::max(1e-4, static_cast<double>(stop.since(start)));
  const int rounds = std::max(1, static_cast<int>(std::ceil(0.5 / round_ms)));
  // Large footprints: each sample replays one copy (its data cannot stay in L2 across its own replays), and
  // consecutive samples alternate copies, so stdrel sees the copies' differences. Small footprints: each
  // sample replays whole rounds of all copies (a copy must not follow itself).
  const int per_copy = std::max(1, static_cast<int>(std::ceil(0.5 / (round_ms / static_cast<double>(copies)))));
  // Each sample's graph launches are enqueued while the blocking kernel holds the stream, then released at once:
  // the GPU runs them back to back, so the host's submission rate (a few us a graph launch) does not set the
  // sample. Where a sample would queue more than the launch queue holds while waiting, it is not held (the
  // blocking kernel would time out); a small footprint's launch then carries every copy's run, so the host keeps
  // ahead unless a whole round takes less GPU time than one launch takes on the host.
  auto& res = MeasurementResources::instance();
  const std::size_t queued = large ? static_cast<std::size_t>(per_copy) * (nodes / execs.size() + 1)
                                   : static_cast<std::size_t>(rounds) * (nodes + 1);
  const bool hold = queued <= kMaxHeldLaunches;
  int timeouts = 0;
  std::size_t next_copy = 0;
  auto sample = [&] {
    if (hold) res.block(ctx.stream());
    start.record(ctx.stream());
    int replays = 0;
    if (large) {
      const auto& e = execs[next_copy++ % execs.size()];
      for (int i = 0; i < per_copy; ++i) LRB_CUDA_CHECK(cudaGraphLaunch(e.get(), ctx.stream()));
      replays = per_copy;
    } else {
      for (int i = 0; i < rounds; ++i) replay_round();
      replays = rounds * copies;
    }
    stop.record(ctx.stream());
    if (hold) res.release();
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    if (hold && res.last_block_timed_out()) ++timeouts;
    return static_cast<double>(stop.since(start)) * 1e-3 / replays;
  };
  auto once = [&] {
    replay_round();
    ctx.synchronize();
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
                      {"runs_per_graph", large ? 1 : copies},
                      {"replays_per_sample", large ? per_copy : rounds * copies},
                      {"graph_nodes", nodes},
                      {"held_by_blocking_kernel", hold},
                      {"blocking_kernel_timeouts", timeouts}};
  r.note = fmt::format("one run captured in a CUDA graph; {} prepared copies of {:.1f} MiB (L2 {:.0f} MiB), {}{}",
                       copies, footprint / (1 << 20), l2 / (1 << 20),
                       large ? "one graph per copy, samples alternating between copies"
                             : "one graph of a run of every copy in turn, replayed whole",
                       copies < wanted ? (large ? "; one copy only (memory): placement variation not sampled"
                                                : "; fewer copies than wanted (memory): some data may come from L2")
                                       : "");
  r.note += hold ? "; each sample's launches enqueued behind a blocking kernel, then run back to back"
                 : fmt::format("; launches not held ({} queue entries a sample exceed the {} the queue takes while "
                               "held){}",
                               queued, kMaxHeldLaunches,
                               large ? ": the host's submission rate may show in short runs"
                                     : ": each launch carries every copy's run");
  if (timeouts > 0)
    r.note += fmt::format("; the blocking kernel timed out in {} samples: those include launch time", timeouts);
  return r;
}

}  // namespace lrb::cuda
