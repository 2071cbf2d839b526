// `migctl exporter` scraped by a real Prometheus (Debian's prometheus 2.42) on loopback, over a simulated
// 8-GPU machine: the series follow layout changes and leases, and a removed instance's series go stale.
// One Prometheus for the binary (it takes about 6 s to scrape a new target), started and stopped by PID in
// the case's own directory.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <httplib.h>

#include "e2e_harness.h"

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// The short host name, as the exporter's `hostname` label has it.
std::string Hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  std::string host = name;
  return host.substr(0, host.find('.'));
}

/// A port nothing listens on now (the kernel's pick for port 0, released).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ExporterE2e : public E2e {
 protected:
  void TearDown() override {
    for (Child* c : {prometheus_.get(), exporter_.get()})
      if (c != nullptr) {
        ::kill(c->pid(), SIGTERM);
        c->Wait();
      }
    E2e::TearDown();
  }

  /// The exporter on a free port, answering /metrics.
  void StartExporter() {
    exporter_port_ = FreePort();
    exporter_ = std::make_unique<Child>(StartMigctl(
        {"exporter", "--listen", "127.0.0.1:" + std::to_string(exporter_port_), "--interval", "0.2"}));
    httplib::Client client("127.0.0.1", exporter_port_);
    const auto deadline = steady_clock::now() + std::chrono::seconds(10);
    while (steady_clock::now() < deadline) {
      if (httplib::Result first = client.Get("/metrics")) {
        first_scrape_ = first->body;
        break;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_FALSE(first_scrape_.empty()) << "the exporter does not answer";
  }

  /// Prometheus scraping the exporter every second, until its first scrape is in.
  void StartPrometheus() {
    prom_port_ = FreePort();
    const fs::path config = dir_ / "prometheus.yml";
    std::ofstream(config)
        << "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        << "scrape_configs:\n  - job_name: migctl\n    static_configs: [{targets: ['127.0.0.1:"
        << exporter_port_ << "']}]\n";
    prometheus_ = std::make_unique<Child>(
        Start("/usr/bin/prometheus",
              {"--config.file=" + config.string(), "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
               "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_)}));
    ASSERT_TRUE(Until([&] { return Query("up{job=\"migctl\"} == 1").size() == 1; }, 30)) << "no scrape";
  }

  /// The result vector of an instant query.
  Json Query(const std::string& promql) {
    httplib::Client client("127.0.0.1", prom_port_);
    auto res = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!res || res->status != 200) return Json::array();
    const Json doc = Json::parse(res->body, nullptr, false);
    if (doc.is_discarded() || doc["status"] != "success") return Json::array();
    return doc["data"]["result"];
  }
  /// The value of a query that gives one number; NaN when it gives none.
  double Value(const std::string& promql) {
    const Json r = Query(promql);
    if (r.size() != 1) return std::nan("");
    return std::stod(r[0]["value"][1].get<std::string>());
  }

  template <typename F>
  static bool Until(F done, double seconds) {
    const auto deadline = steady_clock::now() + std::chrono::duration<double>(seconds);
    while (steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(200));
    }
    return done();
  }

  std::unique_ptr<Child> exporter_, prometheus_;
  int exporter_port_ = 0, prom_port_ = 0;
  std::string first_scrape_;  ///< The body of the exporter's first answer.
};

TEST_F(ExporterE2e, PrometheusSeesTheLayoutChangesLeasesAndRemovedInstancesGoStale) {
  InitMigMachine("h100-80gb:8");
  for (int gpu = 0; gpu < 8; ++gpu) MustJson({"create", "-i", std::to_string(gpu), "3g.40gb"});
  StartExporter();
  EXPECT_NE(first_scrape_.find("migctl_gpu_instance_sm_active_ratio{gpu=\"7\""), std::string::npos)
      << "the very first scrape has GPM ratios (the exporter looked once before serving)";
  StartPrometheus();
  EXPECT_EQ(Value("count(migctl_gpu_info)"), 8);
  EXPECT_EQ(Value("count(migctl_mig_device_memory_total_bytes)"), 8);
  EXPECT_EQ(Value("sum(migctl_gpu_profile_free{GPU_I_PROFILE=\"3g.40gb\"})"), 8)
      << "one more 3g.40gb per GPU";
  EXPECT_EQ(Value("migctl_gpu_profile_free{gpu=\"1\",GPU_I_PROFILE=\"7g.80gb\"}"), 0);

  // A new instance appears, with dcgm-exporter's labels and its own.
  MustJson({"create", "-i", "1", "3g.40gb"});
  ASSERT_TRUE(Until([&] { return Value("count(migctl_mig_device_processes{gpu=\"1\"})") == 2; }, 10));
  EXPECT_EQ(Value("migctl_gpu_profile_free{gpu=\"1\",GPU_I_PROFILE=\"3g.40gb\"}"), 0);
  const Json both = Query("migctl_mig_device_memory_total_bytes{gpu=\"1\",GPU_I_PROFILE=\"3g.40gb\"}");
  ASSERT_EQ(both.size(), 2u) << both.dump();
  for (const Json& s : both) {
    EXPECT_TRUE(s["metric"].contains("GPU_I_ID")) << s;
    EXPECT_TRUE(s["metric"].contains("mig_uuid")) << s;
    EXPECT_EQ(s["metric"]["UUID"].get<std::string>().substr(0, 4), "GPU-") << s;
  }

  // Removing GPU 1's instances: their series go stale (an instant query no longer returns them).
  std::set<std::string> gone;
  for (const Json& s : Query("migctl_mig_device_processes{gpu=\"1\"}")) gone.insert(s["metric"]["mig_uuid"]);
  ASSERT_EQ(gone.size(), 2u);
  MustJson({"destroy", "-i", "1", "--all"});
  ASSERT_TRUE(Until([&] { return Query("migctl_mig_device_processes{gpu=\"1\"}").empty(); }, 10));
  for (const std::string& uuid : gone)  // no family keeps a series of theirs
    EXPECT_TRUE(Query("{mig_uuid=\"" + uuid + "\"}").empty()) << uuid;
  EXPECT_EQ(Value("migctl_gpu_profile_free{gpu=\"1\",GPU_I_PROFILE=\"7g.80gb\"}"), 1);
  EXPECT_EQ(Value("count(migctl_mig_device_processes)"), 7);

  // A run's task holds a slice's lease; once the run is killed, the lease is free again.
  Child run = StartMigctl({"run", "-i", "0", "--profile", "3g.40gb", "--workers", "1", "--", "sleep", "60"});
  const std::string leased = "migctl_mig_device_leased{gpu=\"0\",GPU_I_PROFILE=\"3g.40gb\"}";
  ASSERT_TRUE(Until([&] { return Value(leased) == 1; }, 15)) << Query(leased).dump();
  EXPECT_EQ(Value("sum(migctl_mig_device_leased)"), 1);
  ::kill(run.pid(), SIGKILL);
  run.Wait();
  EXPECT_TRUE(Until([&] { return Value(leased) == 0; }, 15)) << Query(leased).dump();
}

TEST_F(ExporterE2e, TheTextIsCleanForPromtoolWithNoSeriesTwice) {
  InitMigMachine("h100-80gb:2,a100-40gb:1");
  MustJson({"create", "-i", "0", "1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"});
  MustJson({"create", "-i", "2", "7g.40gb"});
  Outcome once = RunRaw({"--sim", state_, "exporter", "--once"});
  ASSERT_EQ(once.exit_code, 0) << once;
  const fs::path text = dir_ / "metrics.txt";
  std::ofstream(text) << once.out;
  Outcome check = Start("/bin/sh", {"-c", "promtool check metrics < " + text.string()}).Wait();
  EXPECT_EQ(check.exit_code, 0) << check;
  std::set<std::string> series;
  for (const std::string& line : Lines(once.out)) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second) << "twice: " << line;
  }
  EXPECT_GT(series.size(), 20u);
  // GPM (the simulator keeps half a GPU instance's SMs busy per process on it): --once looks twice.
  const Json gi = Status()["gpus"][0]["instances"][0];
  Outcome attach =
      RunRaw({"--sim", state_, "sim", "attach", "-i", "0", "--gi", std::to_string(gi["gi"].get<int>()),
              "--ci", "0", "--pid", "4242", "--memory", "100"});
  ASSERT_EQ(attach.exit_code, 0) << attach;
  const std::string busy = RunRaw({"--sim", state_, "exporter", "--once"}).out;
  EXPECT_NE(busy.find("migctl_gpu_instance_sm_active_ratio{gpu=\"0\",UUID="), std::string::npos) << busy;
  EXPECT_NE(busy.find("GPU_I_ID=\"" + std::to_string(gi["gi"].get<int>()) + "\",GPU_I_PROFILE_ID=\"" +
                      std::to_string(gi["profile_id"].get<int>()) + "\"} 0.5\n"),
            std::string::npos)
      << busy;
  EXPECT_EQ(busy.find("migctl_gpu_instance_sm_active_ratio{gpu=\"2\""), std::string::npos)
      << "an A100: no GPM";
  // GPU changes are counted by command and outcome (dry runs not): one create that could not fit.
  EXPECT_EQ(Migctl({"create", "-i", "0", "7g.80gb"}).exit_code, kExitUsage);
  EXPECT_EQ(Migctl({"create", "-i", "0", "7g.80gb", "--dry-run"}).exit_code, kExitUsage);
  const std::string counted = RunRaw({"--sim", state_, "exporter", "--once"}).out;
  EXPECT_NE(counted.find("migctl_gpu_change_commands_total{hostname=\"" + Hostname() +
                         "\",command=\"create\",result=\"failed\"} 1\n"),
            std::string::npos)
      << counted;
  EXPECT_NE(counted.find("command=\"create\",result=\"succeeded\"} 2\n"), std::string::npos) << counted;
  // --json: the same families as a document.
  const Json doc = MustJson({"exporter", "--once"});
  ASSERT_TRUE(doc.contains("families")) << doc;
  EXPECT_EQ(doc["families"][0]["name"], "migctl_gpu_info");
}

TEST_F(ExporterE2e, TasksSharingAWholeGpuAreCountedWhileTheyRun) {
  InitMachine("h100-80gb:1");
  auto workers = [&] {
    const std::string text = RunRaw({"--sim", state_, "exporter", "--once"}).out;
    const std::string name = "migctl_gpu_leased_workers{gpu=\"0\"";
    const size_t at = text.find(name);
    return at == std::string::npos ? -1 : std::stoi(text.substr(text.find("} ", at) + 2));
  };
  EXPECT_EQ(workers(), 0);
  Child run = StartMigctl({"run", "-i", "0", "--share", "none", "--workers", "3", "--param", "n=60,61,62",
                           "--", "sleep", "{n}"});
  EXPECT_TRUE(Until([&] { return workers() == 3; }, 15)) << workers();
  ::kill(run.pid(), SIGTERM);
  run.Wait();
  EXPECT_EQ(workers(), 0);
}

// examples/systemd/migctl-exporter.service: systemd-analyze accepts it (with this build's migctl), and its
// ExecStart line, on a free port, serves /metrics.
TEST_F(ExporterE2e, TheExampleUnitVerifiesAndItsCommandLineServes) {
  InitMigMachine("h100-80gb:1");
  const std::string example = ReadFile(fs::path(MIGCTL_SOURCE_DIR) / "examples/systemd/migctl-exporter.service");
  std::string exec;
  for (const std::string& line : Lines(example))
    if (line.starts_with("ExecStart=")) exec = line.substr(10);
  ASSERT_TRUE(exec.starts_with("/usr/local/bin/migctl exporter --listen 127.0.0.1:9400 ")) << exec;
  if (fs::exists("/usr/bin/systemd-analyze")) {
    std::string unit = example;
    const std::string from = "\nExecStart=/usr/local/bin/migctl ";
    unit.replace(unit.find(from), from.size() - 1, "\nExecStart=" + std::string(MIGCTL_BINARY));
    const fs::path path = dir_ / "migctl-exporter.service";
    std::ofstream(path) << unit;
    Outcome verify = Start("/usr/bin/systemd-analyze", {"verify", path.string()}).Wait();
    EXPECT_EQ(verify.exit_code, 0) << verify;
    EXPECT_EQ(verify.out + verify.err, "") << verify;
  }
  std::istringstream words(exec);
  Args args{"--sim", state_};
  for (std::string w; words >> w;) args.push_back(w);
  args.erase(args.begin() + 2);  // the binary
  exporter_port_ = FreePort();
  std::replace(args.begin(), args.end(), std::string("127.0.0.1:9400"), "127.0.0.1:" + std::to_string(exporter_port_));
  exporter_ = std::make_unique<Child>(Start(MIGCTL_BINARY, args));
  EXPECT_TRUE(Until([&] { return httplib::Client("127.0.0.1", exporter_port_).Get("/metrics"); }, 10));
  auto res = httplib::Client("127.0.0.1", exporter_port_).Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("migctl_gpu_info{"), std::string::npos);
}

TEST_F(ExporterE2e, TheTextfileIsWrittenWholeAndBadInputIsOneLine) {
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "3g.40gb"});
  const fs::path out = dir_ / "textfile";
  fs::create_directories(out);
  fs::permissions(out, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  Outcome o = RunRaw({"--sim", state_, "exporter", "--once", "--textfile", out.string()});
  ASSERT_EQ(o.exit_code, 0) << o;
  const std::string text = ReadFile(out / "migctl.prom");
  EXPECT_NE(text.find("migctl_gpu_profile_free{"), std::string::npos) << text;
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 1)
      << "no temporary file left";

  ExpectOneLineError(Migctl({"exporter", "--listen", "nowhere"}), kExitUsage,
                     {"--listen nowhere", "HOST:PORT"});
  ExpectOneLineError(Migctl({"exporter", "--listen", "127.0.0.1:70000"}), kExitUsage, {"HOST:PORT"});
  // Root writes the textfile every few seconds: a directory others can change is refused.
  const fs::path open_dir = dir_ / "open";
  fs::create_directories(open_dir);
  fs::permissions(open_dir, fs::perms::all);
  ExpectOneLineError(Migctl({"exporter", "--once", "--textfile", open_dir.string()}), kExitUsage,
                     {"--textfile"});
  EXPECT_FALSE(fs::exists(open_dir / "migctl.prom"));
  // A port in use: one line, not a hang.
  const int port = FreePort();
  Child first = StartMigctl({"exporter", "--listen", "127.0.0.1:" + std::to_string(port)});
  httplib::Client client("127.0.0.1", port);
  ASSERT_TRUE(Until([&] { return static_cast<bool>(client.Get("/metrics")); }, 10));
  ExpectOneLineError(Migctl({"exporter", "--listen", "127.0.0.1:" + std::to_string(port)}), kExitFailed,
                     {"cannot listen on 127.0.0.1:" + std::to_string(port), "--listen"});
  ::kill(first.pid(), SIGTERM);
  EXPECT_EQ(first.Wait().exit_code, 128 + SIGTERM);
}

}  // namespace
