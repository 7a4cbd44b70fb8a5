#include "analysis/claims.hpp"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "analysis/report.hpp"

namespace lrb {

namespace {

const Json* at_dotted(const Json& j, const std::string& path) {
  const Json* cur = &j;
  std::stringstream ss(path);
  std::string key;
  while (std::getline(ss, key, '.')) {
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
  }
  return cur;
}

bool subset_of(const Json& want, const Json& have) {
  if (!want.is_object()) return true;
  for (auto it = want.begin(); it != want.end(); ++it)
    if (!have.is_object() || !have.contains(it.key()) || have[it.key()] != it.value()) return false;
  return true;
}

bool is_method(const Json& record, const std::string& method, const Json& params) {
  const bool named = field_text(record, "method", "") == method || field_text(record, "method_label", "") == method;
  return named && subset_of(params, record.value("params", Json::object()));
}

std::string num(double v) { return fmt::format("{:.4g}", v); }

std::string verdict_of(const Json& claim, double m, std::string& rule) {
  const double v = claim["value"].get<double>();
  const std::string compare = claim.value("compare", "about");
  const double rel = claim.value("rel_tol", compare == "about" ? 0.1 : 0.0), abs_tol = claim.value("abs_tol", 0.0);
  const double t = std::max(abs_tol, rel * std::abs(v));
  bool holds = false;
  if (compare == "at_most") {
    holds = m <= v + t;
    rule = fmt::format("<= {}{}", num(v), t > 0 ? fmt::format(" (+{})", num(t)) : "");
  } else if (compare == "at_least") {
    holds = m >= v - t;
    rule = fmt::format(">= {}{}", num(v), t > 0 ? fmt::format(" (-{})", num(t)) : "");
  } else {
    holds = std::abs(m - v) <= t;
    rule = fmt::format("{} +- {}", num(v), num(t));
  }
  return holds ? "holds" : "does not hold";
}

}  // namespace

std::vector<ClaimRow> evaluate_claims(const Config& config, const std::vector<Json>& records) {
  std::vector<ClaimRow> rows;
  for (const auto& block : config.blocks) {
    for (const auto& claim : block.claims) {
      const std::string metric = claim["metric"].get<std::string>();
      const std::string method = claim["method"].get<std::string>();
      const Json params = claim.value("params", Json::object());
      const Json point = claim.value("point", Json::object());
      const Json baseline = claim.value("baseline", Json(nullptr));
      std::size_t matched = 0;
      for (const auto& r : records) {
        if (field_text(r, "block", "") != block.name || !is_method(r, method, params) ||
            !subset_of(point, r.value("point", Json::object())))
          continue;
        ++matched;
        ClaimRow row{block.name, claim, field_text(r, "method_label", ""), field_text(r, "point_id", ""), nullptr,
                     "no data", ""};
        if (field_text(r, "status", "") != "ok") {
          const std::string why = field_text(r, "reason", field_text(r, "error", ""));
          row.detail = fmt::format("record {}: {}", field_text(r, "status", "?"), why);
          rows.push_back(row);
          continue;
        }
        const Json* value = at_dotted(r, metric);
        if (!value || !value->is_number()) {
          row.detail = fmt::format("record has no number at {}", metric);
          rows.push_back(row);
          continue;
        }
        double m = value->get<double>();
        if (baseline.is_object()) {
          const std::string b_block = baseline.value("block", block.name);
          const std::string b_method = baseline.value("method", method);
          const Json b_params = baseline.value("params", Json::object());
          const Json* b_value = nullptr;
          std::string b_label;
          for (const auto& b : records)
            if (field_text(b, "block", "") == b_block && is_method(b, b_method, b_params) &&
                field_text(b, "status", "") == "ok" && b.value("point", Json::object()) == r.value("point", Json::object())) {
              b_value = at_dotted(b, metric);
              b_label = field_text(b, "method_label", "");
              break;
            }
          if (!b_value || !b_value->is_number()) {
            row.detail = fmt::format("no ok baseline record {} in block '{}' at this point", b_method, b_block);
            rows.push_back(row);
            continue;
          }
          if (m == 0) {
            row.detail = fmt::format("{} is 0 at this point: the ratio {} / {} is undefined", metric, b_label,
                                     row.method_label);
            rows.push_back(row);
            continue;
          }
          row.detail = fmt::format("{} {} / {} = {} / {}", b_block == block.name ? "" : b_block + ":", b_label,
                                   row.method_label, num(b_value->get<double>()), num(m));
          m = b_value->get<double>() / m;
        }
        row.measured = m;
        std::string rule;
        row.verdict = verdict_of(claim, m, rule);
        row.detail = row.detail.empty() ? rule : row.detail + "; " + rule;
        rows.push_back(row);
      }
      if (matched == 0)
        rows.push_back({block.name, claim, "", "", nullptr, "no data",
                        "no record of this method at this point (filtered out, or not run yet)"});
    }
  }
  return rows;
}

std::string claims_markdown(const std::vector<ClaimRow>& rows) {
  std::string md = "## Claims: claimed vs measured\n\n"
                   "| block | claim | source | method | point | claimed | measured | verdict | how |\n"
                   "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    const std::string unit = r.claim.value("unit", "");
    const std::string what = r.claim.value("note", r.claim["metric"].get<std::string>());
    md += fmt::format("| {} | {} | {} | {} | {} | {} {} | {} | **{}** | {} |\n", md_escape(r.block), md_escape(what),
                      md_escape(r.claim["source"].get<std::string>()), md_escape(r.method_label), md_escape(r.point_id),
                      num(r.claim["value"].get<double>()), md_escape(unit),
                      r.measured.is_number() ? num(r.measured.get<double>()) : "-", r.verdict, md_escape(r.detail));
  }
  return md;
}

}  // namespace lrb
