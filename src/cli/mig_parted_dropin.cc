#include "cli/mig_parted_dropin.h"

#include <algorithm>

namespace migctl {
namespace {

constexpr const char* kUsage =
    "nvidia-mig-parted (migctl): apply, assert, export and checkpoint take mig-parted's flags and "
    "environment\n"
    "  nvidia-mig-parted [-d] apply -f CONFIG -c LABEL [-k HOOKS] [-m] [-s]\n"
    "  nvidia-mig-parted [-d] assert -f CONFIG -c LABEL [-m] [-a]\n"
    "  nvidia-mig-parted export [-o yaml|json] [-l LABEL]\n"
    "  nvidia-mig-parted checkpoint -f FILE\n"
    "Every other migctl command is under `migctl`; see migctl --help.\n";

/// Go's strconv.ParseBool, as mig-parted's flags read their variables.
bool Truthy(const std::optional<std::string>& value) {
  if (!value) return false;
  for (const char* yes : {"1", "t", "T", "true", "TRUE", "True"})
    if (*value == yes) return true;
  return false;
}

bool Has(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return a == n; });
  });
}

}  // namespace

std::optional<MigPartedCall> MigPartedInvocation(
    const std::vector<std::string>& argv, const std::function<std::optional<std::string>(const char*)>& env) {
  if (argv.empty()) return std::nullopt;
  const std::string& program = argv[0];
  const std::string name =
      program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  size_t first = 0;
  if (name == "nvidia-mig-parted")
    first = 1;
  else if (argv.size() > 1 && argv[1] == "mig-parted")
    first = 2;
  else
    return std::nullopt;

  std::vector<std::string> rest(argv.begin() + static_cast<long>(first), argv.end());
  // mig-parted's global flags come before the command: -d/--debug only (migctl prints its steps anyway).
  while (!rest.empty() && (rest.front() == "-d" || rest.front() == "--debug")) rest.erase(rest.begin());
  MigPartedCall call;
  if (rest.empty() || rest.front() == "help" || rest.front() == "-h" || rest.front() == "--help") {
    call.print = kUsage;
    return call;
  }
  const std::string command = rest.front();
  if (command == "version" || command == "--version" || command == "-v") {
    call.print = "nvidia-mig-parted (migctl 0.1.0)\n";
    return call;
  }
  if (command != "apply" && command != "assert" && command != "export" && command != "checkpoint") {
    call.error = "nvidia-mig-parted (migctl) has no command '" + command +
                 "': it takes apply, assert, export and checkpoint (migctl --help for the rest)";
    return call;
  }
  call.args = rest;
  call.apply = command == "apply";
  if ((command == "apply" || command == "assert") && !Has(rest, {"-m", "--mode-only"}) &&
      Truthy(env("MIG_PARTED_MODE_CHANGE_ONLY")))
    call.args.push_back("--mode-only");
  if (command == "assert" && !Has(rest, {"-a", "--valid-config"}) && Truthy(env("MIG_PARTED_VALID_CONFIG")))
    call.args.push_back("--valid-config");
  return call;
}

int MigPartedExitCode(int migctl_code) { return migctl_code == 0 ? 0 : 1; }

}  // namespace migctl
