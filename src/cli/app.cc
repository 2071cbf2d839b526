#include "cli/app.h"

#include <cstdlib>
#include <exception>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/mig_parted_dropin.h"

namespace migctl {
namespace {

constexpr const char* kDescription =
    "migctl: see, partition and simulate NVIDIA MIG GPUs.\n"
    "Try it without a GPU:  migctl sim init ./dgx.json a100-80gb:8 && migctl --sim ./dgx.json status";

/// The first word that is not an option (or an option's value): the command the user meant.
std::string FirstCommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--sim" || a == "--nvml") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] != '-') return a;
  }
  return "";
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--json") return true;
  return false;
}

/// Runs the chosen command. An exception escaping it (a bug, or memory exhausted) becomes a kInternal error,
/// so it still ends in one line and exit 1, not in an abort.
Result<int> RunAction(const Context& ctx) {
  try {
    return ctx.action();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("internal error: {}; this is a bug in migctl, please report it", e.what()));
  }
}

const char* EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

namespace {

int RunMigctl(int argc, char** argv) {
  Context ctx;
  CLI::App app{kDescription, "migctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand
  ctx.options.sim = EnvOr("MIGCTL_SIM", "");
  ctx.options.nvml = EnvOr("MIGCTL_NVML", "");
  app.add_option("--sim", ctx.options.sim, "Use the simulated machine in this state file (env MIGCTL_SIM)")
      ->option_text("STATE");
  app.add_option("--nvml", ctx.options.nvml,
                 "Load this NVML library instead of libnvidia-ml.so.1 (env MIGCTL_NVML)")
      ->option_text("PATH");
  app.add_flag("--json", ctx.options.json, "Print one JSON document (a stable interface for scripts)");
  app.set_version_flag("--version", "migctl 0.1.0");

  AddStatusCommand(app, ctx);
  AddProfilesCommand(app, ctx);
  AddLayoutsCommand(app, ctx);
  AddCheckCommand(app, ctx);
  AddModeCommand(app, ctx);
  AddResetCommand(app, ctx);
  AddCreateCommand(app, ctx);
  AddDestroyCommand(app, ctx);
  AddApplyCommand(app, ctx);
  AddAssertCommand(app, ctx);
  AddExportCommand(app, ctx);
  AddCheckpointCommand(app, ctx);
  AddRestoreCommand(app, ctx);
  AddPlanCommand(app, ctx);
  AddReshapeCommand(app, ctx);
  AddRunCommand(app, ctx);
  AddExecCommand(app, ctx);
  AddSlurmCommand(app, ctx);
  AddExporterCommand(app, ctx);
  AddK8sCommand(app, ctx);
  AddMpsCommand(app, ctx);
  AddServiceCommand(app, ctx);
  AddSimCommand(app, ctx);

  if (std::string word = FirstCommandWord(argc, argv);
      !word.empty() && app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == word; }).empty())
    return ReportError(MakeError(ErrorCode::kInvalidInput,
                                 fmt::format("unknown command '{}': run 'migctl --help' for the list", word)),
                       WantsJson(argc, argv), kExitUsage);
  // Everything after `--` is a command to run, never options (CLI11 would still parse `--x` there).
  int parsed_argc = argc;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") {
      parsed_argc = i;
      ctx.trailing.assign(argv + i + 1, argv + argc);
      break;
    }
  try {
    app.parse(parsed_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return ReportError(
        MakeError(ErrorCode::kInvalidInput,
                  fmt::format("{} (run 'migctl --help' or 'migctl COMMAND --help')", e.what())),
        WantsJson(argc, argv), kExitUsage);
  }
  if (!ctx.action) return kExitUsage;
  if (!ctx.trailing.empty() && !app.got_subcommand("run") && !app.got_subcommand("exec"))
    return ReportError(MakeError(ErrorCode::kInvalidInput,
                                 fmt::format("unexpected '-- {}': only 'migctl run' and 'migctl exec' take a command after --",
                                             ctx.trailing.front())),
                       ctx.options.json, kExitUsage);
  Result<int> result = RunAction(ctx);
  if (result.ok()) return *result;
  const Error& error = result.error();
  return ReportError(error, ctx.options.json, IsUserError(error) ? kExitUsage : kExitFailed);
}

}  // namespace

int RunCli(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const std::optional<MigPartedCall> call = MigPartedInvocation(args, [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
  });
  if (!call) return RunMigctl(argc, argv);
  if (!call->print.empty()) {
    std::fputs(call->print.c_str(), stdout);
    return 0;
  }
  if (!call->error.empty()) {
    (void)ReportError(MakeError(ErrorCode::kInvalidInput, call->error), false, kExitUsage);
    return MigPartedExitCode(kExitUsage);
  }
  std::vector<std::string> full = {"migctl"};
  full.insert(full.end(), call->args.begin(), call->args.end());
  std::vector<char*> raw;
  for (std::string& a : full) raw.push_back(a.data());
  raw.push_back(nullptr);
  const int code = RunMigctl(static_cast<int>(full.size()), raw.data());
  if (code == 0 && call->apply) std::puts("MIG configuration applied successfully");
  return MigPartedExitCode(code);
}

}  // namespace migctl
