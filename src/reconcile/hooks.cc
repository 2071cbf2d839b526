#include "reconcile/hooks.h"

#include <unistd.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/trusted_path.h"
#include "spec/quote.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;

std::string Seconds(milliseconds d) { return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000); }

std::string CommandLine(const spec::HookCommand& command) {
  std::string line = command.command;
  for (const std::string& arg : command.args) line += " " + arg;
  return line;
}

std::string PathOf(const std::vector<std::string>& env) {
  for (const std::string& e : env)
    if (e.starts_with("PATH=")) return e.substr(5);
  return "";
}

}  // namespace

std::map<std::string, std::string> ApplyHookVariables(const ApplyHookSettings& s) {
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  return {
      {"MIG_PARTED_CONFIG_FILE", s.config_file},
      {"MIG_PARTED_SELECTED_CONFIG", s.selected_config},
      {"MIG_PARTED_HOOKS_FILE", s.hooks_file},
      {"MIG_PARTED_SKIP_RESET", flag(s.skip_reset)},
      {"MIG_PARTED_MODE_CHANGE_ONLY", flag(s.mode_only)},
      {"MIGCTL_CONFIG_FILE", s.config_file},
      {"MIGCTL_SELECTED_CONFIG", s.selected_config},
      {"MIGCTL_HOOKS_FILE", s.hooks_file},
      {"MIGCTL_SKIP_RESET", flag(s.skip_reset)},
      {"MIGCTL_MODE_ONLY", flag(s.mode_only)},
  };
}

HookRunner::HookRunner(const spec::HooksFile& file, std::map<std::string, std::string> variables,
                       ProcessHost& host, HookRunOptions options)
    : file_(file), variables_(std::move(variables)), host_(host), options_(std::move(options)) {
  if (options_.path.empty()) options_.path = OwnPath();
}

std::vector<std::string> HookRunner::Environment(const spec::HookCommand& command,
                                                 spec::HookPoint point) const {
  std::map<std::string, std::string> env = {{"PATH", options_.path}};
  for (const auto& [name, value] : command.envs) env[name] = value;
  for (const auto& [name, value] : variables_) env[name] = value;
  env["MIGCTL_HOOK"] = spec::HookPointName(point);
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

Status HookRunner::CheckFiles() const {
  MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(file_.path, "hooks file"));
  for (const spec::HookPoint point : spec::kHookPoints) {
    for (const spec::HookCommand& command : file_.at(point)) {
      const std::string what = fmt::format("hook {} ({}:{}:{})", spec::HookPointName(point), file_.path,
                                           command.pos.line, command.pos.column);
      Result<std::string> program =
          CheckRootCommand(command.command, command.args, PathOf(Environment(command, point)), command.workdir, what);
      if (!program.ok()) return program.error();
    }
  }
  return Ok();
}

Status HookRunner::Run(spec::HookPoint point) const {
  if (options_.only_root_files) MIGCTL_RETURN_IF_ERROR(CheckFiles());
  for (const spec::HookCommand& command : file_.at(point)) {
    ChildOptions child;
    child.argv.push_back(command.command);
    child.argv.insert(child.argv.end(), command.args.begin(), command.args.end());
    child.env = Environment(command, point);
    child.workdir = command.workdir;
    child.stdout_fd = STDERR_FILENO;
    child.own_process_group = false;
    child.die_with_parent = false;
    const std::string where =
        fmt::format("hook {} ({}:{}:{}) {}", spec::HookPointName(point), file_.path, command.pos.line,
                    command.pos.column, spec::Quote(CommandLine(command)));
    Result<ChildExit> exit = RunProcess(host_, child, options_.timeout, options_.grace);
    if (!exit.ok()) return exit.error().WithContext(where + ": ");
    if (exit->timed_out)
      return MakeError(ErrorCode::kIo, fmt::format("{} did not finish within {}: {}", where,
                                                   Seconds(options_.timeout), exit->Describe()));
    if (!exit->success())
      return MakeError(ErrorCode::kIo, fmt::format("{} failed: {}", where, exit->Describe()));
  }
  return Ok();
}

}  // namespace migctl
