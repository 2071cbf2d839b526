// `migctl exporter`: the host's GPUs as Prometheus metrics (metrics/host_metrics.h): served on /metrics,
// written for node_exporter's textfile collector, or printed once.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/option_checks.h"
#include "cli/slurm_node.h"
#include "common/file_io.h"
#include "common/stop_signals.h"
#include "common/trusted_path.h"
#include "launch/lease.h"
#include "metrics/collect.h"
#include "metrics/exposition.h"
#include "metrics/host_metrics.h"
#include "reconcile/change_counters.h"
#ifdef MIGCTL_WITH_HTTP
#include "metrics/http_server.h"
#endif

namespace migctl {
namespace {

struct ExporterArgs {
  std::string listen;    ///< HOST:PORT; empty: 127.0.0.1:9400 unless only --textfile or --once is given.
  std::string textfile;  ///< A directory; migctl.prom is written there every interval.
  double interval_s = 5;
  bool once = false;
};

constexpr const char* kDefaultListen = "127.0.0.1:9400";
constexpr const char* kTextfileName = "migctl.prom";

/// `HOST:PORT`, `:PORT` (every address) or `[V6]:PORT`.
Result<std::pair<std::string, int>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("--listen {}: give HOST:PORT, e.g. 127.0.0.1:9400 (this host only) or :9400 "
                                 "(every address)",
                                 text));
  };
  if (colon == std::string::npos) return bad();
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  const int port = std::stoi(port_text);
  if (port < 1 || port > 65535) return bad();
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  return std::pair(host, port);
}

Json FamiliesJson(const std::vector<metrics::Family>& families) {
  Json out = Json::array();
  for (const metrics::Family& f : families) {
    Json samples = Json::array();
    for (const auto& [labels, value] : f.samples) {
      Json l = Json::object();
      for (const auto& [k, v] : labels) l[k] = v;
      samples.push_back({{"labels", l}, {"value", value}});
    }
    out.push_back({{"name", f.name},
                   {"help", f.help},
                   {"type", f.type == metrics::MetricType::kCounter ? "counter" : "gauge"},
                   {"samples", samples}});
  }
  return out;
}

/// One look at the GPUs, kept for `interval_s`: scrapes that come sooner get the same text, so many
/// scrapers cost NVML no more than one. Thread-safe.
class Renderer {
 public:
  Renderer(const nvml::Nvml& nvml, std::unique_ptr<LeaseTable> leases, std::string run_dir, double interval_s)
      : nvml_(nvml),
        leases_(std::move(leases)),
        run_dir_(std::move(run_dir)),
        interval_(interval_s),
        hostname_(ShortHostname()) {}

  /// One look. GPM metrics cover the time since the previous look; the first look has none (RunExporter
  /// takes it before serving).
  Result<std::vector<metrics::Family>> Families() {
    MIGCTL_ASSIGN_OR_RETURN(metrics::HostSample sample,
                            metrics::Collect(nvml_, leases_.get(), hostname_, &gpm_));
    if (Result<ChangeCounters> changes = ReadChangeCounters(run_dir_); changes.ok())
      sample.changes = *changes;
    return metrics::HostFamilies(sample);
  }

  Result<std::string> Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!text_.empty() && now - at_ < interval_) return text_;
    MIGCTL_ASSIGN_OR_RETURN(std::vector<metrics::Family> families, Families());
    if (std::vector<std::string> twice = metrics::DuplicateSeries(families); !twice.empty())
      return MakeError(ErrorCode::kInternal, fmt::format("a series twice: {}", twice.front()));
    text_ = metrics::Render(families);
    at_ = now;
    return text_;
  }

 private:
  const nvml::Nvml& nvml_;
  std::unique_ptr<LeaseTable> leases_;
  std::string run_dir_;  ///< Where GPU changes are counted (reconcile/change_counters.h).
  std::chrono::duration<double> interval_;
  std::string hostname_;
  metrics::GpmState gpm_;
  std::mutex mutex_;
  std::string text_;
  std::chrono::steady_clock::time_point at_;
};

Status WriteTextfile(const std::string& dir, Renderer& renderer) {
  MIGCTL_ASSIGN_OR_RETURN(std::string text, renderer.Text());
  return WriteFileAtomically(dir + "/" + kTextfileName, text, 0644);
}

Result<int> RunExporter(Context& ctx, const ExporterArgs& args) {
  const bool serve = !args.listen.empty() || (args.textfile.empty() && !args.once);
  if (args.once && (serve && !args.listen.empty()))
    return MakeError(ErrorCode::kInvalidInput,
                     "--once prints the metrics and exits: it does not go with --listen");
  std::pair<std::string, int> listen;
  if (serve && !args.once) {
    MIGCTL_ASSIGN_OR_RETURN(listen, ParseListen(args.listen.empty() ? kDefaultListen : args.listen));
  }
  if (!args.textfile.empty()) {
    if (::geteuid() == 0)  // root writes there every few seconds: nobody else may swap the directory
      MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(args.textfile, "--textfile"));
  }
  MIGCTL_ASSIGN_OR_RETURN(nvml::Nvml * nvml, ctx.OpenNvml());
  auto leases = std::make_unique<LeaseTable>(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
  Renderer renderer(*nvml, std::move(leases), ctx.RunDir(), args.once ? 0 : args.interval_s);

  // GPM measures between two looks: one now, 0.1 s before the first that is shown, so that no scrape,
  // file or --once output lacks GPM ratios. An NVML failure is reported here, before anything is served.
  if (Result<std::vector<metrics::Family>> first = renderer.Families(); !first.ok()) return first.error();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  if (args.once) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<metrics::Family> families, renderer.Families());
    if (!args.textfile.empty()) MIGCTL_RETURN_IF_ERROR(WriteTextfile(args.textfile, renderer));
    if (ctx.options.json) {
      ctx.PrintJson({{"families", FamiliesJson(families)}});
    } else if (args.textfile.empty()) {
      std::fputs(metrics::Render(families).c_str(), stdout);
    }
    return kExitOk;
  }

  StopSignals stop;
  MIGCTL_RETURN_IF_ERROR(stop.Install());
#ifdef MIGCTL_WITH_HTTP
  std::unique_ptr<metrics::MetricsServer> server;
  if (serve) {
    MIGCTL_ASSIGN_OR_RETURN(server, metrics::MetricsServer::Start(listen.first, listen.second,
                                                                  [&renderer] { return renderer.Text(); }));
    PrintNote(fmt::format("exporter: serving http://{}:{}/metrics", listen.first, server->port()));
  }
#else
  if (serve)
    return MakeError(
        ErrorCode::kUnsupported,
        "this migctl was built without the HTTP server (MIGCTL_WITH_HTTP=OFF): use --textfile DIR or "
        "--once");
#endif
  if (!args.textfile.empty())
    PrintNote(
        fmt::format("exporter: writing {}/{} every {} s", args.textfile, kTextfileName, args.interval_s));
  while (stop.signal() == 0) {
    if (!args.textfile.empty()) {
      if (Status written = WriteTextfile(args.textfile, renderer); !written.ok())
        PrintNote(fmt::format("exporter: {}", written.error().message));
    }
    pollfd wake{stop.read_fd(), POLLIN, 0};
    ::poll(&wake, 1, static_cast<int>(args.interval_s * 1000));
  }
#ifdef MIGCTL_WITH_HTTP
  if (server) server->Stop();
#endif
  return 128 + stop.signal();
}

}  // namespace

void AddExporterCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ExporterArgs>();
  CLI::App* cmd =
      app.add_subcommand("exporter", "Serve the GPUs, MIG devices and free room as Prometheus metrics");
  cmd->footer(
      R"(Serves GET /metrics in Prometheus's text format (--listen, default 127.0.0.1:9400: this host only;
give :9400 to let a Prometheus elsewhere scrape it), writes DIR/migctl.prom atomically for node_exporter's
textfile collector (--textfile DIR), or prints the metrics once (--once; --json for a JSON document).

Per GPU: memory, MIG mode, processes (MIG off). Per MIG device: memory, processes, and whether a migctl task or
worker holds its lease. Per GPU and profile: migctl_gpu_profile_free, how many more instances of it fit now
given the placements of those that exist. The layout: migctl_gpu_instance_info (profile, placement, MIG UUID).
Labels join with dcgm-exporter's: gpu, UUID (the parent GPU's), GPU_I_PROFILE, GPU_I_ID, hostname; plus
GPU_I_PROFILE_ID and mig_uuid. Every scrape is one fresh look (at most one per --interval, however many
scrapers), so an instance that is gone has no series left. SIGINT or SIGTERM stop it.

Examples:
  migctl exporter
  migctl exporter --listen :9400 --interval 10
  migctl exporter --textfile /var/lib/prometheus/node-exporter --interval 30
  migctl exporter --once | grep migctl_gpu_profile_free)");
  cmd->add_option("--listen", args->listen, "Serve /metrics on HOST:PORT (default 127.0.0.1:9400)");
  cmd->add_option("--textfile", args->textfile,
                  "Write DIR/migctl.prom every interval (node_exporter's textfile "
                  "collector)");
  cmd->add_option("--interval", args->interval_s,
                  "Look at the GPUs at most once per SECONDS; the textfile is written as often (default 5)")
      ->check(Seconds(0.1, 86400));
  cmd->add_flag("--once", args->once,
                "Print the metrics once and exit (with --textfile: write the file once)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunExporter(ctx, *args); }; });
}

}  // namespace migctl
