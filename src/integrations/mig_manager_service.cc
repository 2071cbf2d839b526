#include "integrations/mig_manager_service.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include "common/file_io.h"
#include "common/trim.h"

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;
using Environment = std::vector<std::pair<std::string, std::string>>;

/// Where systemd looks for units and their drop-ins, the first winning.
constexpr const char* kUnitDirs[] = {"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system",
                                     "/lib/systemd/system"};

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool IsVariableName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

char Unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'v':
      return '\v';
    default:
      return c;  // `\\`, `\"`, `\'`, `\ ` and the rest stand for themselves
  }
}

std::string Read(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() ? *text : "";
}

}  // namespace

Environment ParseEnvironmentSetting(std::string_view value) {
  Environment out;
  size_t i = 0;
  while (true) {
    while (i < value.size() && IsBlank(value[i])) ++i;
    if (i >= value.size()) break;
    std::string word;
    char quote = 0;
    for (; i < value.size(); ++i) {
      const char c = value[i];
      if (c == '\\' && i + 1 < value.size()) {
        word += Unescape(value[++i]);
      } else if (quote != 0) {
        if (c == quote)
          quote = 0;
        else
          word += c;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (IsBlank(c)) {
        break;
      } else {
        word += c;
      }
    }
    const size_t eq = word.find('=');
    if (eq != std::string::npos && IsVariableName(std::string_view(word).substr(0, eq)))
      out.emplace_back(word.substr(0, eq), word.substr(eq + 1));
  }
  return out;
}

void ApplyServiceEnvironment(std::string_view unit_text, Environment& env) {
  std::istringstream in{std::string(unit_text)};
  bool in_service = false;
  std::string line;
  for (std::string part; std::getline(in, part);) {
    std::string_view piece = Trim(part, " \t\r\n");
    if (line.empty() && (piece.starts_with('#') || piece.starts_with(';'))) continue;
    if (piece.ends_with('\\')) {  // continued: the backslash becomes a blank
      line += std::string(piece.substr(0, piece.size() - 1)) + " ";
      continue;
    }
    line += piece;
    std::string_view whole = Trim(line, " \t\r\n");
    if (whole.starts_with('[')) {
      in_service = whole == "[Service]";
    } else if (in_service && whole.starts_with("Environment")) {
      std::string_view rest = Trim(whole.substr(std::string_view("Environment").size()), " \t\r\n");
      if (rest.starts_with('=')) {
        std::string_view value = Trim(rest.substr(1), " \t\r\n");
        if (value.empty()) env.clear();
        for (auto& [name, v] : ParseEnvironmentSetting(value)) {
          std::erase_if(env, [&](const auto& kv) { return kv.first == name; });
          env.emplace_back(name, v);
        }
      }
    }
    line.clear();
  }
}

MigManagerService ReadMigManagerService(const std::string& root_dir) {
  std::string root = root_dir;
  while (!root.empty() && root.back() == '/') root.pop_back();
  MigManagerService s;
  std::error_code ec;
  for (const char* dir : kUnitDirs) {
    const std::string path = std::string(dir) + "/" + kMigManagerUnit;
    if (fs::is_symlink(fs::symlink_status(root + path, ec)) &&
        fs::read_symlink(root + path, ec) == "/dev/null")
      s.masked = true;  // `systemctl mask`: whatever lies below never runs
    if (fs::is_regular_file(root + path, ec)) {
      s.installed = true;
      s.unit_path = path;
      break;
    }
  }

  Environment env;
  if (s.installed) {
    s.sources.push_back(s.unit_path);
    ApplyServiceEnvironment(Read(root + s.unit_path), env);
  }
  std::map<std::string, std::string> dropins;  // file name -> the first directory's path; sorted by name
  for (const char* dir : kUnitDirs) {
    const std::string d = std::string(dir) + "/" + kMigManagerUnit + ".d";
    for (const fs::directory_entry& e : fs::directory_iterator(root + d, ec)) {
      const std::string name = e.path().filename().string();
      if (name.ends_with(".conf") && e.is_regular_file(ec)) dropins.emplace(name, d + "/" + name);
    }
  }
  for (const auto& [name, path] : dropins) {
    s.sources.push_back(path);
    ApplyServiceEnvironment(Read(root + path), env);
  }
  s.config_file = kMigManagerDefaultConfig;
  for (const auto& [name, value] : env) {
    if (name == "MIG_PARTED_CONFIG_FILE" && !value.empty()) s.config_file = value;
    if (name == "MIG_PARTED_SELECTED_CONFIG") s.label = value;
    if (name == "MIG_PARTED_HOOKS_FILE") s.hooks_file = value;
  }

  const std::string etc = "/etc/systemd/system";
  std::vector<std::string> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator(root + etc, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".wants") || name.ends_with(".requires")) dirs.push_back(name);
  }
  std::sort(dirs.begin(), dirs.end());
  for (const std::string& dir : dirs) {
    const std::string link = etc + "/" + dir + "/" + kMigManagerUnit;
    fs::file_status st = fs::symlink_status(root + link, ec);
    if (ec || !fs::exists(st)) continue;
    std::string target = fs::is_symlink(st) ? fs::read_symlink(root + link, ec).string() : "";
    if (target.empty()) target = s.unit_path;
    s.links.push_back({link, target});
  }
  return s;
}

}  // namespace migctl::integrations
