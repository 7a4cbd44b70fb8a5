#pragma once
// Merging the record files of one config's shards (`lrbench run --shard I/N`, one per Slurm array task or
// GPU) into one file, judged against the config's own expansion: nothing is dropped silently. Every
// (block, point, method) the config (and an optional --filter) expects is accounted for: present once,
// present more than once (duplicates: the same status; the first file's record kept), present with different
// statuses (conflicts: the first file's record kept), or missing. Records of another config are an error.
#include <string>
#include <utility>
#include <vector>

#include "harness/config.hpp"
#include "harness/json.hpp"

namespace lrb {

struct MergeSource {
  std::string name;           // the file, for messages
  std::vector<Json> records;  // its records in file order
};

struct MergeResult {
  std::vector<Json> merged;            // one record per key: the config's order first, then the unexpected ones
  std::vector<std::string> errors;     // records of another config (hash): the merge must not be written
  std::vector<std::string> duplicates;  // "key: in A and B, both ok; kept A's"
  std::vector<std::string> conflicts;   // "key: ok in A, failed in B; kept A's"
  std::vector<std::string> missing;     // "block/method label/point id" the config expects and no file has
  std::vector<std::string> unexpected;  // keys present that the config (with the filter) does not expect
  std::size_t expected = 0;
  bool complete() const { return errors.empty() && conflicts.empty() && missing.empty(); }
};

// `filter`: the runs' --filter regex (on "[<block>/]<method label>/<point id>"), "" for the whole config.
MergeResult merge_records(const Config& config, const std::vector<MergeSource>& sources, const std::string& filter = "");

// The expected subjects of a config in run order, as `lrbench run` lists them: (record key, filter subject).
std::vector<std::pair<std::string, std::string>> expected_records(const Config& config, const std::string& filter = "");

}  // namespace lrb
