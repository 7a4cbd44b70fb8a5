#include "analysis/report.hpp"

#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/records.hpp"

namespace lrb {

namespace {

bool skipped_column(const std::string& key) {
  // Raw samples are per-record arrays: kept in the JSONL, not in the table.
  return key == "samples" || (key.size() > 8 && key.compare(key.size() - 8, 8, ".samples") == 0);
}

void flatten_into(const Json& j, const std::string& prefix, std::vector<std::pair<std::string, Json>>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
      if (skipped_column(key)) continue;
      flatten_into(it.value(), key, out);
    }
  } else {
    out.emplace_back(prefix, j);
  }
}

std::string cell_text(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) return fmt::format("{:.9g}", v.get<double>());
  return v.dump();
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const Json* at_path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
  }
  return cur;
}

std::string num(const Json* v, const char* spec = "{:.4g}") {
  if (!v || !v->is_number()) return "";
  return fmt::format(fmt::runtime(spec), v->get<double>());
}

}  // namespace

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::vector<std::pair<std::string, Json>> flatten_record(const Json& record) {
  std::vector<std::pair<std::string, Json>> out;
  flatten_into(record, "", out);
  return out;
}

std::string csv_from_records(const std::vector<Json>& records) {
  std::vector<std::string> columns;
  std::set<std::string> seen;
  std::vector<std::map<std::string, std::string>> rows;
  for (const auto& r : records) {
    std::map<std::string, std::string> row;
    for (const auto& [k, v] : flatten_record(r)) {
      if (seen.insert(k).second) columns.push_back(k);
      row[k] = cell_text(v);
    }
    rows.push_back(std::move(row));
  }
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + csv_escape(columns[i]);
  out += "\n";
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      auto it = row.find(columns[i]);
      out += (i ? "," : "") + csv_escape(it == row.end() ? std::string() : it->second);
    }
    out += "\n";
  }
  return out;
}

std::string markdown_from_records(const std::vector<Json>& records) {
  std::string out;
  std::string current;
  for (const auto& r : records) {
    const std::string group = fmt::format("{} / {} ({})", r.value("config_name", std::string("?")),
                                          r.value("task", std::string("?")), r.value("backend", std::string("?")));
    if (group != current) {
      current = group;
      out += fmt::format("\n### {}\n\n", group);
      out += "| method | point | status | median ms | stdrel | n | floor fraction | rel error | max abs err | "
             "ratio | stored bytes | note |\n";
      out += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    }
    const std::string status = r.value("status", std::string("?"));
    std::string note;
    const char* why = status == "skipped" ? "reason" : (status == "failed" ? "error" : nullptr);
    if (why && r.contains(why) && r[why].is_string()) note = r[why].get<std::string>();
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                       md_escape(r.value("method_label", std::string())), md_escape(r.value("point_id", std::string())),
                       status, num(at_path(r, {"time", "median"})), num(at_path(r, {"time", "stdrel"}), "{:.3f}"),
                       num(at_path(r, {"time", "n"}), "{:.0f}"), num(at_path(r, {"floor", "fraction"}), "{:.3f}"),
                       num(at_path(r, {"fidelity", "rel_error"}), "{:.3e}"),
                       num(at_path(r, {"fidelity", "max_abs_error"}), "{:.3e}"),
                       num(at_path(r, {"compression", "ratio"}), "{:.3f}"),
                       num(at_path(r, {"memory", "stored_bytes"}), "{:.0f}"), md_escape(note));
  }
  return out;
}

namespace {
void write_text(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("cannot write '{}'", path.string()));
    out << text;
    if (!out) throw std::runtime_error(fmt::format("cannot write '{}'", path.string()));
  }
  std::filesystem::rename(tmp, path);  // never a half-written report
}
}  // namespace

void write_csv_report(const std::filesystem::path& jsonl, const std::filesystem::path& csv) {
  write_text(csv, csv_from_records(read_jsonl(jsonl)));
}

void write_markdown_report(const std::filesystem::path& jsonl, const std::filesystem::path& md) {
  write_text(md, "# lrbench results: " + jsonl.filename().string() + "\n" + markdown_from_records(read_jsonl(jsonl)));
}

void write_run_reports(const std::filesystem::path& jsonl, const std::filesystem::path& csv,
                       const std::filesystem::path& md) {
  if (!std::filesystem::exists(jsonl)) return;
  write_csv_report(jsonl, csv);
  write_markdown_report(jsonl, md);
}

}  // namespace lrb
