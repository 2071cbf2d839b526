// Plain-text tables for human output: left-aligned columns sized to their widest cell.
#pragma once

#include <string>
#include <vector>

namespace migctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  /// Renders with two spaces between columns and a trailing newline per row; `indent` prefixes every line.
  std::string Render(const std::string& indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace migctl
