#pragma once
// `lrbench plot RESULTS.jsonl... --out DIR [--point REGEX]`: runs analysis/plot.py (matplotlib) on the records.
#include <string>
#include <vector>

namespace lrb {

struct PlotArgs {
  std::vector<std::string> inputs;
  std::string out, point;
};

// The script's exit code (0: plots written; 2: bad input); 2 where no Python with matplotlib is found.
int plot_command(const PlotArgs& args);

}  // namespace lrb
