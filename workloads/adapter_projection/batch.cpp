#include "workloads/adapter_projection/batch.hpp"

#include <map>

namespace lrb {

AdapterBatch AdapterBatch::from_token_adapters(std::vector<int> token_adapter) {
  AdapterBatch b;
  std::map<int, std::size_t> segment_of;
  std::vector<std::vector<int>> members;
  for (int t = 0; t < static_cast<int>(token_adapter.size()); ++t) {
    const int a = token_adapter[t];
    auto [it, inserted] = segment_of.emplace(a, members.size());
    if (inserted) {
      members.emplace_back();
      b.segment_adapter.push_back(a);
    }
    members[it->second].push_back(t);
  }
  b.segment_offset.push_back(0);
  for (const auto& m : members) {
    b.order.insert(b.order.end(), m.begin(), m.end());
    b.segment_offset.push_back(static_cast<int>(b.order.size()));
  }
  b.token_adapter = std::move(token_adapter);
  return b;
}

std::size_t AdapterBatch::adapters_used() const {
  std::size_t n = 0;
  for (std::size_t s = 0; s < segments(); ++s) n += has_adapter(s) ? 1 : 0;
  return n;
}

}  // namespace lrb
