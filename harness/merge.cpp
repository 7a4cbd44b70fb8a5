#include "harness/merge.hpp"

#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/records.hpp"
#include "harness/registry.hpp"
#include "harness/sweep.hpp"

namespace lrb {

std::vector<std::pair<std::string, std::string>> expected_records(const Config& config, const std::string& filter) {
  const auto re = compile_filter(filter);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& block : config.blocks) {
    const TaskFamily* family = Registry::instance().family(block.task);
    if (!family) throw std::runtime_error("unknown task " + block.task);
    const auto points = expand_points(block, *family);
    const auto variants = expand_methods(block);
    for (const auto& p : points)
      for (const auto& v : variants) {
        std::string subject = filter_subject(block.name, v.label, p.id);
        if (re && !std::regex_search(subject, *re)) continue;
        out.emplace_back(record_key(block.name, p.id, v.label), std::move(subject));
      }
  }
  return out;
}

MergeResult merge_records(const Config& config, const std::vector<MergeSource>& sources, const std::string& filter) {
  MergeResult r;
  // First record of each key, and which source it came from.
  std::map<std::string, std::pair<const Json*, const MergeSource*>> first;
  std::vector<std::string> order_seen;
  for (const auto& src : sources) {
    for (const auto& rec : src.records) {
      const std::string hash = record_string(rec, "config_hash", "?");
      if (hash != config.hash) {
        r.errors.push_back(fmt::format("{}: a record of config hash {} ({}), not {}'s {}", src.name, hash,
                                       record_string(rec, "config_name", "?"), config.name, config.hash));
        break;  // one message a file
      }
      const std::string key = record_key(rec);
      auto [it, inserted] = first.emplace(key, std::make_pair(&rec, &src));
      if (inserted) {
        order_seen.push_back(key);
        continue;
      }
      const std::string kept = record_string(*it->second.first, "status", "?"), other = record_string(rec, "status", "?");
      if (kept == other)
        r.duplicates.push_back(
            fmt::format("{}: in {} and {}, both {}; kept {}'s", key, it->second.second->name, src.name, kept,
                        it->second.second->name));
      else
        r.conflicts.push_back(fmt::format("{}: {} in {}, {} in {}; kept {}'s", key, kept, it->second.second->name,
                                          other, src.name, it->second.second->name));
    }
  }
  const auto expected = expected_records(config, filter);
  r.expected = expected.size();
  std::set<std::string> expected_keys;
  for (const auto& [key, subject] : expected) {
    expected_keys.insert(key);
    const auto it = first.find(key);
    if (it == first.end()) r.missing.push_back(subject);
    else r.merged.push_back(*it->second.first);
  }
  for (const auto& key : order_seen)
    if (!expected_keys.count(key)) {
      r.unexpected.push_back(key);
      r.merged.push_back(*first.at(key).first);
    }
  return r;
}

}  // namespace lrb
