#pragma once
#include <optional>
#include <string>

namespace lrb {

// Where a method runs. `auto` is resolved by the runner before anything runs.
enum class Backend { cpu, cuda };
enum class BackendChoice { automatic, cpu, cuda };

std::string to_string(Backend backend);
std::optional<BackendChoice> parse_backend_choice(const std::string& text);  // "auto" | "cpu" | "cuda"

// True when this binary was built with CUDA paths and a usable GPU is present.
bool cuda_built();
bool cuda_device_present();

// Resolves a choice into the backend to run; nothing when the choice cannot be met (reason filled).
std::optional<Backend> resolve_backend(BackendChoice choice, std::string* reason);

}  // namespace lrb
