#include "launch/early_stop.h"

#include <signal.h>

#include <array>

namespace migctl {
namespace {

volatile sig_atomic_t g_early_signal = 0;
constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
std::array<struct sigaction, 3> g_saved{};

void Record(int signal) {
  if (g_early_signal == 0) g_early_signal = signal;
}

}  // namespace

EarlyStop::EarlyStop() {
  g_early_signal = 0;
  struct sigaction action {};
  action.sa_handler = Record;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &action, &g_saved[i]);
}

EarlyStop::~EarlyStop() {
  for (size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &g_saved[i], nullptr);
}

int EarlyStop::signal() const { return g_early_signal; }

}  // namespace migctl
