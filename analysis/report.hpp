#pragma once
// Turns JSONL records into a flat CSV (one row per record, dotted column names) and a markdown table.
#include <filesystem>
#include <string>
#include <vector>

#include "harness/json.hpp"

namespace lrb {

// Flattens nested objects into "a.b.c" columns; arrays become JSON text; raw samples are left out.
std::vector<std::pair<std::string, Json>> flatten_record(const Json& record);

// A record's top-level field as text: `fallback` where it is missing or null; a field of another type than
// the expected string is shown as its JSON (a wrong type once stopped the report part way).
std::string field_text(const Json& record, const char* key, const std::string& fallback);
// Text safe inside a markdown table cell ('|' escaped, newlines as spaces).
std::string md_escape(const std::string& s);

std::string csv_from_records(const std::vector<Json>& records);
std::string markdown_from_records(const std::vector<Json>& records);

void write_csv_report(const std::filesystem::path& jsonl, const std::filesystem::path& csv);
void write_markdown_report(const std::filesystem::path& jsonl, const std::filesystem::path& md);
// CSV and markdown of `records`, all or nothing: both texts are formed (every record formatted) before
// either file is written.
void write_reports(const std::vector<Json>& records, const std::string& title, const std::filesystem::path& csv,
                   const std::filesystem::path& md);
// Both, beside a run's JSONL (nothing when the run wrote no record).
void write_run_reports(const std::filesystem::path& jsonl, const std::filesystem::path& csv,
                       const std::filesystem::path& md);

}  // namespace lrb
