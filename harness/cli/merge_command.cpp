#include "harness/cli/merge_command.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "harness/config.hpp"
#include "harness/merge.hpp"
#include "harness/records.hpp"

namespace lrb {
namespace {

constexpr int kComplete = 0, kIncomplete = 1, kUsage = 2;
constexpr std::size_t kListed = 40;  // lines of each list printed before "... and N more"

void print_list(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::cerr << fmt::format("{} ({}):\n", title, items.size());
  for (std::size_t i = 0; i < items.size() && i < kListed; ++i) std::cerr << "  " << items[i] << "\n";
  if (items.size() > kListed) std::cerr << fmt::format("  ... and {} more\n", items.size() - kListed);
}

}  // namespace

void report_merge(const MergeResult& r, std::size_t files, const std::string& out) {
  print_list("duplicates", r.duplicates);
  print_list("conflicting records", r.conflicts);
  print_list("missing (point, method) pairs", r.missing);
  print_list("records the config (and --filter) does not expect, kept", r.unexpected);
  std::cerr << fmt::format(
      "lrbench merge: {} files, {} expected, {} present, {} missing, {} duplicates, {} conflicts, {} unexpected -> {}{}\n",
      files, r.expected, r.expected - r.missing.size(), r.missing.size(), r.duplicates.size(), r.conflicts.size(),
      r.unexpected.size(), out, r.complete() ? " (complete)" : " (INCOMPLETE)");
}

int merge_command(const MergeArgs& a) {
  const auto load = load_config(a.config);
  for (const auto& e : load.errors) std::cerr << fmt::format("{}: {}\n", a.config, e.text());
  if (!load.config) return kUsage;
  const std::filesystem::path out(a.out);
  std::error_code ec;
  for (const auto& in : a.inputs)
    if (std::filesystem::equivalent(in, out, ec)) {
      std::cerr << fmt::format("--out {} is one of the inputs\n", a.out);
      return kUsage;
    }
  if (std::filesystem::exists(out) && !a.force) {
    std::cerr << fmt::format("--out {} exists (--force replaces it)\n", a.out);
    return kUsage;
  }
  std::vector<MergeSource> sources;
  for (const auto& in : a.inputs) {
    std::vector<std::string> warnings;
    MergeSource s{in, {}};
    try {
      s.records = read_jsonl(in, &warnings);
    } catch (const std::exception& e) {
      std::cerr << fmt::format("{}: {}\n", in, e.what());
      return kUsage;
    }
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
    sources.push_back(std::move(s));
  }
  MergeResult r;
  try {
    r = merge_records(*load.config, sources, a.filter);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return kUsage;
  }
  if (!r.errors.empty()) {
    print_list("records of another config (nothing written)", r.errors);
    return kUsage;
  }
  if (!write_jsonl_atomically(out, r.merged)) {
    std::cerr << fmt::format("cannot write {}\n", a.out);
    return kUsage;
  }
  report_merge(r, sources.size(), a.out);
  return r.complete() ? kComplete : kIncomplete;
}

}  // namespace lrb
