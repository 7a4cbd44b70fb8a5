#pragma once
// A one-entry cache: the last value made for a key. Sweeps change one axis at a time, so consecutive points
// reuse what does not depend on that axis (generated tensors, an encoder's output) without holding more
// than one value of each kind.
#include <memory>
#include <mutex>
#include <string>

namespace lrb {

template <class T>
class LastValue {
 public:
  // The value for `key`, made by `make()` unless it is the last one made. Thread-safe; `made` (if given)
  // says whether this call made it.
  template <class Make>
  std::shared_ptr<const T> get(const std::string& key, Make&& make, bool* made = nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool hit = value_ && key == key_;
    if (made) *made = !hit;
    if (!hit) {
      value_.reset();  // free the old value before making the new one
      value_ = std::make_shared<const T>(make());
      key_ = key;
    }
    return value_;
  }

 private:
  std::mutex mutex_;
  std::string key_;
  std::shared_ptr<const T> value_;
};

}  // namespace lrb
