#include "analysis/report.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
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

std::string field_text(const Json& r, const char* key, const std::string& fallback) {
  if (!r.is_object() || !r.contains(key) || r[key].is_null()) return fallback;
  return cell_text(r[key]);
}

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
    const std::string group = fmt::format("{} / {} ({})", field_text(r, "config_name", "?"), field_text(r, "task", "?"),
                                          field_text(r, "backend", "?"));
    if (group != current) {
      current = group;
      out += fmt::format("\n### {}\n\n", group);
      out += "| method | point | status | median ms | stdrel | n | floor fraction | rel error | max abs err | "
             "ratio | stored bytes | note |\n";
      out += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    }
    const std::string status = field_text(r, "status", "?");
    std::string note;
    const char* why = status == "skipped" ? "reason" : (status == "failed" ? "error" : nullptr);
    if (why && r.contains(why) && r[why].is_string()) note = r[why].get<std::string>();
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                       md_escape(field_text(r, "method_label", "")), md_escape(field_text(r, "point_id", "")),
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
// Written to a temporary file and renamed over the target: never a half-written report, and the temporary
// is removed on every error path. Errors carry the OS's reason.
void write_text(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create '{}': {}", path.parent_path().string(), ec.message()));
  const auto tmp = path.string() + ".tmp";
  auto fail = [&](const std::string& why) {
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error(fmt::format("cannot write '{}': {}", path.string(), why));
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  const std::string why = written ? "" : std::strerror(errno);
  if (std::fclose(f) != 0 && written) fail(std::strerror(errno));
  if (!written) fail(why);
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail(ec.message());
}
}  // namespace

void write_csv_report(const std::filesystem::path& jsonl, const std::filesystem::path& csv) {
  write_text(csv, csv_from_records(read_jsonl(jsonl)));
}

void write_markdown_report(const std::filesystem::path& jsonl, const std::filesystem::path& md) {
  write_text(md, "# lrbench results: " + jsonl.filename().string() + "\n" + markdown_from_records(read_jsonl(jsonl)));
}

void write_reports(const std::vector<Json>& records, const std::string& title, const std::filesystem::path& csv,
                   const std::filesystem::path& md) {
  // Both texts are formed before either file is written: a record that cannot be reported leaves no file.
  const std::string csv_text = csv_from_records(records);
  const std::string md_text = "# lrbench results: " + title + "\n" + markdown_from_records(records);
  write_text(csv, csv_text);
  write_text(md, md_text);
}

void write_run_reports(const std::filesystem::path& jsonl, const std::filesystem::path& csv,
                       const std::filesystem::path& md) {
  if (!std::filesystem::exists(jsonl)) return;
  write_reports(read_jsonl(jsonl), jsonl.filename().string(), csv, md);
}

}  // namespace lrb
