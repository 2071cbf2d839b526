#include "spec/hooks_file.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "common/file_io.h"
#include "spec/quote.h"

namespace migctl::spec {
namespace {

constexpr std::array<const char*, kHookPoints.size()> kHookPointNames = {"apply-start", "pre-apply-mode",
                                                                         "pre-apply-config", "apply-exit"};

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {static_cast<unsigned>(mark.line + 1), static_cast<unsigned>(mark.column + 1)};
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view path) { file_.path = std::string(path); }

  Result<HooksFile> Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return MakeError(ErrorCode::kInvalidInput, fmt::format("{}:{}:{}: not valid YAML: {}", file_.path,
                                                             e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    if (root.IsNull()) return std::move(file_);
    if (!root.IsMap()) return Fail(root, "a hooks file is a mapping with 'version' and 'hooks'");
    std::optional<YAML::Node> version, hooks;
    for (const auto& entry : root) {
      MIGCTL_ASSIGN_OR_RETURN(std::string key, KeyOf(entry.first));
      if (EqualsIgnoringCase(key, "version")) {
        version = entry.second;
      } else if (EqualsIgnoringCase(key, "hooks")) {
        hooks = entry.second;
      } else {
        Warn(entry.first,
             fmt::format("unknown key {} ignored (a hooks file has 'version' and 'hooks')", Quote(key)));
      }
    }
    if (!version) {
      Warn(root, "no 'version': v1 assumed (write 'version: v1')");
    } else {
      MIGCTL_ASSIGN_OR_RETURN(std::string v, StringOf(*version, "'version'"));
      if (v != "v1")
        return Fail(*version,
                    fmt::format("unknown hooks file version {}: migctl reads version v1", Quote(v)));
    }
    if (hooks) MIGCTL_RETURN_IF_ERROR(ParseHooks(*hooks));
    return std::move(file_);
  }

 private:
  Error Fail(const YAML::Node& at, const std::string& message) const {
    SourcePos pos = PosOf(at);
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}:{}:{}: {}", file_.path, pos.line, pos.column, message));
  }

  void Warn(const YAML::Node& at, const std::string& message) {
    SourcePos pos = PosOf(at);
    file_.warnings.push_back(fmt::format("{}:{}:{}: {}", file_.path, pos.line, pos.column, message));
  }

  Result<std::string> KeyOf(const YAML::Node& key) const {
    if (!key.IsScalar()) return Fail(key, "a key must be a plain string");
    return key.Scalar();
  }

  /// A scalar as written (Go's decoding turns `1` or `true` into a string where one is expected); null is "".
  Result<std::string> StringOf(const YAML::Node& node, std::string_view what) const {
    if (node.IsNull()) return std::string();
    if (!node.IsScalar()) return Fail(node, fmt::format("{} must be a string", what));
    return node.Scalar();
  }

  Status ParseHooks(const YAML::Node& hooks) {
    if (hooks.IsNull()) return Ok();
    if (!hooks.IsMap())
      return Fail(hooks,
                  "'hooks' must be a mapping from hook names (apply-start, pre-apply-mode, "
                  "pre-apply-config, apply-exit) to lists of commands");
    std::array<std::optional<SourcePos>, kHookPoints.size()> seen;
    for (const auto& entry : hooks) {
      MIGCTL_ASSIGN_OR_RETURN(std::string name, KeyOf(entry.first));
      std::optional<size_t> point;
      for (size_t i = 0; i < kHookPointNames.size(); ++i)
        if (name == kHookPointNames[i]) point = i;
      MIGCTL_ASSIGN_OR_RETURN(std::vector<HookCommand> commands, ParseCommands(name, entry.second));
      if (!point) {
        std::string hint;
        for (const char* known : kHookPointNames)
          if (EqualsIgnoringCase(name, known)) hint = fmt::format(" (did you mean '{}'?)", known);
        Warn(entry.first,
             fmt::format("unknown hook {} is never run{} (mig-parted ignores it silently; known hooks: "
                         "apply-start, pre-apply-mode, pre-apply-config, apply-exit)",
                         Quote(name), hint));
        continue;
      }
      if (seen[*point])
        return Fail(entry.first, fmt::format("hook {} is defined twice (first at line {})", Quote(name),
                                             seen[*point]->line));
      seen[*point] = PosOf(entry.first);
      file_.hooks[*point] = std::move(commands);
    }
    return Ok();
  }

  Result<std::vector<HookCommand>> ParseCommands(const std::string& name, const YAML::Node& list) {
    std::vector<HookCommand> commands;
    if (list.IsNull()) return commands;
    if (!list.IsSequence())
      return Fail(list, fmt::format("hook {} must be a list of commands ('- command: ...')", Quote(name)));
    for (const YAML::Node& item : list) {
      MIGCTL_ASSIGN_OR_RETURN(HookCommand command, ParseCommand(name, item));
      commands.push_back(std::move(command));
    }
    return commands;
  }

  Result<HookCommand> ParseCommand(const std::string& name, const YAML::Node& item) {
    if (!item.IsMap())
      return Fail(item, fmt::format("each command of hook {} is a mapping with 'command' and optionally "
                                    "'args', 'envs', 'workdir'",
                                    Quote(name)));
    HookCommand out;
    out.pos = PosOf(item);
    bool has_command = false;
    for (const auto& field : item) {
      MIGCTL_ASSIGN_OR_RETURN(std::string key, KeyOf(field.first));
      const YAML::Node& value = field.second;
      if (EqualsIgnoringCase(key, "command")) {
        MIGCTL_ASSIGN_OR_RETURN(out.command, StringOf(value, "'command'"));
        has_command = true;
        if (out.command.empty()) return Fail(value, "'command' is empty: name the program to run");
      } else if (EqualsIgnoringCase(key, "workdir")) {
        MIGCTL_ASSIGN_OR_RETURN(out.workdir, StringOf(value, "'workdir'"));
      } else if (EqualsIgnoringCase(key, "args")) {
        MIGCTL_ASSIGN_OR_RETURN(out.args, ParseArgs(value));
      } else if (EqualsIgnoringCase(key, "envs")) {
        MIGCTL_ASSIGN_OR_RETURN(out.envs, ParseEnvs(value));
      } else {
        Warn(field.first,
             fmt::format("unknown key {} ignored, as mig-parted does (a command has command, args, envs, "
                         "workdir)",
                         Quote(key)));
      }
    }
    if (!has_command)
      return Fail(item,
                  fmt::format("a command of hook {} has no 'command': name the program to run", Quote(name)));
    return out;
  }

  Result<std::vector<std::string>> ParseArgs(const YAML::Node& value) const {
    std::vector<std::string> args;
    if (value.IsNull()) return args;
    if (!value.IsSequence()) return Fail(value, "'args' must be a list of strings, e.g. [-c, 'echo hi']");
    for (const YAML::Node& arg : value) {
      MIGCTL_ASSIGN_OR_RETURN(std::string text, StringOf(arg, "each of 'args'"));
      args.push_back(std::move(text));
    }
    return args;
  }

  Result<std::map<std::string, std::string>> ParseEnvs(const YAML::Node& value) const {
    std::map<std::string, std::string> envs;
    if (value.IsNull()) return envs;
    if (!value.IsMap())
      return Fail(value,
                  "'envs' must be a mapping NAME: value, e.g. {FOO: bar} (mig-parted's format; not a "
                  "list of NAME=value)");
    for (const auto& env : value) {
      MIGCTL_ASSIGN_OR_RETURN(std::string env_name, KeyOf(env.first));
      if (env_name.empty() || env_name.find('=') != std::string::npos)
        return Fail(env.first,
                    fmt::format("environment variable name {} is empty or contains '='", Quote(env_name)));
      MIGCTL_ASSIGN_OR_RETURN(std::string text,
                              StringOf(env.second, fmt::format("the value of {}", Quote(env_name))));
      envs[env_name] = std::move(text);
    }
    return envs;
  }

  HooksFile file_;
};

}  // namespace

const char* HookPointName(HookPoint point) { return kHookPointNames[static_cast<size_t>(point)]; }

Result<HooksFile> ParseHooksFile(std::string_view text, std::string_view path) {
  return Parser(path).Parse(text);
}

Result<HooksFile> LoadHooksFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.error().WithContext("hooks file: ");
  return ParseHooksFile(*text, path);
}

}  // namespace migctl::spec
